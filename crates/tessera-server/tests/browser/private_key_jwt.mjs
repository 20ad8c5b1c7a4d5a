// npm openid-client authenticating with private_key_jwt (RFC 7523) against a
// running Tessera: the client credentials grant and token introspection,
// each with a client assertion openid-client signs itself.
//
//   node private_key_jwt.mjs keygen DIR
//     makes a P-256 key pair; writes the private JWK to DIR/private.jwk and
//     prints the public JWK Set for `tessera client create --jwks`.
//   node private_key_jwt.mjs grant ISSUER CLIENT_ID DIR
//     discovers ISSUER, gets a token with scope "read", introspects it, and
//     prints one JSON object for tests/private_key_jwt.rs to check.
import { readFileSync, writeFileSync } from 'node:fs';
import * as client from 'openid-client';

const EC = { name: 'ECDSA', namedCurve: 'P-256' };
const [mode, ...args] = process.argv.slice(2);

if (mode === 'keygen') {
  const [dir] = args;
  const pair = await crypto.subtle.generateKey(EC, true, ['sign', 'verify']);
  const privateJwk = await crypto.subtle.exportKey('jwk', pair.privateKey);
  const publicJwk = await crypto.subtle.exportKey('jwk', pair.publicKey);
  writeFileSync(`${dir}/private.jwk`, JSON.stringify(privateJwk));
  process.stdout.write(JSON.stringify({ keys: [{ ...publicJwk, alg: 'ES256', use: 'sig' }] }));
} else if (mode === 'grant') {
  const [issuer, clientId, dir] = args;
  const privateJwk = JSON.parse(readFileSync(`${dir}/private.jwk`, 'utf8'));
  const key = await crypto.subtle.importKey('jwk', privateJwk, EC, false, ['sign']);
  const config = await client.discovery(new URL(issuer), clientId, undefined, client.PrivateKeyJwt(key), {
    execute: [client.allowInsecureRequests],
  });
  const tokens = await client.clientCredentialsGrant(config, { scope: 'read' });
  const introspected = await client.tokenIntrospection(config, tokens.access_token);
  const advertised = config.serverMetadata().token_endpoint_auth_methods_supported;
  process.stdout.write(
    JSON.stringify({
      scope: tokens.scope,
      token_type: tokens.token_type,
      active: introspected.active,
      client_id: introspected.client_id,
      advertised,
    }),
  );
} else {
  throw new Error(`unknown mode ${mode}`);
}
