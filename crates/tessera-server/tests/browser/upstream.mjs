// Signing in through upstream providers in a real browser: headless
// Chromium signs in to an app (npm openid-client as the relying party) at
// the Tessera under test, choosing "Continue with Corp SSO" (a second
// Tessera, a real OpenID provider, at http://localhost:PORT) and then
// "Continue with GitHub" (a fake GitHub) in fresh browsers. Prints one JSON
// object for tests/browser_upstream.rs to check.
//
//   node upstream.mjs ISSUER USERNAME PASSWORD APP_PORT SCREENSHOT
// The client "photos" (secret "pw", redirect http://127.0.0.1:APP_PORT/cb)
// is registered at ISSUER; USERNAME/PASSWORD sign in at the Corp provider.
import { createServer } from 'node:http';
import * as client from 'openid-client';
import { chromium } from 'playwright-core';

const [issuer, username, password, appPort, screenshot] = process.argv.slice(2);
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

const photos = await client.discovery(new URL(issuer), 'photos', 'pw', undefined, {
  execute: [client.allowInsecureRequests],
});
client.enableNonRepudiationChecks(photos);

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  args: ['--no-sandbox'],
});
const out = {};

// One sign-in in a fresh browser, through the provider whose button has
// value `provider`; `atProvider` runs on the provider's pages, if any.
async function signIn(provider, atProvider, shot) {
  const context = await browser.newContext();
  const page = await context.newPage();
  try {
    const verifier = client.randomPKCECodeVerifier();
    const state = client.randomState();
    const nonce = client.randomNonce();
    const url = client.buildAuthorizationUrl(photos, {
      redirect_uri: CALLBACK,
      scope: 'openid profile email',
      code_challenge: await client.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
      state,
      nonce,
    });
    await page.goto(url.href);
    if (shot) await page.screenshot({ path: shot, fullPage: true });
    await page.click(`button[value=${provider}]`);
    if (atProvider) await atProvider(page);
    // Back at the Tessera under test: on a first sign-in its link page
    // (this person is new here: "create an account"), then its consent
    // page for Photos, unless this user approved Photos before (then
    // straight to the app).
    let consent = false;
    let linkPage = false;
    for (let i = 0; i < 400 && landed === null && !consent; i++) {
      if (!linkPage && (await page.locator('button[value=new]').count()) > 0) {
        linkPage = true;
        await page.click('button[value=new]');
      }
      consent = (await page.locator('text=Allow Photos?').count()) > 0;
      if (!consent) await page.waitForTimeout(25);
    }
    if (consent) {
      await page.click('button[value=allow]');
      for (let i = 0; i < 200 && landed === null; i++) await page.waitForTimeout(25);
    }
    if (landed === null) {
      const html = (await page.content()).replace(/<style>.*<\/style>/s, '');
      throw new Error(`never came back to the app; at ${page.url()}: ${html}`);
    }
    const callback = landed;
    landed = null;
    const tokens = await client.authorizationCodeGrant(photos, new URL(callback), {
      pkceCodeVerifier: verifier,
      expectedState: state,
      expectedNonce: nonce,
    });
    const claims = tokens.claims();
    const userinfo = await client.fetchUserInfo(photos, tokens.access_token, claims.sub);
    return { sub: claims.sub, amr: claims.amr, email: userinfo.email, consent, link_page: linkPage };
  } finally {
    await context.close();
  }
}

try {
  // 1. The Corp provider (another Tessera): its own login and consent pages.
  out.corp = await signIn(
    'corp',
    async (page) => {
      await page.waitForSelector('#username');
      out.corp_login_url = page.url();
      await page.fill('#username', username);
      await page.fill('#password', password);
      await page.click('button[type=submit]');
      await page.waitForSelector('text=Allow downstream app?');
      await page.click('button[value=allow]');
    },
    screenshot,
  );
  // 2. GitHub (the fake approves at once), twice: the same person.
  out.github = await signIn('gh', null, null);
  out.github_again = await signIn('gh', null, null);
} finally {
  await browser.close();
  app.close();
}
console.log(JSON.stringify(out));
