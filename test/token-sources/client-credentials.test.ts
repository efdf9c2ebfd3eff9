import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer as createPlainServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer } from 'node:https';
import type { Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { decodeJwt } from 'jose';
import { createHttp } from '../../src/http/timed-request.js';
import { createPki, type Pki } from '../../src/lab/pki.js';
import {
  basicAuthorization,
  clientCredentialsBody,
  parseTokenResponse,
  tokenFromClientCredentials,
  type ClientCredentialsConfig,
} from '../../src/token-sources/client-credentials.js';
import { startOidcProvider, type RunningOidcProvider } from '../fixtures/oidc-provider.js';

const SECRET = 'cl1ent-s3cret with spaces:and+plus';
const TOKEN = 'eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJjYW5hcnkifQ.SIGNATURE-OF-THE-TOKEN';

interface Seen {
  method: string;
  path: string;
  headers: IncomingMessage['headers'];
  body: string;
}

/** A scripted loopback token endpoint. */
interface TokenEndpoint {
  url: string;
  seen: Seen[];
  reply: (seen: Seen) => { status: number; body: string; contentType?: string };
  close(): Promise<void>;
}

async function startTokenEndpoint(pki: Pki): Promise<TokenEndpoint> {
  const endpoint: Partial<TokenEndpoint> & { seen: Seen[] } = { seen: [] };
  const server: Server = createServer({ cert: pki.chainPem, key: pki.leafKeyPem }, (req: IncomingMessage, res: ServerResponse) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => (body += chunk));
    req.on('end', () => {
      const seen = { method: req.method ?? '', path: req.url ?? '', headers: req.headers, body };
      endpoint.seen.push(seen);
      const answer = endpoint.reply!(seen);
      res.writeHead(answer.status, { 'content-type': answer.contentType ?? 'application/json', connection: 'close' });
      res.end(answer.body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  endpoint.url = `https://127.0.0.1:${(server.address() as AddressInfo).port}/oauth2/token`;
  endpoint.reply = () => ({ status: 200, body: JSON.stringify({ access_token: TOKEN, token_type: 'Bearer', expires_in: 300 }) });
  endpoint.close = () => new Promise<void>((resolve) => server.close(() => resolve()));
  return endpoint as TokenEndpoint;
}

const files = (entries: Record<string, string>) => async (path: string) => {
  const value = entries[path];
  if (value === undefined) throw Object.assign(new Error(`ENOENT: ${path}`), { code: 'ENOENT' });
  return value;
};

describe('client credentials (pure parts)', () => {
  test('body and Basic credentials are form-encoded (RFC 6749 §2.3.1)', () => {
    assert.equal(clientCredentialsBody({}), 'grant_type=client_credentials');
    assert.equal(
      clientCredentialsBody({ scope: 'a b', audience: 'sts.amazonaws.com', resource: 'https://sts.amazonaws.com' }),
      'grant_type=client_credentials&scope=a+b&audience=sts.amazonaws.com&resource=https%3A%2F%2Fsts.amazonaws.com',
    );
    const decoded = Buffer.from(basicAuthorization('id:1', 'p w+').slice('Basic '.length), 'base64').toString();
    assert.equal(decoded, 'id%3A1:p+w%2B');
  });

  test('parseTokenResponse: field choice, failures without values', () => {
    const ok = parseTokenResponse(200, Buffer.from(JSON.stringify({ access_token: 'a.b.c', id_token: 'x.y.z' })), 'id_token', []);
    assert.deepEqual(ok, { ok: true, token: 'x.y.z' });
    const missing = parseTokenResponse(200, Buffer.from(JSON.stringify({ access_token: 'VALUE-NOT-SHOWN' })), 'id_token', []);
    assert.equal(missing.ok, false);
    assert.equal(!missing.ok && missing.detail, 'token endpoint response has no "id_token" member (members: access_token)');
    const denied = parseTokenResponse(401, Buffer.from(JSON.stringify({ error: 'invalid_client', error_description: `bad secret ${SECRET}` })), 'access_token', [SECRET]);
    assert.equal(!denied.ok && denied.detail, 'token endpoint answered HTTP 401 error "invalid_client": "bad secret [redacted]"');
    const html = parseTokenResponse(200, Buffer.from('<html>login</html>'), 'access_token', []);
    assert.match(!html.ok ? html.detail : '', /not JSON \(looks like HTML\)/);
  });
});

describe('client credentials against a loopback HTTPS token endpoint', () => {
  let pki: Pki;
  let endpoint: TokenEndpoint;
  const http = createHttp();
  const config: ClientCredentialsConfig = {
    clientId: 'canary-client',
    clientSecretFile: '/run/secrets/client',
    scope: 'sts',
    audience: 'sts.amazonaws.com',
    resource: 'https://sts.amazonaws.com',
    field: 'access_token',
  };
  const deps = () => ({ http, readFile: files({ '/run/secrets/client': `${SECRET}\n` }) });
  const context = () => ({ discoveredTokenEndpoint: endpoint.url, ca: pki.rootPem, timeoutMs: 5000, maxBodyBytes: 65536 });

  before(async () => {
    pki = await createPki();
    endpoint = await startTokenEndpoint(pki);
  });
  after(() => endpoint.close());

  test('POSTs the grant with client_secret_basic and returns the field', async () => {
    const result = await tokenFromClientCredentials(config, context(), deps());
    assert.deepEqual(result, { ok: true, token: TOKEN });
    const seen = endpoint.seen.at(-1)!;
    assert.equal(seen.method, 'POST');
    assert.equal(seen.path, '/oauth2/token');
    assert.equal(seen.headers['content-type'], 'application/x-www-form-urlencoded');
    assert.equal(seen.headers['authorization'], basicAuthorization('canary-client', SECRET));
    const form = new URLSearchParams(seen.body);
    assert.equal(form.get('grant_type'), 'client_credentials');
    assert.equal(form.get('scope'), 'sts');
    assert.equal(form.get('audience'), 'sts.amazonaws.com');
    assert.equal(form.get('resource'), 'https://sts.amazonaws.com');
    assert.equal(form.get('client_secret'), null, 'the secret is never in the body');
  });

  test('tokenUrl wins over the discovered endpoint', async () => {
    const result = await tokenFromClientCredentials({ ...config, tokenUrl: endpoint.url.replace('/oauth2/token', '/custom') }, { ...context(), discoveredTokenEndpoint: 'https://127.0.0.1:1/never' }, deps());
    assert.equal(result.ok, true);
    assert.equal(endpoint.seen.at(-1)!.path, '/custom');
  });

  test('a plain-HTTP token endpoint (discovered or configured) never gets the secret unless allowInsecureHttp', async () => {
    const plain = createPlainServer((req, res) => {
      plainSeen.push(String(req.headers.authorization));
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ access_token: TOKEN }));
    });
    const plainSeen: string[] = [];
    await new Promise<void>((resolve) => plain.listen(0, '127.0.0.1', resolve));
    const plainUrl = `http://127.0.0.1:${(plain.address() as AddressInfo).port}/token`;
    try {
      const discovered = await tokenFromClientCredentials(config, { ...context(), discoveredTokenEndpoint: plainUrl }, deps());
      assert.equal(discovered.ok, false);
      assert.equal(!discovered.ok && discovered.reason, 'token_endpoint');
      assert.match(!discovered.ok ? discovered.detail : '', /is not https: the client secret is not sent over plain HTTP/);
      const configured = await tokenFromClientCredentials({ ...config, tokenUrl: plainUrl }, context(), deps());
      assert.equal(configured.ok, false);
      assert.deepEqual(plainSeen, [], 'the plain-HTTP endpoint got no request at all');

      const allowed = await tokenFromClientCredentials(config, { ...context(), discoveredTokenEndpoint: plainUrl, allowInsecureHttp: true }, deps());
      assert.deepEqual(allowed, { ok: true, token: TOKEN });
      assert.equal(plainSeen.length, 1);
    } finally {
      await new Promise((resolve) => plain.close(resolve));
    }
  });

  test('non-200, bad JSON and a missing field are token_endpoint failures without secrets', async () => {
    endpoint.reply = () => ({ status: 401, body: JSON.stringify({ error: 'invalid_client', error_description: `secret ${SECRET} rejected` }) });
    const denied = await tokenFromClientCredentials(config, context(), deps());
    assert.equal(denied.ok, false);
    assert.equal(!denied.ok && denied.reason, 'token_endpoint');
    assert.match(!denied.ok ? denied.detail : '', /HTTP 401 error "invalid_client"/);

    endpoint.reply = () => ({ status: 200, body: '{"access_token":' });
    const broken = await tokenFromClientCredentials(config, context(), deps());
    assert.match(!broken.ok ? broken.detail : '', /not JSON/);

    endpoint.reply = () => ({ status: 200, body: JSON.stringify({ token_type: 'Bearer', refresh: TOKEN }) });
    const missing = await tokenFromClientCredentials(config, context(), deps());
    assert.match(!missing.ok ? missing.detail : '', /has no "access_token" member \(members: token_type, refresh\)/);

    for (const result of [denied, broken, missing]) {
      const text = JSON.stringify(result);
      assert.ok(!text.includes(SECRET) && !text.includes(TOKEN), text);
    }
    endpoint.reply = () => ({ status: 200, body: JSON.stringify({ access_token: TOKEN }) });
  });

  test('secret file missing or empty: client_secret, and no request is made', async () => {
    const before = endpoint.seen.length;
    const missing = await tokenFromClientCredentials(config, context(), { http, readFile: files({}) });
    assert.deepEqual(missing, { ok: false, reason: 'client_secret', detail: 'client secret file /run/secrets/client does not exist (ENOENT)' });
    const empty = await tokenFromClientCredentials(config, context(), { http, readFile: files({ '/run/secrets/client': '\n' }) });
    assert.deepEqual(empty, { ok: false, reason: 'client_secret', detail: 'client secret file /run/secrets/client is empty' });
    assert.equal(endpoint.seen.length, before);
  });

  test('no endpoint known, untrusted TLS', async () => {
    const none = await tokenFromClientCredentials(config, { ...context(), discoveredTokenEndpoint: null }, deps());
    assert.equal(!none.ok && none.reason, 'token_endpoint');
    assert.match(!none.ok ? none.detail : '', /no token endpoint/);
    const untrusted = await tokenFromClientCredentials(config, { ...context(), ca: undefined }, deps());
    assert.equal(!untrusted.ok && untrusted.reason, 'token_endpoint');
    assert.match(!untrusted.ok ? untrusted.detail : '', /: tls: /);
  });
});

describe('client credentials against oidc-provider (JWT access tokens for sts.amazonaws.com)', () => {
  let pki: Pki;
  let op: RunningOidcProvider;
  before(async () => {
    pki = await createPki();
    op = await startOidcProvider({ pki });
  });
  after(() => op.close());

  test('obtains a JWT access token with aud sts.amazonaws.com; a wrong secret is invalid_client', async () => {
    const http = createHttp();
    const config = { clientId: op.clientId, clientSecretFile: '/s', field: 'access_token' };
    const context = { discoveredTokenEndpoint: op.tokenUrl, ca: pki.rootPem, timeoutMs: 5000, maxBodyBytes: 65536 };
    const result = await tokenFromClientCredentials(config, context, { http, readFile: files({ '/s': op.clientSecret }) });
    assert.equal(result.ok, true, result.ok ? '' : result.detail);
    const claims = decodeJwt(result.ok ? result.token : '');
    assert.equal(claims.iss, op.issuer);
    assert.equal(claims.aud, 'sts.amazonaws.com');
    assert.equal(claims.sub, op.clientId);

    const wrong = await tokenFromClientCredentials(config, context, { http, readFile: files({ '/s': 'not-the-secret' }) });
    assert.equal(wrong.ok, false);
    assert.match(!wrong.ok ? wrong.detail : '', /HTTP 401 error "invalid_client"/);
    assert.ok(!JSON.stringify(wrong).includes('not-the-secret'));
  });
});
