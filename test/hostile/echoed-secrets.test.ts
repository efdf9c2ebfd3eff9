/**
 * Token endpoints and an STS that quote back what the request carried, in the encodings
 * a real server might use: the Basic header, a JSON-escaped secret, a form-encoded one, a
 * long secret as a JSON member name, a secret cut by the excerpt clip, and a web identity
 * token in STS's <Message>. A daemon (the real app, HTTP layer, alerting and state file)
 * probes them; then the status document, the status page, every log line, the state file
 * and every Alertmanager POST are searched for every 8-character piece of every encoding
 * of each secret.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import { join } from 'node:path';
import { parseConfig } from '../../src/config/load.js';
import { createPki, type Pki } from '../../src/lab/pki.js';
import { startIdp, type FixtureIdp } from '../../src/lab/idp-server.js';
import { renderStatusPage } from '../../src/server/status-page/page.js';
import { testApp } from '../fixtures/app.js';
import { makeTempDir, type TempDir } from '../fixtures/temp.js';

/** Each case has its own client id, so the id-only base64 of one case's Basic header is no piece of another's. */
const clientId = (name: string): string => `client-${name}`;

/** One hostile token endpoint per path: its client secret and what it answers. */
const CASES: Record<string, { secret: string; answer: (authorization: string, secret: string) => [number, string] }> = {
  // The Authorization header quoted back: the secret is inside its base64.
  'basic-header': {
    secret: 'Bh7-basic-QuotedPassw0rd',
    answer: (authorization) => [401, JSON.stringify({ error: 'invalid_client', error_description: `bad header ${authorization}` })],
  },
  // The raw JSON text carries the escaped form; the old detail re-escaped the parsed value into it.
  'json-escaped': {
    secret: 'RT"Quote\\Secret',
    answer: (_auth, secret) => [401, JSON.stringify({ error: 'invalid_client', error_description: `secret ${secret} rejected` })],
  },
  // Echoed as the form body would carry it.
  'form-encoded': {
    secret: 'RT/Form+Secret',
    answer: (_auth, secret) => [401, JSON.stringify({ error: 'invalid_client', error_description: `client_secret=${encodeURIComponent(secret)}` })],
  },
  // A long secret's first 40 characters as a member name of a 200 answer without the token.
  'member-name': {
    secret: 'LongSecretAsMemberName-9f3KqZt7Wm2Xv8Lr4Np6Hs1Jd5Gc0Yb',
    answer: (_auth, secret) => [200, JSON.stringify({ [secret.slice(0, 40)]: true, token_type: 'Bearer' })],
  },
  // A secret cut by the 200-character clip: its first characters survive the clip.
  'clipped': {
    secret: 'ClippedSecret-Zx81Qw73Er65Ty',
    answer: (_auth, secret) => [400, JSON.stringify({ error: 'weird_error_that_is_long', error_description: `${'x'.repeat(188)}${secret}` })],
  },
};

/** Every encoding of a secret a server could echo, computed here independently of src/. */
function encodings(secret: string, clientId?: string): string[] {
  const form = (text: string): string => encodeURIComponent(text).replace(/%20/g, '+');
  const forms = [secret, JSON.stringify(secret).slice(1, -1), form(secret), encodeURIComponent(secret), Buffer.from(secret).toString('base64')];
  if (clientId !== undefined) forms.push(Buffer.from(`${form(clientId)}:${form(secret)}`).toString('base64'));
  return forms;
}

/** Every 8-character piece of the forms, minus the allowed ones. */
function pieces(forms: readonly string[], allowed: readonly string[] = []): Set<string> {
  const set = new Set<string>();
  for (const text of forms) for (let i = 0; i + 8 <= text.length; i += 1) set.add(text.slice(i, i + 8));
  for (const piece of allowed) set.delete(piece);
  return set;
}

/** The first piece of `forbidden` found in `text`, described; null when none. */
function findPiece(label: string, text: string, forbidden: ReadonlySet<string>): string | null {
  for (let i = 0; i + 8 <= text.length; i += 1) {
    const piece = text.slice(i, i + 8);
    if (forbidden.has(piece)) return `${label} holds ${JSON.stringify(piece)}: …${text.slice(Math.max(0, i - 60), i + 60)}…`;
  }
  return null;
}

describe('secrets echoed by token endpoints and STS', () => {
  let pki: Pki;
  let idp: FixtureIdp;
  let dir: TempDir;
  let tokenEndpoint: Server;
  let tokenOrigin: string;
  let sts: Server;
  let stsOrigin: string;
  let alertmanager: Server;
  let alertmanagerUrl: string;
  const alertPosts: string[] = [];
  const sockets = new Set<Socket>();
  let webToken = '';

  const track = (server: Server): void => {
    server.on('connection', (socket: Socket) => {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
    });
  };
  const listen = async (server: Server): Promise<number> => {
    track(server);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return (server.address() as AddressInfo).port;
  };
  const bodyOf = (req: IncomingMessage): Promise<string> =>
    new Promise((resolve) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    });

  before(async () => {
    pki = await createPki();
    idp = await startIdp({ pki });
    dir = await makeTempDir('idp-canary-echo-');
    tokenEndpoint = createHttpsServer({ cert: pki.chainPem, key: pki.leafKeyPem }, (req: IncomingMessage, res: ServerResponse) => {
      const name = (req.url ?? '').slice(1);
      const entry = CASES[name];
      void bodyOf(req).then(() => {
        const [status, body] = entry ? entry.answer(req.headers.authorization ?? '', entry.secret) : [404, '{}'];
        res.writeHead(status, { 'content-type': 'application/json' }).end(body);
      });
    });
    tokenOrigin = `https://127.0.0.1:${await listen(tokenEndpoint as unknown as Server)}`;
    // An STS that quotes the token back: raw in one message, form-encoded in the request id slot's neighbour.
    sts = createHttpServer((req, res) => {
      void bodyOf(req).then((body) => {
        const token = new URLSearchParams(body).get('WebIdentityToken') ?? '';
        const xml = `<ErrorResponse><Error><Type>Sender</Type><Code>InvalidIdentityToken</Code><Message>Token ${token} is bad (${encodeURIComponent(token)})</Message></Error><RequestId>${token.slice(0, 100)}</RequestId></ErrorResponse>`;
        res.writeHead(400, { 'content-type': 'text/xml' }).end(xml);
      });
    });
    stsOrigin = `http://127.0.0.1:${await listen(sts)}`;
    alertmanager = createHttpServer((req, res) => {
      void bodyOf(req).then((body) => {
        alertPosts.push(body);
        res.writeHead(200).end();
      });
    });
    alertmanagerUrl = `http://127.0.0.1:${await listen(alertmanager)}/api/v2/alerts`;
    webToken = await idp.signToken({});
    await dir.write('token', webToken);
    for (const [name, entry] of Object.entries(CASES)) await dir.write(`secret-${name}`, entry.secret);
  });
  after(async () => {
    for (const socket of sockets) socket.destroy();
    await Promise.all([tokenEndpoint, sts, alertmanager].map((server) => new Promise((resolve) => server.close(resolve))));
    await idp.close();
    await dir.remove();
  });

  test('no encoding or 8-character piece of any secret reaches status, page, logs, state file or Alertmanager', { timeout: 60_000 }, async () => {
    const role = 'arn:aws:iam::111122223333:role/idp-canary';
    const idps = [
      ...Object.keys(CASES).map((name) => [
        `  - name: ${name}`,
        `    issuer: ${idp.issuer}`,
        '    tls: { caFile: /lab/ca.pem }',
        '    sts:',
        `      - { name: cc, roleArn: "${role}", regions: [us-east-1], endpoint: "${stsOrigin}", maxAttempts: 1,`,
        `          token: { clientCredentials: { tokenUrl: "${tokenOrigin}/${name}", clientId: ${clientId(name)}, clientSecretFile: ${join(dir.path, `secret-${name}`)} } } }`,
      ]),
      [
        '  - name: sts-echo',
        `    issuer: ${idp.issuer}`,
        '    tls: { caFile: /lab/ca.pem }',
        '    sts:',
        `      - { name: file, roleArn: "${role}", regions: [us-east-1], endpoint: "${stsOrigin}", maxAttempts: 1, token: { file: ${join(dir.path, 'token')} } }`,
      ],
    ].flat();
    const statePath = join(dir.path, 'state.json');
    const yaml = [
      'defaults: { schedule: "0 0 0 1 1 *" }',
      `alertmanager: { urls: ["${alertmanagerUrl}"] }`,
      'alerts: { failuresBeforeFiring: 1 }',
      `state: { file: ${statePath} }`,
      'idps:',
      ...idps,
    ].join('\n');
    const config = await parseConfig(yaml, 'echo.yaml', { readFile: async () => pki.rootPem });
    const { app, log } = testApp(config, { sts: { readFile: (path) => readFile(path, 'utf8') } });
    await app.restoreState();
    app.start();
    for (const name of [...Object.keys(CASES), 'sts-echo']) {
      await app.runNow(name);
      const key = `${name}/${name === 'sts-echo' ? 'file' : 'cc'}/us-east-1`;
      const result = await app.runStsNow(key);
      assert.ok(result, key);
      assert.equal(result.ok, false, key);
    }
    const status = app.status();
    await app.stop(1000);

    const sinks: Array<[string, string]> = [
      ['status', JSON.stringify(status)],
      ['status page', renderStatusPage(status)],
      ['logs', log.text.join('\n')],
      ['state file', await readFile(statePath, 'utf8')],
      ['alertmanager', alertPosts.join('\n')],
    ];
    const leaks: string[] = [];
    for (const [name, entry] of Object.entries(CASES)) {
      // The leading base64 characters that hold only bits of `client-…:` carry no secret bit.
      const id = clientId(name);
      const idOnly = Buffer.from(`${id}:`).toString('base64').slice(0, Math.floor(((id.length + 1) * 8) / 6));
      const forbidden = pieces(encodings(entry.secret, id), [...pieces([idOnly])]);
      for (const [label, text] of sinks) leaks.push(findPiece(`${label} (${name})`, text, forbidden) ?? '');
    }
    const tokenPieces = pieces(encodings(webToken));
    for (const [label, text] of sinks) leaks.push(findPiece(`${label} (web identity token)`, text, tokenPieces) ?? '');
    assert.deepEqual(leaks.filter(Boolean), []);

    // The failures are still described: the classified code and the server's words around the secret.
    const byName = new Map(status.idps.map((entry) => [entry.name, entry.sts[0]?.last]));
    assert.match(byName.get('basic-header')?.token.detail ?? '', /HTTP 401 error "invalid_client": "bad header Basic \[redacted\]/);
    assert.match(byName.get('json-escaped')?.token.detail ?? '', /"secret \[redacted\] rejected"/);
    assert.match(byName.get('clipped')?.token.detail ?? '', /HTTP 400 error "other": "x{20}/);
    assert.match(byName.get('member-name')?.token.detail ?? '', /members: \[redacted\], token_type/);
    const echoed = byName.get('sts-echo')?.attempts[0];
    assert.equal(echoed?.code, 'InvalidIdentityToken');
    // STS's message is clipped at 512 characters before the sanitiser sees it; the cut token is still found.
    assert.match(echoed?.message ?? '', /^Token \[redacted\]…?$/);
    assert.equal(echoed?.requestId, null, 'a request id made of the token is dropped');
    assert.ok(alertPosts.length > 0, 'alerts were sent');

  });
});
