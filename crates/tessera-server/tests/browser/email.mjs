// Email links in a real browser (issue 20, item 2): headless Chromium
// follows the links Tessera mailed to the test's SMTP server (aiosmtpd,
// which writes each message to MAIL_DIR as N.eml). Prints one JSON object
// for tests/email_browser.rs to check.
//
//   node email.mjs ISSUER USERNAME PASSWORD NEW_PASSWORD NEW_EMAIL MAIL_DIR ARTIFACTS
//
// Two browsers: "laptop" is signed in to /account; "phone"
// 1. follows "Forgot password?" from the sign-in page, asks for a link,
//    opens the mailed reset link and sets a new password: the laptop is
//    signed out, and signs in with the new password;
// 2. the laptop asks for a new email address (pending), the phone opens
//    the mailed verification link and confirms: the account page shows
//    the new address, verified.
// Screenshots go to ARTIFACTS.
import { readFileSync, existsSync } from 'node:fs';
import { chromium } from 'playwright-core';

const [issuer, username, password, newPassword, newEmail, mailDir, artifacts] = process.argv.slice(2);
const out = {};

// The link to `path` in message N (quoted-printable undone), waiting for it.
async function mailedLink(n, path) {
  const file = `${mailDir}/${n}.eml`;
  for (let i = 0; i < 300 && !existsSync(file); i++) await new Promise((r) => setTimeout(r, 50));
  const text = readFileSync(file, 'utf8').replaceAll('=\r\n', '').replaceAll('=3D', '=');
  const at = text.indexOf(`${issuer}${path}?token=`);
  if (at < 0) throw new Error(`no ${path} link in ${text}`);
  return text.slice(at).match(/^[^\s"<]+/)[0];
}

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  args: ['--no-sandbox'],
});
try {
  const laptop = await (await browser.newContext()).newPage();
  const phone = await (await browser.newContext()).newPage();
  const shot = (page, name) => page.screenshot({ path: `${artifacts}/${name}.png`, fullPage: true });
  const logIn = async (page, secret) => {
    await page.fill('#username', username);
    await page.fill('#password', secret);
    await page.click('form[action="/authorize/login"] button[type=submit]');
  };

  await laptop.goto(`${issuer}/account`);
  await logIn(laptop, password);
  await laptop.waitForSelector('text=Your account');

  // 1. Forgot password, from the sign-in page.
  await phone.goto(`${issuer}/account`);
  await phone.click('text=Forgot password?');
  out.forgot_autocomplete = await phone.getAttribute('#username', 'autocomplete');
  await shot(phone, 'forgot-password');
  await phone.fill('#username', username);
  await phone.click('form[action="/password/forgot"] button[type=submit]');
  await phone.waitForSelector('text=Check your email');
  out.forgot_answer = (await phone.textContent('p[role=status]')).trim();
  await phone.goto(await mailedLink(1, '/password/reset'));
  out.reset_autocomplete = [
    await phone.getAttribute('#new', 'autocomplete'),
    await phone.getAttribute('#again', 'autocomplete'),
  ];
  await shot(phone, 'reset-password');
  await phone.fill('#new', newPassword);
  await phone.fill('#again', newPassword);
  await phone.click('form[action="/password/reset"] button[type=submit]');
  await phone.waitForSelector('text=Your password was changed');
  await laptop.goto(`${issuer}/account`);
  out.laptop_signed_out = laptop.url().includes('/authorize') && (await laptop.$('#password')) !== null;
  await logIn(laptop, newPassword);
  await laptop.waitForSelector('text=Your account');
  out.signed_in_with_new_password = laptop.url().endsWith('/account');

  // 2. A new email address, confirmed through the mailed link.
  await laptop.fill('#new-email', newEmail);
  await laptop.click('form[action="/account/email"] button[type=submit]');
  await laptop.waitForSelector('#pending-email');
  out.pending = await laptop.textContent('#pending-email');
  out.email_while_pending = await laptop.textContent('#email');
  await phone.goto(await mailedLink(2, '/email/verify'));
  out.confirm_address = await phone.textContent('#address');
  await shot(phone, 'verify-email');
  await phone.click('form[action="/email/verify"] button[type=submit]');
  await phone.waitForSelector('text=Your email address is confirmed');
  await laptop.goto(`${issuer}/account`);
  out.email_after = (await laptop.textContent('#email')) + ' ' + ((await laptop.content()).includes('(verified)') ? 'verified' : 'unverified');
  out.pending_after = (await laptop.$('#pending-email')) !== null;
} finally {
  await browser.close();
}
console.log(JSON.stringify(out));
