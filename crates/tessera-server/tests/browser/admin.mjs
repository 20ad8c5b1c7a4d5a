// The admin console in a real browser (issue 20, item 4): headless
// Chromium (Debian's, driven by playwright-core). Prints one JSON object
// for tests/admin_console_browser.rs to check.
//
//   node admin.mjs ISSUER USERNAME PASSWORD CODES VICTIM ARTIFACTS
//
// CODES: a JSON object from TOTP time step (30 s) to the administrator's
// code, computed by the Rust test from their secret. VICTIM: the username
// of the user to disable.
//
// The administrator opens /admin and signs in (password, then the code),
// creates a client, finds VICTIM, disables them, and reads the audit log
// when the console has one (else the user's page saying "disabled"). The
// same pages at a phone's width must not scroll sideways (tables scroll
// inside their own region). Screenshots go to ARTIFACTS.
import { chromium } from 'playwright-core';

const [issuer, username, password, codesJson, victim, artifacts] = process.argv.slice(2);
const codes = JSON.parse(codesJson);
const out = {};

const codeNow = () => {
  const step = Math.floor(Date.now() / 30000);
  const code = codes[String(step)];
  if (code === undefined) throw new Error(`no code for step ${step}`);
  return code;
};

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  args: ['--no-sandbox'],
});
try {
  const desktop = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await desktop.newPage();
  const shot = (p, name) => p.screenshot({ path: `${artifacts}/${name}.png`, fullPage: true });
  // Whether the page is no wider than its window (nothing scrolls
  // sideways but the tables' own regions).
  const fits = (p) => p.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth);

  // Sign in: password, then the code.
  await page.goto(`${issuer}/admin`);
  await page.fill('#username', username);
  await page.fill('#password', password);
  await page.click('form[action="/authorize/login"] button[type=submit]');
  await page.waitForSelector('#code');
  await page.fill('#code', codeNow());
  await page.click('form[action="/authorize/otp"] button[type=submit]');
  await page.waitForSelector('nav.console');
  out.signed_in_as = (await page.textContent('nav.console .who')).trim();
  out.scripts = await page.locator('script').count();

  // Create a client.
  await page.click('nav.console a[href="/admin/clients"]');
  await page.click('a[href="/admin/clients/new"]');
  await page.fill('#name', 'Photos');
  await page.check('input[name=grant_authorization_code]');
  await page.check('input[name=grant_refresh_token]');
  await page.fill('#redirect_uris', 'https://photos.example/cb');
  await page.fill('#scope', 'openid profile');
  await page.click('form[action="/admin/clients"] button[type=submit]');
  await page.waitForSelector('#client-id');
  out.client_id = (await page.textContent('#client-id')).trim();
  out.secret_shown = ((await page.textContent('#client-secret')) || '').trim().length >= 32;
  await page.goto(`${issuer}/admin/clients`);
  out.client_listed = (await page.locator(`a:text-is("${out.client_id}")`).count()) === 1;
  await shot(page, 'admin-clients');

  // Find the user and disable them.
  await page.click('nav.console a[href="/admin/users"]');
  await page.fill('#q', victim);
  await page.click('form.search button');
  await page.click(`td a:text-is("${victim}")`);
  out.user_page = page.url().replace(issuer, '').replace(/\/u-[^/?]*$/, '/ID');
  await page.click('form[action$="/disable"] button');
  await page.waitForSelector('text=The user was disabled');
  out.status_after = (await page.textContent('#status')).trim();
  await shot(page, 'admin-user');
  const userPage = page.url();

  // The audit log, when the console has one.
  const audit = await page.$('nav.console a[href="/admin/audit"]');
  if (audit) {
    await audit.click();
    await page.waitForSelector('h1');
    const rows = await page.locator('table tbody tr').allTextContents();
    // The newest event: the administrator disabled the user.
    out.audit_entry = rows.some(
      (r) => r.includes('user_changed') && r.includes(`u-${victim}`) && r.includes(`admin:u-${username}`) && r.includes('"disabled":true'),
    );
    await shot(page, 'admin-audit');
  }

  // The same at a phone's width, signed in with the same cookies.
  const phone = await browser.newContext({
    viewport: { width: 390, height: 844 },
    deviceScaleFactor: 2,
    isMobile: true,
    hasTouch: true,
    storageState: await desktop.storageState(),
  });
  const small = await phone.newPage();
  await small.goto(userPage);
  out.phone_user_fits = await fits(small);
  await small.goto(`${issuer}/admin/clients`);
  out.phone_clients_fit = await fits(small);
  await shot(small, 'admin-phone');
} finally {
  await browser.close();
}
console.log(JSON.stringify(out));
