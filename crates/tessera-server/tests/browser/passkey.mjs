// Passkeys in a real browser (issue 19): headless Chromium with the
// DevTools WebAuthn domain's virtual authenticator (CTAP2, internal
// transport, resident keys, user verification), npm openid-client as
// the app. Prints one JSON object for tests/passkeys_browser.rs to check.
//
//   node passkey.mjs ISSUER USERNAME PASSWORD ARTIFACTS APP_PORT
//
// 1. /account: sign in, add an authenticator app (the code computed here
//    from the key the page shows), see the recovery codes, add a passkey.
// 2. Passwordless through conditional UI (the username field's autofill),
//    for the third-party client "photos": ID token acr phr, amr hwk+mfa.
// 3. The passkey as a second factor after the password.
// 4. A failed user verification: no sign-in.
// Screenshots of the pages go to ARTIFACTS.
import { createHmac } from 'node:crypto';
import { createServer } from 'node:http';
import * as client from 'openid-client';
import { chromium } from 'playwright-core';

const [issuer, username, password, artifacts, appPort] = process.argv.slice(2);
const APP = `http://127.0.0.1:${appPort}`;
const CALLBACK = `${APP}/cb`;
let landed = null;
const app = createServer((req, res) => {
  if (req.url.startsWith('/cb')) {
    landed = APP + req.url;
    res.writeHead(200, { 'content-type': 'text/html' });
    res.end('<p>the app</p>');
  } else {
    res.writeHead(404);
    res.end();
  }
});
await new Promise((resolve) => app.listen(Number(appPort), '127.0.0.1', resolve));
const out = {};

// RFC 6238 with SHA-1, 6 digits, 30 s (the test's own TOTP, from the key
// the enrollment page shows).
function totp(base32, step) {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let bits = 0, value = 0;
  const key = [];
  for (const c of base32) {
    value = (value << 5) | alphabet.indexOf(c);
    bits += 5;
    if (bits >= 8) { bits -= 8; key.push((value >>> bits) & 0xff); }
  }
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(step));
  const mac = createHmac('sha1', Buffer.from(key)).update(counter).digest();
  const offset = mac[19] & 0xf;
  const code = (mac.readUInt32BE(offset) & 0x7fffffff) % 1000000;
  return String(code).padStart(6, '0');
}

const photos = await client.discovery(new URL(issuer), 'photos', 'pw', undefined, {
  execute: [client.allowInsecureRequests],
});
client.enableNonRepudiationChecks(photos);

async function authorizationUrl(extra = {}) {
  const verifier = client.randomPKCECodeVerifier();
  const state = client.randomState();
  const nonce = client.randomNonce();
  const url = client.buildAuthorizationUrl(photos, {
    redirect_uri: CALLBACK,
    scope: 'openid profile',
    code_challenge: await client.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
    state,
    nonce,
    ...extra,
  });
  return { url, verifier, state, nonce };
}

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  args: ['--no-sandbox'],
});
try {
  const context = await browser.newContext();
  const page = await context.newPage();
  const cdp = await context.newCDPSession(page);
  await cdp.send('WebAuthn.enable');
  const { authenticatorId } = await cdp.send('WebAuthn.addVirtualAuthenticator', {
    options: {
      protocol: 'ctap2',
      transport: 'internal',
      hasResidentKey: true,
      hasUserVerification: true,
      isUserVerified: true,
      automaticPresenceSimulation: true,
    },
  });
  const shot = (name) => page.screenshot({ path: `${artifacts}/${name}.png`, fullPage: true });
  const waitForApp = async () => {
    for (let i = 0; i < 200 && landed === null; i++) await page.waitForTimeout(25);
    const url = landed;
    landed = null;
    if (url === null) throw new Error('never came back to the app; page: ' + page.url() + '\n' + (await page.content()));
    return url;
  };
  const idToken = async (flow, callback) => {
    const tokens = await client.authorizationCodeGrant(photos, new URL(callback), {
      pkceCodeVerifier: flow.verifier,
      expectedState: flow.state,
      expectedNonce: flow.nonce,
    });
    return tokens.claims();
  };

  // 1. The account page.
  await page.goto(`${issuer}/account`);
  out.login_has_webauthn_autocomplete = (await page.getAttribute('#username', 'autocomplete')) === 'username webauthn';
  await shot('sign-in-page');
  await page.fill('#username', username);
  await page.fill('#password', password);
  await page.click('form[action="/authorize/login"] button[type=submit]');
  await page.waitForSelector('text=Your account');
  await page.click('a[href="/account/totp"]');
  await page.waitForSelector('#otpauth-uri');
  out.otpauth_uri = await page.textContent('#otpauth-uri');
  await shot('totp-enrollment');
  const key = (await page.textContent('#secret')).trim();
  const step = Math.floor(Date.now() / 1000 / 30);
  await page.fill('#code', totp(key, step));
  await page.click('form[action="/account/totp"] button[type=submit]');
  await page.waitForSelector('#recovery-codes');
  out.recovery_codes = (await page.textContent('#recovery-codes')).trim().split('\n').length;
  await shot('recovery-codes');
  await page.click('text=Done');
  await page.click('a[href="/account/passkey"]');
  await page.waitForSelector('#create-passkey', { state: 'visible' });
  await shot('add-passkey');
  await page.fill('#name', 'Test laptop');
  await page.click('#create-passkey');
  await page.waitForSelector('text=Your passkey was added');
  out.passkey_listed = (await page.content()).includes('<strong>Test laptop</strong>');
  await shot('account-passkeys');
  const { credentials } = await cdp.send('WebAuthn.getCredentials', { authenticatorId });
  out.resident_credentials = credentials.filter((c) => c.isResidentCredential).length;

  // 2. Passwordless, through conditional UI: the page asks with
  // mediation "conditional" as it loads; the virtual authenticator (user
  // present and verified) answers that request with the one discoverable
  // credential, as a person picking it from the username field's autofill
  // would. No button is clicked.
  await context.clearCookies();
  const passwordless = await authorizationUrl();
  await page.goto(passwordless.url.href);
  let viaConditional = true;
  try {
    await page.waitForSelector('text=Allow Photos?', { timeout: 8000 });
  } catch {
    viaConditional = false;
    await page.click('#use-passkey');
  }
  out.conditional_ui = viaConditional;
  await page.waitForSelector('text=Allow Photos?');
  await page.click('button[value=allow]');
  const claims = await idToken(passwordless, await waitForApp());
  out.passwordless = { sub: claims.sub, acr: claims.acr, amr: claims.amr };

  // 3. The passkey as the second factor after the password. (The
  // authenticator stops simulating presence while the password page is
  // open, so its conditional request waits and the password is used.)
  await cdp.send('WebAuthn.setAutomaticPresenceSimulation', { authenticatorId, enabled: false });
  await context.clearCookies();
  const second = await authorizationUrl();
  await page.goto(second.url.href);
  await page.waitForSelector('#use-passkey', { state: 'visible' });
  await page.fill('#username', username);
  await page.fill('#password', password);
  await page.click('form[action="/authorize/login"] button[type=submit]');
  await page.waitForSelector('#code');
  await page.waitForSelector('#use-passkey', { state: 'visible' });
  out.second_factor_page_has_code = (await page.getAttribute('#code', 'autocomplete')) === 'one-time-code';
  await shot('second-factor-page');
  await cdp.send('WebAuthn.setAutomaticPresenceSimulation', { authenticatorId, enabled: true });
  await page.click('#use-passkey');
  const claims2 = await idToken(second, await waitForApp());
  out.second_factor = { sub: claims2.sub, acr: claims2.acr, amr: claims2.amr };

  // 4. User verification fails: no sign-in.
  await cdp.send('WebAuthn.setUserVerified', { authenticatorId, isUserVerified: false });
  await context.clearCookies();
  const failing = await authorizationUrl();
  await page.goto(failing.url.href);
  await page.waitForSelector('#use-passkey', { state: 'visible' });
  await page.click('#use-passkey');
  await page.waitForTimeout(3000);
  out.uv_failed_still_on_sign_in = landed === null && page.url().startsWith(issuer) &&
    (await page.$('#password')) !== null;
  out.uv_failed_message = ((await page.textContent('[data-passkey-status], .error')) || '').trim();
} finally {
  await browser.close();
  app.close();
}
console.log(JSON.stringify(out));
