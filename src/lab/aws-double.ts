/**
 * A loopback stand-in for the AWS APIs the inventory reads, one server for all of them:
 *
 * - IAM (Query/XML, POST /, signed for `iam`): `ListOpenIDConnectProviders` and
 *   `GetOpenIDConnectProvider`. The real `ListOpenIDConnectProviders` takes no parameters
 *   and returns every provider in one answer: it has no `Marker`/`MaxItems` paging (unlike
 *   most IAM List calls), so neither has the double.
 * - EKS (REST/JSON, signed for `eks` in the cluster's region): `ListClusters`
 *   (GET /clusters, `maxResults` 1-100, default 100, opaque `nextToken`) and
 *   `DescribeCluster` (GET /clusters/{name}, with `identity.oidc.issuer`).
 * - STS (Query/XML, POST /, signed for `sts`): `AssumeRole`, so the inventory of several
 *   accounts can be tested; it returns session credentials the double then accepts.
 *
 * Every request must carry a valid SigV4 signature (sigv4-verify.ts) by credentials the
 * double knows; each credential belongs to one account, and an account only sees its own
 * providers and clusters. Faults (throttling, access denied, service failure) can be
 * injected per action. Checked against `@aws-sdk/client-iam`, `@aws-sdk/client-eks` and
 * `@aws-sdk/client-sts` as the reference clients.
 *
 * Error codes and statuses follow the APIs' documented errors; message wordings for cases
 * the documentation does not quote are plausible, not verbatim.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Pki } from './pki.js';
import { verifySigV4, type SigV4Credentials, type SigV4Failure } from './sigv4-verify.js';
import { listenLoopback } from './loopback-server.js';

/** An IAM OIDC identity provider. */
export interface AwsDoubleProvider {
  /** The issuer URL, `https://…` (IAM stores and returns it without the scheme). */
  url: string;
  clientIds: string[];
  thumbprints: string[];
  tags?: Record<string, string>;
}

/** An EKS cluster; `issuer` null for a cluster without an OIDC issuer. */
export interface AwsDoubleCluster {
  name: string;
  region: string;
  issuer: string | null;
}

export interface AwsDoubleAccount {
  /** 12-digit account id. */
  id: string;
  providers?: AwsDoubleProvider[];
  clusters?: AwsDoubleCluster[];
  /** Names of roles others may assume into this account; default none. */
  assumableRoles?: string[];
}

/** Long-term credentials the double accepts, each belonging to one account. */
export interface AwsDoubleCredentials extends SigV4Credentials {
  accountId: string;
}

export type AwsDoubleAction = 'ListOpenIDConnectProviders' | 'GetOpenIDConnectProvider' | 'ListClusters' | 'DescribeCluster' | 'AssumeRole';
export type AwsDoubleFault = 'Throttling' | 'AccessDenied' | 'ServiceFailure';

/** One request the double answered (for assertions: which calls, by whom, signed how). */
export interface AwsDoubleRequest {
  service: 'iam' | 'eks' | 'sts' | 'unknown';
  action: string;
  accountId: string | null;
  region: string | null;
  status: number;
  /** The SigV4 failure when the signature was refused. */
  signature: SigV4Failure | 'ok';
}

export interface AwsDoubleOptions {
  accounts: AwsDoubleAccount[];
  credentials: AwsDoubleCredentials[];
  /** Server clock, ms since the epoch; default Date.now. */
  now?: () => number;
  /** Serve HTTPS with the lab PKI's leaf (default plain HTTP on loopback). */
  pki?: Pki;
  host?: string;
  port?: number;
}

export interface AwsDouble {
  /** `http://127.0.0.1:PORT`; the endpoint for all three clients. */
  readonly url: string;
  /** Replaces an account's IAM OIDC providers. */
  setProviders(accountId: string, providers: AwsDoubleProvider[]): void;
  /** Replaces an account's clusters. */
  setClusters(accountId: string, clusters: AwsDoubleCluster[]): void;
  /** The next `times` (default 1, Infinity until cleared) calls of `action` fail with `fault`. */
  inject(action: AwsDoubleAction, fault: AwsDoubleFault, times?: number): void;
  clearInjections(): void;
  /** Requests answered so far (a copy). */
  requests(): AwsDoubleRequest[];
  close(): Promise<void>;
}

const IAM_NS = 'https://iam.amazonaws.com/doc/2010-05-08/';
const STS_NS = 'https://sts.amazonaws.com/doc/2011-06-15/';
const MAX_BODY = 64 * 1024;

function xmlEscape(text: string): string {
  return text.replace(/[<>&'"]/g, (ch) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', "'": '&apos;', '"': '&quot;' })[ch]!);
}

/** IAM stores a provider's URL without `https://`; its ARN names that host and path. */
export function providerArn(accountId: string, url: string): string {
  return `arn:aws:iam::${accountId}:oidc-provider/${url.replace(/^https:\/\//, '')}`;
}

const SIGNATURE_ERRORS: Record<SigV4Failure, { query: string; json: string; message: string }> = {
  missing: { query: 'MissingAuthenticationToken', json: 'MissingAuthenticationTokenException', message: 'Request is missing Authentication Token' },
  malformed: { query: 'IncompleteSignature', json: 'IncompleteSignatureException', message: 'The request signature does not conform to AWS standards.' },
  'unknown-key': { query: 'InvalidClientTokenId', json: 'UnrecognizedClientException', message: 'The security token included in the request is invalid.' },
  'bad-token': { query: 'InvalidClientTokenId', json: 'UnrecognizedClientException', message: 'The security token included in the request is invalid.' },
  expired: { query: 'SignatureDoesNotMatch', json: 'InvalidSignatureException', message: 'Signature expired.' },
  mismatch: {
    query: 'SignatureDoesNotMatch',
    json: 'InvalidSignatureException',
    message: 'The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.',
  },
};

interface Caller {
  accountId: string;
  /** The principal, for AccessDenied messages. */
  arn: string;
}

/** Starts the double on `host:port` (default 127.0.0.1, any free port). */
export async function startAwsDouble(options: AwsDoubleOptions): Promise<AwsDouble> {
  const now = options.now ?? Date.now;
  const accounts = new Map(options.accounts.map((account) => [account.id, { ...account, providers: [...(account.providers ?? [])], clusters: [...(account.clusters ?? [])] }]));
  const keys = new Map<string, AwsDoubleCredentials & { arn: string }>(
    options.credentials.map((c) => [c.accessKeyId, { ...c, arn: `arn:aws:iam::${c.accountId}:user/idp-canary-test` }]),
  );
  const faults = new Map<AwsDoubleAction, { fault: AwsDoubleFault; times: number }[]>();
  const log: AwsDoubleRequest[] = [];

  function takeFault(action: AwsDoubleAction): AwsDoubleFault | null {
    const queue = faults.get(action);
    const head = queue?.[0];
    if (!head) return null;
    head.times -= 1;
    if (head.times <= 0) queue!.shift();
    return head.fault;
  }

  function account(id: string) {
    const found = accounts.get(id);
    if (!found) throw new Error(`unknown account ${id}`);
    return found;
  }

  // --- Query/XML (IAM, STS) ---------------------------------------------------------

  function queryError(res: ServerResponse, ns: string, status: number, code: string, message: string, type = status >= 500 ? 'Receiver' : 'Sender'): void {
    const requestId = randomUUID();
    res.writeHead(status, { 'content-type': 'text/xml', 'x-amzn-requestid': requestId });
    res.end(
      `<ErrorResponse xmlns="${ns}">\n  <Error>\n    <Type>${type}</Type>\n    <Code>${xmlEscape(code)}</Code>\n    <Message>${xmlEscape(message)}</Message>\n  </Error>\n  <RequestId>${requestId}</RequestId>\n</ErrorResponse>\n`,
    );
  }

  function queryOk(res: ServerResponse, ns: string, action: string, result: string): void {
    const requestId = randomUUID();
    res.writeHead(200, { 'content-type': 'text/xml', 'x-amzn-requestid': requestId });
    res.end(
      `<${action}Response xmlns="${ns}">\n  <${action}Result>\n${result}  </${action}Result>\n  <ResponseMetadata>\n    <RequestId>${requestId}</RequestId>\n  </ResponseMetadata>\n</${action}Response>\n`,
    );
  }

  function queryFault(res: ServerResponse, ns: string, fault: AwsDoubleFault, caller: Caller, permission: string, resource: string): number {
    if (fault === 'Throttling') {
      queryError(res, ns, 400, 'Throttling', 'Rate exceeded');
      return 400;
    }
    if (fault === 'ServiceFailure') {
      queryError(res, ns, 500, ns === IAM_NS ? 'ServiceFailure' : 'InternalFailure', 'The request processing has failed because of an unknown error, exception or failure.');
      return 500;
    }
    queryError(res, ns, 403, 'AccessDenied', `User: ${caller.arn} is not authorized to perform: ${permission} on resource: ${resource} because no identity-based policy allows the ${permission} action`);
    return 403;
  }

  function iam(res: ServerResponse, params: URLSearchParams, caller: Caller): { action: string; status: number } {
    const action = params.get('Action') ?? '';
    if (params.get('Version') !== '2010-05-08') {
      queryError(res, IAM_NS, 400, 'InvalidAction', `Could not find operation ${action} for version ${params.get('Version') ?? 'NO_VERSION_SPECIFIED'}`);
      return { action, status: 400 };
    }
    const mine = account(caller.accountId);
    if (action === 'ListOpenIDConnectProviders') {
      const fault = takeFault(action);
      if (fault) return { action, status: queryFault(res, IAM_NS, fault, caller, 'iam:ListOpenIDConnectProviders', `arn:aws:iam::${caller.accountId}:oidc-provider/*`) };
      const members = mine.providers.map((p) => `      <member>\n        <Arn>${xmlEscape(providerArn(mine.id, p.url))}</Arn>\n      </member>\n`).join('');
      queryOk(res, IAM_NS, action, `    <OpenIDConnectProviderList>\n${members}    </OpenIDConnectProviderList>\n`);
      return { action, status: 200 };
    }
    if (action === 'GetOpenIDConnectProvider') {
      const arn = params.get('OpenIDConnectProviderArn');
      if (arn === null) {
        queryError(res, IAM_NS, 400, 'ValidationError', "1 validation error detected: Value null at 'openIDConnectProviderArn' failed to satisfy constraint: Member must not be null");
        return { action, status: 400 };
      }
      const fault = takeFault(action);
      if (fault) return { action, status: queryFault(res, IAM_NS, fault, caller, 'iam:GetOpenIDConnectProvider', arn) };
      if (!/^arn:aws[a-z-]*:iam::\d{12}:oidc-provider\/.+/.test(arn)) {
        queryError(res, IAM_NS, 400, 'InvalidInput', `ARN ${arn} is not valid.`);
        return { action, status: 400 };
      }
      const provider = mine.providers.find((p) => providerArn(mine.id, p.url) === arn);
      if (!provider) {
        queryError(res, IAM_NS, 404, 'NoSuchEntity', `OpenIDConnect Provider not found for arn ${arn}`);
        return { action, status: 404 };
      }
      const list = (name: string, values: readonly string[]) => `    <${name}>\n${values.map((v) => `      <member>${xmlEscape(v)}</member>\n`).join('')}    </${name}>\n`;
      const tags = Object.entries(provider.tags ?? {})
        .map(([key, value]) => `      <member>\n        <Key>${xmlEscape(key)}</Key>\n        <Value>${xmlEscape(value)}</Value>\n      </member>\n`)
        .join('');
      queryOk(
        res,
        IAM_NS,
        action,
        `    <Url>${xmlEscape(provider.url.replace(/^https:\/\//, ''))}</Url>\n` +
          list('ClientIDList', provider.clientIds) +
          list('ThumbprintList', provider.thumbprints) +
          `    <CreateDate>2026-01-01T00:00:00Z</CreateDate>\n` +
          `    <Tags>\n${tags}    </Tags>\n`,
      );
      return { action, status: 200 };
    }
    queryError(res, IAM_NS, 400, 'InvalidAction', `Could not find operation ${action} for version 2010-05-08`);
    return { action, status: 400 };
  }

  function sts(res: ServerResponse, params: URLSearchParams, caller: Caller): { action: string; status: number } {
    const action = params.get('Action') ?? '';
    if (action !== 'AssumeRole') {
      queryError(res, STS_NS, 400, 'InvalidAction', `Could not find operation ${action} for version ${params.get('Version') ?? 'NO_VERSION_SPECIFIED'}`);
      return { action, status: 400 };
    }
    const roleArn = params.get('RoleArn') ?? '';
    const session = params.get('RoleSessionName') ?? '';
    if (!/^[\w+=,.@-]{2,64}$/.test(session)) {
      queryError(res, STS_NS, 400, 'ValidationError', `1 validation error detected: Value '${session}' at 'roleSessionName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\w+=,.@-]*`);
      return { action, status: 400 };
    }
    const fault = takeFault('AssumeRole');
    if (fault) return { action, status: queryFault(res, STS_NS, fault, caller, 'sts:AssumeRole', roleArn) };
    const match = /^arn:aws:iam::(\d{12}):role\/(?:[\w+=,.@-]+\/)*([\w+=,.@-]+)$/.exec(roleArn);
    const target = match ? accounts.get(match[1]!) : undefined;
    if (!match || !target || !(target.assumableRoles ?? []).includes(match[2]!)) {
      queryError(res, STS_NS, 403, 'AccessDenied', `User: ${caller.arn} is not authorized to perform: sts:AssumeRole on resource: ${roleArn}`);
      return { action, status: 403 };
    }
    const duration = Number(params.get('DurationSeconds') ?? '3600');
    const credentials: AwsDoubleCredentials & { arn: string } = {
      accessKeyId: `ASIA${randomBytes(8).toString('hex').toUpperCase()}`,
      secretAccessKey: randomBytes(30).toString('base64'),
      sessionToken: randomBytes(48).toString('base64'),
      accountId: target.id,
      arn: `arn:aws:sts::${target.id}:assumed-role/${match[2]}/${session}`,
    };
    keys.set(credentials.accessKeyId, credentials);
    queryOk(
      res,
      STS_NS,
      action,
      `    <AssumedRoleUser>\n      <Arn>${xmlEscape(credentials.arn)}</Arn>\n      <AssumedRoleId>AROA${randomBytes(8).toString('hex').toUpperCase()}:${xmlEscape(session)}</AssumedRoleId>\n    </AssumedRoleUser>\n` +
        `    <Credentials>\n      <AccessKeyId>${credentials.accessKeyId}</AccessKeyId>\n      <SecretAccessKey>${xmlEscape(credentials.secretAccessKey)}</SecretAccessKey>\n      <SessionToken>${xmlEscape(credentials.sessionToken!)}</SessionToken>\n      <Expiration>${new Date(now() + (Number.isFinite(duration) ? duration : 3600) * 1000).toISOString()}</Expiration>\n    </Credentials>\n`,
    );
    return { action, status: 200 };
  }

  // --- REST/JSON (EKS) --------------------------------------------------------------

  function jsonError(res: ServerResponse, status: number, code: string, message: string, extra: Record<string, unknown> = {}): void {
    res.writeHead(status, { 'content-type': 'application/json', 'x-amzn-errortype': code, 'x-amzn-requestid': randomUUID() });
    res.end(JSON.stringify({ ...extra, message }));
  }

  function jsonOk(res: ServerResponse, body: unknown): void {
    res.writeHead(200, { 'content-type': 'application/json', 'x-amzn-requestid': randomUUID() });
    res.end(JSON.stringify(body));
  }

  function jsonFault(res: ServerResponse, fault: AwsDoubleFault, caller: Caller, permission: string, resource: string): number {
    if (fault === 'Throttling') {
      jsonError(res, 429, 'ThrottlingException', 'Rate exceeded');
      return 429;
    }
    if (fault === 'ServiceFailure') {
      jsonError(res, 500, 'ServerException', 'An internal error occurred.');
      return 500;
    }
    jsonError(res, 403, 'AccessDeniedException', `User: ${caller.arn} is not authorized to perform: ${permission} on resource: ${resource}`);
    return 403;
  }

  /** Page tokens are opaque to clients; this one names the account, region and offset. */
  function pageToken(accountId: string, region: string, offset: number): string {
    return Buffer.from(JSON.stringify({ a: accountId, r: region, o: offset })).toString('base64url');
  }

  function readPageToken(token: string, accountId: string, region: string): number | null {
    try {
      const parsed = JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as { a?: unknown; r?: unknown; o?: unknown };
      if (parsed.a !== accountId || parsed.r !== region || typeof parsed.o !== 'number' || !Number.isInteger(parsed.o) || parsed.o < 0) return null;
      return parsed.o;
    } catch {
      return null;
    }
  }

  function eks(req: IncomingMessage, res: ServerResponse, url: URL, caller: Caller, region: string): { action: string; status: number } {
    const mine = account(caller.accountId);
    const clusters = mine.clusters.filter((cluster) => cluster.region === region);
    if (req.method === 'GET' && url.pathname === '/clusters') {
      const action = 'ListClusters';
      const maxText = url.searchParams.get('maxResults');
      const max = maxText === null ? 100 : Number(maxText);
      if (!Number.isInteger(max) || max < 1 || max > 100) {
        jsonError(res, 400, 'InvalidParameterException', 'maxResults must be between 1 and 100');
        return { action, status: 400 };
      }
      const fault = takeFault(action);
      if (fault) return { action, status: jsonFault(res, fault, caller, 'eks:ListClusters', `arn:aws:eks:${region}:${caller.accountId}:cluster/*`) };
      const token = url.searchParams.get('nextToken');
      const offset = token === null ? 0 : readPageToken(token, caller.accountId, region);
      if (offset === null) {
        jsonError(res, 400, 'InvalidParameterException', 'The nextToken provided is not valid.');
        return { action, status: 400 };
      }
      const names = clusters.map((cluster) => cluster.name).sort();
      const page = names.slice(offset, offset + max);
      const next = offset + max < names.length ? pageToken(caller.accountId, region, offset + max) : undefined;
      jsonOk(res, { clusters: page, ...(next === undefined ? {} : { nextToken: next }) });
      return { action, status: 200 };
    }
    const describe = /^\/clusters\/([^/]+)$/.exec(url.pathname);
    if (req.method === 'GET' && describe) {
      const action = 'DescribeCluster';
      const name = decodeURIComponent(describe[1]!);
      const fault = takeFault(action);
      const arn = `arn:aws:eks:${region}:${caller.accountId}:cluster/${name}`;
      if (fault) return { action, status: jsonFault(res, fault, caller, 'eks:DescribeCluster', arn) };
      const cluster = clusters.find((candidate) => candidate.name === name);
      if (!cluster) {
        jsonError(res, 404, 'ResourceNotFoundException', `No cluster found for name: ${name}.`, { clusterName: name });
        return { action, status: 404 };
      }
      const id = Buffer.from(`${caller.accountId}/${region}/${name}`).toString('hex').slice(0, 32).toUpperCase();
      jsonOk(res, {
        cluster: {
          name,
          arn,
          createdAt: 1767225600,
          version: '1.33',
          endpoint: `https://${id}.gr7.${region}.eks.amazonaws.com`,
          roleArn: `arn:aws:iam::${caller.accountId}:role/eks-cluster`,
          ...(cluster.issuer === null ? {} : { identity: { oidc: { issuer: cluster.issuer } } }),
          status: 'ACTIVE',
          platformVersion: 'eks.1',
          tags: {},
        },
      });
      return { action, status: 200 };
    }
    jsonError(res, 404, 'UnknownOperationException', 'Unknown operation');
    return { action: `${req.method} ${url.pathname}`, status: 404 };
  }

  // --- dispatch ---------------------------------------------------------------------

  async function readBody(req: IncomingMessage): Promise<Buffer | null> {
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of req as AsyncIterable<Buffer>) {
      size += chunk.length;
      if (size > MAX_BODY) return null;
      chunks.push(chunk);
    }
    return Buffer.concat(chunks);
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const body = await readBody(req);
    const url = new URL(req.url ?? '/', 'http://double.invalid');
    const isQuery = req.method === 'POST' && url.pathname === '/';
    if (body === null) {
      res.writeHead(413).end();
      log.push({ service: 'unknown', action: '', accountId: null, region: null, status: 413, signature: 'ok' });
      return;
    }
    const verdict = verifySigV4({ method: req.method ?? 'GET', target: req.url ?? '/', headers: req.headers, body }, (id) => keys.get(id), now());
    const params = isQuery ? new URLSearchParams(body.toString('utf8')) : null;
    if (!verdict.ok) {
      const error = SIGNATURE_ERRORS[verdict.failure];
      if (isQuery) queryError(res, IAM_NS, 403, error.query, error.message);
      else jsonError(res, 403, error.json, error.message);
      log.push({ service: 'unknown', action: params?.get('Action') ?? url.pathname, accountId: null, region: null, status: 403, signature: verdict.failure });
      return;
    }
    const credentials = keys.get(verdict.accessKeyId)!;
    const caller: Caller = { accountId: credentials.accountId, arn: credentials.arn };
    let outcome: { action: string; status: number };
    let service: AwsDoubleRequest['service'] = 'unknown';
    if (isQuery && verdict.service === 'iam' && params) {
      service = 'iam';
      outcome = iam(res, params, caller);
    } else if (isQuery && verdict.service === 'sts' && params) {
      service = 'sts';
      outcome = sts(res, params, caller);
    } else if (!isQuery && verdict.service === 'eks') {
      service = 'eks';
      outcome = eks(req, res, url, caller, verdict.region);
    } else {
      const error = SIGNATURE_ERRORS.mismatch;
      if (isQuery) queryError(res, IAM_NS, 403, error.query, `Credential should be scoped to a valid service: ${verdict.service}`);
      else jsonError(res, 403, error.json, `Credential should be scoped to correct service: ${verdict.service}`);
      outcome = { action: params?.get('Action') ?? url.pathname, status: 403 };
    }
    log.push({ service, action: outcome.action, accountId: caller.accountId, region: verdict.region, status: outcome.status, signature: 'ok' });
  }

  const listener = (req: IncomingMessage, res: ServerResponse) => {
    handle(req, res).catch(() => {
      if (!res.headersSent) res.writeHead(500);
      res.end();
    });
  };
  const listening = await listenLoopback(listener, options);
  return {
    url: listening.url,
    setProviders(accountId, providers) {
      account(accountId).providers = [...providers];
    },
    setClusters(accountId, clusters) {
      account(accountId).clusters = [...clusters];
    },
    inject(action, fault, times = 1) {
      const queue = faults.get(action) ?? [];
      queue.push({ fault, times });
      faults.set(action, queue);
    },
    clearInjections() {
      faults.clear();
    },
    requests: () => log.map((entry) => ({ ...entry })),
    close: () => listening.close(),
  };
}
