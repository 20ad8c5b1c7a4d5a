// Step-up with a real relying party (issue 19, item 4): npm openid-client
// asks Tessera for two factors with acr_values=urn:tessera:acr:2fa,
// headless Chromium (Debian's, driven by playwright-core) signs in with a
// password and a one-time code, and the app reads acr and amr from the ID
// token openid-client validated (signature included). Then, once the
// second factor is older than second_factor_max_age (the test server's:
// 2 s), the same request is a step-up: the page offers the code only (no
// password field), and the new ID token says two factors again, from a
// new session. Prints one JSON object for tests/step_up.rs to check.
//
//   node stepup.mjs ISSUER USERNAME PASSWORD CODES APP_PORT
// CODES: a JSON object from TOTP time step (30 s) to its code, computed by
// the Rust test from the user's secret. Client "photos" (secret "pw",
// redirect http://127.0.0.1:APP_PORT/cb).
import { createServer } from 'node:http';
import * as client from 'openid-client';
import { chromium } from 'playwright-core';

const [issuer, username, password, codesJson, appPort] = process.argv.slice(2);
const codes = JSON.parse(codesJson);
const APP = `http://127.0.0.1:${appPort}`;
const CALLBACK = `${APP}/cb`;
const TWO_FACTORS = 'urn:tessera:acr:2fa';
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

// The code of the current step, or of the one after it (a step whose
// code was used is refused: RFC 6238 §5.2).
const codeFor = (ahead) => {
  const step = Math.floor(Date.now() / 30000) + ahead;
  const code = codes[String(step)];
  if (code === undefined) throw new Error(`no code for step ${step}`);
  return code;
};

const config = await client.discovery(new URL(issuer), 'photos', 'pw', undefined, {
  execute: [client.allowInsecureRequests],
});
client.enableNonRepudiationChecks(config);
out.acr_values_supported = config.serverMetadata().acr_values_supported;

async function authorizationUrl() {
  const verifier = client.randomPKCECodeVerifier();
  const state = client.randomState();
  const nonce = client.randomNonce();
  const url = client.buildAuthorizationUrl(config, {
    redirect_uri: CALLBACK,
    scope: 'openid profile',
    code_challenge: await client.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
    state,
    nonce,
    acr_values: TWO_FACTORS,
  });
  return { url, verifier, state, nonce };
}

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  args: ['--no-sandbox'],
});
try {
  const page = await (await browser.newContext()).newPage();
  const waitForApp = async () => {
    for (let i = 0; i < 200 && landed === null; i++) await page.waitForTimeout(25);
    const url = landed;
    landed = null;
    if (url === null) throw new Error('never came back to the app; page: ' + (await page.content()));
    return url;
  };
  const tokensFrom = async (request, callback) => {
    const tokens = await client.authorizationCodeGrant(config, new URL(callback), {
      pkceCodeVerifier: request.verifier,
      expectedState: request.state,
      expectedNonce: request.nonce,
    });
    return tokens.claims();
  };
  const sendCode = async (code) => {
    await page.fill('#code', code);
    await page.click('form[action="/authorize/otp"] button[type=submit]');
  };

  // 1. A new sign-in asking for two factors: password, then the code,
  //    then consent.
  const first = await authorizationUrl();
  await page.goto(first.url.href);
  await page.fill('#username', username);
  await page.fill('#password', password);
  await page.click('button[type=submit]');
  await page.waitForSelector('#code');
  await sendCode(codeFor(0));
  await page.waitForSelector('text=Allow Photos?');
  await page.click('button[value=allow]');
  const claims = await tokensFrom(first, await waitForApp());
  out.first = { acr: claims.acr, amr: claims.amr, sub: claims.sub, sid: claims.sid };

  // 2. Past second_factor_max_age, the same request: a step-up. The page
  //    offers the code only; the session's password counts.
  await page.waitForTimeout(3000);
  const second = await authorizationUrl();
  await page.goto(second.url.href);
  await page.waitForSelector('#code');
  out.step_up_password_fields = await page.locator('input[type=password]').count();
  out.step_up_username_fields = await page.locator('#username').count();
  await sendCode(codeFor(1));
  const stepped = await tokensFrom(second, await waitForApp());
  out.stepped = { acr: stepped.acr, amr: stepped.amr, sub: stepped.sub, sid: stepped.sid };
} finally {
  await browser.close();
  app.close();
}
console.log(JSON.stringify(out));
