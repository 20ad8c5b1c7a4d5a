// npm openid-client pushing an authorization request (RFC 9126) to a running
// Tessera: buildAuthorizationUrlWithPAR authenticates at /par with the
// client's secret and returns the URL the browser is sent to.
//
//   node par.mjs ISSUER CLIENT_ID CLIENT_SECRET REDIRECT_URI CODE_CHALLENGE
// Prints {"url": ...} for tests/par.rs, which signs in through it.
import * as client from 'openid-client';

const [issuer, clientId, secret, redirectUri, challenge] = process.argv.slice(2);
const config = await client.discovery(new URL(issuer), clientId, secret, undefined, {
  execute: [client.allowInsecureRequests],
});
const url = await client.buildAuthorizationUrlWithPAR(config, {
  redirect_uri: redirectUri,
  scope: 'openid profile',
  state: 'st-1',
  nonce: 'n-1',
  code_challenge: challenge,
  code_challenge_method: 'S256',
});
process.stdout.write(JSON.stringify({ url: url.href }));
