// A real browser and a real relying party against a running Tessera:
// headless Chromium (Debian's, driven by playwright-core) and npm
// openid-client. Signs in to a third-party client (login + consent), then
// to a first-party one with no page at all (SSO), validates the ID tokens,
// calls UserInfo, refreshes, and logs out (RP-initiated). Prints one JSON
// object for tests/browser.rs to check.
//
//   node signin.mjs ISSUER USERNAME PASSWORD SCREENSHOT APP_PORT
// Clients (secret "pw", redirect http://127.0.0.1:APP_PORT/cb, post-logout
// http://127.0.0.1:APP_PORT/bye): "photos" (third party) and "portal"
// (first party). The "app" is a small HTTP server here on APP_PORT.
import { createServer } from 'node:http';
import * as client from 'openid-client';
import { chromium } from 'playwright-core';

const [issuer, username, password, screenshot, appPort] = process.argv.slice(2);
const APP = `http://127.0.0.1:${appPort}`;
const CALLBACK = `${APP}/cb`;
let landed = null;
const app = createServer((req, res) => {
  // Only the redirect targets count: the browser also asks for
  // /favicon.ico, at a moment of its choosing.
  if (req.url.startsWith('/cb') || req.url.startsWith('/bye')) {
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

async function relyingParty(id) {
  const config = await client.discovery(new URL(issuer), id, 'pw', undefined, {
    execute: [client.allowInsecureRequests],
  });
  // Check ID token signatures against the JWKS too, not only the claims.
  client.enableNonRepudiationChecks(config);
  return config;
}

async function authorizationUrl(config, extra = {}) {
  const verifier = client.randomPKCECodeVerifier();
  const state = client.randomState();
  const nonce = client.randomNonce();
  const url = client.buildAuthorizationUrl(config, {
    redirect_uri: CALLBACK,
    scope: 'openid profile email',
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
  const waitForApp = async () => {
    for (let i = 0; i < 200 && landed === null; i++) await page.waitForTimeout(25);
    const url = landed;
    landed = null;
    if (url === null) throw new Error('never came back to the app; page: ' + (await page.content()));
    return url;
  };

  // 1. Third-party client: login page, consent page, code.
  const photos = await relyingParty('photos');
  // A third party gets a refresh token only with offline_access (OpenID
  // Connect Core §11), which the consent page names.
  const first = await authorizationUrl(photos, { scope: 'openid profile email offline_access' });
  await page.goto(first.url.href);
  out.login_title = await page.title();
  await page.screenshot({ path: screenshot, fullPage: true });
  await page.fill('#username', username);
  await page.fill('#password', password);
  await page.click('button[type=submit]');
  await page.waitForSelector('text=Allow Photos?');
  out.consent_shown = true;
  await page.click('button[value=allow]');
  const callback = await waitForApp();
  const tokens = await client.authorizationCodeGrant(photos, new URL(callback), {
    pkceCodeVerifier: first.verifier,
    expectedState: first.state,
    expectedNonce: first.nonce,
  });
  const claims = tokens.claims();
  out.sub = claims.sub;
  out.aud = claims.aud;
  out.has_refresh = typeof tokens.refresh_token === 'string';
  out.userinfo = await client.fetchUserInfo(photos, tokens.access_token, claims.sub);
  const refreshed = await client.refreshTokenGrant(photos, tokens.refresh_token);
  out.refreshed = typeof refreshed.access_token === 'string';

  // 2. First-party client: single sign-on, no page shown.
  const portal = await relyingParty('portal');
  const second = await authorizationUrl(portal);
  await page.goto(second.url.href);
  const sso = await waitForApp();
  const portalTokens = await client.authorizationCodeGrant(portal, new URL(sso), {
    pkceCodeVerifier: second.verifier,
    expectedState: second.state,
    expectedNonce: second.nonce,
  });
  out.sso_sub = portalTokens.claims().sub;
  out.same_session = portalTokens.claims().sid === claims.sid;

  // 3. RP-initiated logout, back to the app with state.
  const end = client.buildEndSessionUrl(portal, {
    id_token_hint: portalTokens.id_token,
    post_logout_redirect_uri: `${APP}/bye`,
    state: 'bye-1',
  });
  await page.goto(end.href);
  out.after_logout = await waitForApp();
  // Signed out: prompt=none now answers login_required.
  const third = await authorizationUrl(portal, { prompt: 'none' });
  await page.goto(third.url.href);
  out.prompt_none_after_logout = new URL(await waitForApp()).searchParams.get('error');
} finally {
  await browser.close();
  app.close();
}
console.log(JSON.stringify(out));
