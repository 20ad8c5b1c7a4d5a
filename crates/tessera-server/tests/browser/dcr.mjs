// npm openid-client registering itself (RFC 7591, dynamicClientRegistration)
// at a running Tessera, then completing the code flow with PKCE:
//
//   node dcr.mjs ISSUER REDIRECT_URI [INITIAL_ACCESS_TOKEN]
// Registers a public client, prints one line {"client_id", "url"} (the
// authorization URL, with PKCE, state and nonce), then reads one line from
// stdin: the callback URL the browser was sent to, which tests/
// dynamic_registration.rs gets by signing in. It redeems the code and
// prints one line: what the tokens say.
import { createInterface } from 'node:readline';
import * as client from 'openid-client';

const [issuer, redirectUri, initialAccessToken] = process.argv.slice(2);
const config = await client.dynamicClientRegistration(
  new URL(issuer),
  {
    client_name: 'Notes (openid-client)',
    redirect_uris: [redirectUri],
    token_endpoint_auth_method: 'none',
    grant_types: ['authorization_code', 'refresh_token'],
    response_types: ['code'],
    scope: 'openid profile offline_access',
  },
  client.None(),
  { execute: [client.allowInsecureRequests], initialAccessToken: initialAccessToken || undefined },
);
const verifier = client.randomPKCECodeVerifier();
const state = client.randomState();
const nonce = client.randomNonce();
const url = client.buildAuthorizationUrl(config, {
  redirect_uri: redirectUri,
  scope: 'openid profile offline_access',
  state,
  nonce,
  code_challenge: await client.calculatePKCECodeChallenge(verifier),
  code_challenge_method: 'S256',
});
const metadata = config.clientMetadata();
process.stdout.write(JSON.stringify({ client_id: metadata.client_id, url: url.href }) + '\n');

const lines = createInterface({ input: process.stdin });
const callback = await new Promise((resolve) => lines.once('line', resolve));
lines.close();
const tokens = await client.authorizationCodeGrant(config, new URL(callback), {
  pkceCodeVerifier: verifier,
  expectedState: state,
  expectedNonce: nonce,
});
const refreshed = await client.refreshTokenGrant(config, tokens.refresh_token);
process.stdout.write(
  JSON.stringify({
    sub: tokens.claims().sub,
    aud: tokens.claims().aud,
    scope: tokens.scope,
    refreshed: typeof refreshed.access_token === 'string',
    registration_client_uri: metadata.registration_client_uri,
    registration_access_token: metadata.registration_access_token,
  }) + '\n',
);
