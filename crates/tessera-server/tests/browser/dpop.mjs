// npm openid-client using DPoP (RFC 9449) against a running Tessera: a
// DPoP-bound code flow through PAR, a refresh, and UserInfo with DPoP, all
// with one key pair openid-client makes and uses itself (getDPoPHandle).
//
//   node dpop.mjs ISSUER CLIENT_ID CLIENT_SECRET REDIRECT_URI
// Prints {"url": ...} (a line) for tests/dpop.rs, which signs in through it
// and writes the redirect back to this script's stdin (a line); then prints
// one JSON object with the tokens, the key's thumbprint and the UserInfo.
import { createInterface } from 'node:readline';
import * as client from 'openid-client';

const [issuer, clientId, secret, redirectUri] = process.argv.slice(2);
const config = await client.discovery(new URL(issuer), clientId, secret, undefined, {
  execute: [client.allowInsecureRequests],
});
const keyPair = await client.randomDPoPKeyPair('ES256');
const DPoP = client.getDPoPHandle(config, keyPair);
const verifier = client.randomPKCECodeVerifier();
const url = await client.buildAuthorizationUrlWithPAR(
  config,
  {
    redirect_uri: redirectUri,
    scope: 'openid profile offline_access',
    state: 'st-1',
    code_challenge: await client.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
  },
  { DPoP },
);
process.stdout.write(JSON.stringify({ url: url.href }) + '\n');

const lines = createInterface({ input: process.stdin });
const callback = await new Promise((resolve) => lines.once('line', resolve));
lines.close();

const tokens = await client.authorizationCodeGrant(
  config,
  new URL(callback),
  { pkceCodeVerifier: verifier, expectedState: 'st-1' },
  undefined,
  { DPoP },
);
const refreshed = await client.refreshTokenGrant(config, tokens.refresh_token, undefined, { DPoP });
const userinfo = await client.fetchUserInfo(config, refreshed.access_token, tokens.claims().sub, { DPoP });
const publicJwk = await crypto.subtle.exportKey('jwk', keyPair.publicKey);
const canonical = JSON.stringify({ crv: publicJwk.crv, kty: publicJwk.kty, x: publicJwk.x, y: publicJwk.y });
const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(canonical)));
process.stdout.write(
  JSON.stringify({
    jkt: Buffer.from(digest).toString('base64url'),
    token_type: tokens.token_type,
    access_token: tokens.access_token,
    refreshed_token_type: refreshed.token_type,
    refreshed_access_token: refreshed.access_token,
    userinfo,
  }),
);
