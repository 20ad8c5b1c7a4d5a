// The official MCP TypeScript SDK's client (@modelcontextprotocol/sdk) against
// the example MCP server (examples/mcp-server) protected by tessera-guard,
// with Tessera as its authorization server, the way an AI agent's host
// would: connect, get 401, discover the server's protected resource
// metadata (RFC 9728) and Tessera's metadata (RFC 8414), come in without
// any prior registration, send the user through Tessera's sign-in and
// consent pages in headless Chromium, exchange the code with PKCE and
// `resource` (RFC 8707), reconnect and call the tool.
//
//   node mcp.mjs MCP_URL MODE USERNAME PASSWORD APP_PORT [TLS_DIR DOC_PORT]
// MODE is "dcr" (dynamic client registration, RFC 7591) or "cimd" (a client
// ID metadata document): in "cimd" mode this script publishes the host's
// document at https://127.0.0.1:DOC_PORT/agent.json with TLS_DIR's
// cert.pem and key.pem (the MCP SDK takes only https document URLs), and
// the SDK names it as its client_id. Prints one JSON object for the Rust
// test to check.
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { UnauthorizedError } from '@modelcontextprotocol/sdk/client/auth.js';
import { chromium } from 'playwright-core';

const [mcpUrl, mode, username, password, appPort, tlsDir, docPort] = process.argv.slice(2);
const CALLBACK = `http://127.0.0.1:${appPort}/callback`;
const metadataUrl = mode === 'cimd' ? `https://127.0.0.1:${docPort}/agent.json` : undefined;
const out = { mode };

// The host's client ID metadata document (cimd mode), served over https.
let documentFetches = 0;
const documentServer =
  mode === 'cimd'
    ? createHttpsServer(
        { cert: readFileSync(`${tlsDir}/cert.pem`), key: readFileSync(`${tlsDir}/key.pem`) },
        (req, res) => {
          if (req.url !== '/agent.json') {
            res.writeHead(404);
            res.end();
            return;
          }
          documentFetches++;
          res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'max-age=300' });
          res.end(
            JSON.stringify({
              client_id: metadataUrl,
              client_name: 'Agent Host',
              redirect_uris: [CALLBACK],
              grant_types: ['authorization_code', 'refresh_token'],
              response_types: ['code'],
              token_endpoint_auth_method: 'none',
            }),
          );
        },
      )
    : null;
if (documentServer) await new Promise((resolve) => documentServer.listen(Number(docPort), '127.0.0.1', resolve));

// Where the browser lands after consent: the host's callback.
let landed = null;
const app = createServer((req, res) => {
  if (req.url.startsWith('/callback')) {
    landed = new URL(req.url, CALLBACK);
    res.writeHead(200, { 'content-type': 'text/html' });
    res.end('<p>you may close this window</p>');
  } else {
    res.writeHead(404);
    res.end();
  }
});
await new Promise((resolve) => app.listen(Number(appPort), '127.0.0.1', resolve));

// The host's OAuth state, kept in memory (the SDK's OAuthClientProvider).
let pendingAuthorization = null;
const provider = {
  stored: {},
  get redirectUrl() {
    return CALLBACK;
  },
  clientMetadataUrl: mode === 'cimd' ? metadataUrl : undefined,
  get clientMetadata() {
    return {
      client_name: 'Agent Host',
      redirect_uris: [CALLBACK],
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      token_endpoint_auth_method: 'none',
    };
  },
  clientInformation() {
    return this.stored.client;
  },
  saveClientInformation(info) {
    out.registered_client_id = info.client_id;
    this.stored.client = info;
  },
  tokens() {
    return this.stored.tokens;
  },
  saveTokens(tokens) {
    this.stored.tokens = tokens;
  },
  redirectToAuthorization(url) {
    pendingAuthorization = url;
  },
  saveCodeVerifier(v) {
    this.stored.verifier = v;
  },
  codeVerifier() {
    return this.stored.verifier;
  },
};

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  args: ['--no-sandbox'],
});
try {
  // 1. No token: the SDK meets 401, discovers, registers (or names its
  // metadata document) and asks the host to open the authorization URL.
  let client = new Client({ name: 'agent-host', version: '1.0.0' });
  let transport = new StreamableHTTPClientTransport(new URL(mcpUrl), { authProvider: provider });
  try {
    await client.connect(transport);
    throw new Error('connected without a token');
  } catch (e) {
    if (!(e instanceof UnauthorizedError)) throw e;
  }
  if (pendingAuthorization === null) throw new Error('the SDK never asked for a sign-in');
  out.authorization_url = pendingAuthorization.href;
  out.client_id = pendingAuthorization.searchParams.get('client_id');
  out.resource = pendingAuthorization.searchParams.get('resource');
  out.scope = pendingAuthorization.searchParams.get('scope');

  // 2. The user signs in and consents in a real browser.
  const page = await (await browser.newContext()).newPage();
  await page.goto(pendingAuthorization.href);
  await page.fill('#username', username);
  await page.fill('#password', password);
  await page.click('button[type=submit]');
  await page.waitForSelector('button[value=allow]');
  out.consent_text = await page.innerText('body');
  await page.click('button[value=allow]');
  for (let i = 0; i < 200 && landed === null; i++) await page.waitForTimeout(25);
  if (landed === null) throw new Error('never came back to the host; page: ' + (await page.content()));
  if (landed.searchParams.get('error')) throw new Error('authorization failed: ' + landed.search);

  // 3. The code for a token (PKCE, resource), then connect again and call
  // the tool.
  await transport.finishAuth(landed.searchParams.get('code'));
  out.token_type = provider.stored.tokens.token_type;
  const [, payload] = provider.stored.tokens.access_token.split('.');
  out.access_token_claims = JSON.parse(Buffer.from(payload, 'base64url').toString());
  client = new Client({ name: 'agent-host', version: '1.0.0' });
  transport = new StreamableHTTPClientTransport(new URL(mcpUrl), { authProvider: provider });
  await client.connect(transport);
  out.tools = (await client.listTools()).tools.map((t) => t.name);
  const result = await client.callTool({ name: 'whoami', arguments: {} });
  out.whoami = result.content.map((c) => c.text).join('');
  await client.close();
} finally {
  await browser.close();
  app.close();
  documentServer?.close();
}
out.document_fetches = documentFetches;
process.stdout.write(JSON.stringify(out));
