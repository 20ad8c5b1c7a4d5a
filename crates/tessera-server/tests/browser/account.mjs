// The account page in a real browser (issue 20, item 1): headless
// Chromium, npm openid-client as the app "photos". Prints one JSON object
// for tests/account_browser.rs to check.
//
//   node account.mjs ISSUER USERNAME PASSWORD NEW_PASSWORD ARTIFACTS APP_PORT
//
// Two browsers: "phone" signs in to Photos (offline_access, so it holds
// a refresh token); "laptop" opens `/`, follows "Your account" and
// 1. ends the phone's session: the phone's next /account is a sign-in,
//    and its refresh token dies;
// 2. revokes Photos: gone from the list, its refresh token dies;
// 3. changes the password with the current one: the phone's new refresh
//    token dies, the laptop stays signed in.
// Screenshots of the pages go to ARTIFACTS.
import { createServer } from 'node:http';
import * as client from 'openid-client';
import { chromium } from 'playwright-core';

const [issuer, username, password, newPassword, artifacts, appPort] = process.argv.slice(2);
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

const photos = await client.discovery(new URL(issuer), 'photos', 'pw', undefined, {
  execute: [client.allowInsecureRequests],
});

// Whether `token` still refreshes: its successor, or null on invalid_grant.
async function refresh(token) {
  try {
    return (await client.refreshTokenGrant(photos, token)).refresh_token;
  } catch (e) {
    if (e.error === 'invalid_grant') return null;
    throw e;
  }
}

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  args: ['--no-sandbox'],
});
try {
  const phone = await (await browser.newContext()).newPage();
  const laptop = await (await browser.newContext()).newPage();
  const shot = (name) => laptop.screenshot({ path: `${artifacts}/${name}.png`, fullPage: true });
  const logIn = async (page, secret) => {
    await page.fill('#username', username);
    await page.fill('#password', secret);
    await page.click('form[action="/authorize/login"] button[type=submit]');
  };

  // The phone signs in to Photos (logging in if it has no session, and
  // allowing it if asked); the refresh token.
  const photosToken = async (secret) => {
    const verifier = client.randomPKCECodeVerifier();
    const state = client.randomState();
    const url = client.buildAuthorizationUrl(photos, {
      redirect_uri: CALLBACK,
      scope: 'openid profile offline_access',
      prompt: 'consent',
      code_challenge: await client.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
      state,
    });
    landed = null;
    await phone.goto(url.href);
    if (await phone.$('#password')) await logIn(phone, secret);
    for (let i = 0; i < 200 && landed === null; i++) {
      if (await phone.$('button[value=allow]')) await phone.click('button[value=allow]');
      else await phone.waitForTimeout(25);
    }
    if (landed === null) throw new Error('never came back to Photos: ' + (await phone.content()));
    const tokens = await client.authorizationCodeGrant(photos, new URL(landed), {
      pkceCodeVerifier: verifier,
      expectedState: state,
    });
    return tokens.refresh_token;
  };

  let token = await refresh(await photosToken(password));
  out.phone_refreshes = token !== null;

  // `/`, then "Your account".
  await laptop.goto(`${issuer}/`);
  out.home_links_discovery = (await laptop.$('a[href="/.well-known/openid-configuration"]')) !== null;
  await shot('home');
  await laptop.click('text=Your account');
  await logIn(laptop, password);
  await laptop.waitForSelector('text=Your account');
  out.sessions_listed = await laptop.locator('ul.sessions > li').count();
  out.photos_listed = (await laptop.locator('ul.apps').textContent()).includes('Photos');
  await shot('account-page');

  // 1. End the phone's session.
  await laptop.click('form[action="/account/sessions/end"] button');
  await laptop.waitForSelector('text=That session was signed out.');
  await shot('account-session-ended');
  await phone.goto(`${issuer}/account`);
  out.phone_asked_to_sign_in = (await phone.$('#password')) !== null && phone.url().includes('/authorize');
  out.phone_token_after_session_end = await refresh(token);

  // 2. Revoke Photos.
  token = await photosToken(password);
  await laptop.goto(`${issuer}/account`);
  await laptop.click('form[action="/account/apps/revoke"] button');
  await laptop.waitForSelector("text=The app's access was revoked.");
  out.photos_listed_after_revoke = (await laptop.content()).includes('<strong>Photos</strong>');
  await shot('account-app-revoked');
  out.phone_token_after_revoke = await refresh(token);

  // 3. Change the password with the current one.
  token = await photosToken(password);
  await laptop.click('a[href="/account/password"]');
  out.current_autocomplete = await laptop.getAttribute('#current', 'autocomplete');
  out.new_autocomplete = await laptop.getAttribute('#new', 'autocomplete');
  await laptop.fill('#current', password);
  await laptop.fill('#new', newPassword);
  await laptop.fill('#again', newPassword);
  await shot('account-password');
  await laptop.click('form[action="/account/password"] button[type=submit]');
  await laptop.waitForSelector('text=Your password was changed.');
  await shot('account-password-changed');
  out.phone_token_after_password_change = await refresh(token);
  await laptop.goto(`${issuer}/account`);
  out.laptop_still_signed_in = (await laptop.$('text=Your account')) !== null && laptop.url().endsWith('/account');
} finally {
  await browser.close();
  app.close();
}
console.log(JSON.stringify(out));
