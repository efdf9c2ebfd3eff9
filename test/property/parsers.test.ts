/**
 * Property-based tests of every parser that reads untrusted or operator-written input:
 * discovery documents, key sets, caching headers, STS answers, durations, the
 * configuration file and web identity tokens. For thousands of generated and mutated
 * inputs each parser must return (never throw), classify every rejection with a reason
 * from its fixed union, keep its free-text details short whatever the input size, and
 * accept the well-formed documents it is given.
 */
import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import fc from 'fast-check';
import { SignJWT, importJWK, type JWK } from 'jose';
import { cacheVerdict, parseCacheControl, parseHttpDate } from '../../src/http/cache-control.js';
import { ConfigError, parseConfig } from '../../src/config/load.js';
import { formatDuration, parseDuration } from '../../src/config/duration.js';
import { parseDiscovery } from '../../src/oidc/discovery.js';
import { parseJwks } from '../../src/oidc/jwks.js';
import { TOKEN_CHECK_REASONS, checkToken } from '../../src/oidc/token.js';
import { FAILURE_REASONS } from '../../src/probes/reasons.js';
import { parseStsResponse } from '../../src/sts/assume-role.js';
import { STS_ERROR_CODES } from '../../src/sts/errors.js';

/** Longest free text a parser may produce, whatever the input. */
const DETAIL_MAX = 1024;
const RUNS = 2000;
const params = (numRuns = RUNS) => ({ numRuns });

const DISCOVERY_REASONS = ['invalid_json', 'invalid_document', 'issuer_mismatch', 'jwks_uri_invalid'];
const JWKS_REASONS = ['invalid_json', 'invalid_document', 'no_usable_keys'];
const STS_CODES: readonly string[] = [...STS_ERROR_CODES, 'other_error', 'throttled', 'invalid_response'];

function bounded(texts: readonly string[], what: string): void {
  for (const text of texts) assert.ok(text.length < DETAIL_MAX, `${what} is ${text.length} characters: ${text.slice(0, 200)}…`);
}

// ---------------------------------------------------------------- generators

/** Insert, delete, overwrite or flip bits at random positions of a byte string. */
function mutated(base: Buffer): fc.Arbitrary<Buffer> {
  const edit = fc.oneof(
    fc.record({ kind: fc.constant('insert' as const), at: fc.nat(), bytes: fc.uint8Array({ minLength: 1, maxLength: 8 }) }),
    fc.record({ kind: fc.constant('delete' as const), at: fc.nat(), length: fc.integer({ min: 1, max: 8 }) }),
    fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), bit: fc.integer({ min: 0, max: 7 }) }),
    fc.record({ kind: fc.constant('put' as const), at: fc.nat(), char: fc.constantFrom(...'{}[]",:\\<>/&;0 \n\u0000'.split('')) }),
  );
  return fc.array(edit, { minLength: 1, maxLength: 6 }).map((edits) => {
    let bytes = Buffer.from(base);
    for (const e of edits) {
      const at = bytes.length === 0 ? 0 : e.at % (bytes.length + 1);
      if (e.kind === 'insert') bytes = Buffer.concat([bytes.subarray(0, at), Buffer.from(e.bytes), bytes.subarray(at)]);
      else if (e.kind === 'delete') bytes = Buffer.concat([bytes.subarray(0, at), bytes.subarray(at + e.length)]);
      else if (e.kind === 'put') bytes = Buffer.concat([bytes.subarray(0, at), Buffer.from(e.char), bytes.subarray(at + 1)]);
      else if (at < bytes.length) bytes[at] = bytes[at]! ^ (1 << e.bit);
    }
    return bytes;
  });
}

/** Bodies of every kind: arbitrary JSON, raw bytes, arbitrary strings, huge strings. */
const anyBody: fc.Arbitrary<Buffer | string> = fc.oneof(
  fc.jsonValue().map((value) => JSON.stringify(value) ?? 'null'),
  fc.uint8Array({ maxLength: 300 }).map((bytes) => Buffer.from(bytes)),
  fc.string({ unit: 'binary', maxLength: 200 }),
  fc.constantFrom('', ' ', '\uFEFF', '\uFEFF{}', 'null', '[]', '<html>', '{"keys":', '{"issuer":1}'),
);

const hostLabel = fc.stringMatching(/^[a-z][a-z0-9-]{0,10}[a-z0-9]$/).filter((label) => !/^..--/.test(label));
const issuerArb = fc
  .tuple(fc.array(hostLabel, { minLength: 1, maxLength: 3 }), fc.constantFrom('com', 'net', 'io'), fc.option(fc.integer({ min: 1, max: 65535 }), { nil: undefined }), fc.array(fc.stringMatching(/^[A-Za-z0-9_.~-]{1,12}$/), { maxLength: 3 }))
  .map(([labels, tld, port, path]) => `https://${labels.join('.')}.${tld}${port === undefined || port === 443 ? '' : `:${port}`}${path.length === 0 ? '' : `/${path.join('/')}`}`)
  .filter((issuer) => !/\/\.{1,2}(\/|$)/.test(issuer));

/** Objects with arbitrary extra members besides the ones under test. */
const extraMembers = fc.dictionary(fc.string({ maxLength: 12 }), fc.jsonValue({ maxDepth: 2 }), { maxKeys: 6 });

// ---------------------------------------------------------------- discovery

describe('parseDiscovery', () => {
  const check = (expected: string, body: Buffer | string) => {
    const result = parseDiscovery(expected, body);
    if (!result.ok) {
      assert.ok(DISCOVERY_REASONS.includes(result.reason), result.reason);
      assert.ok((FAILURE_REASONS as readonly string[]).includes(result.reason));
      bounded([result.detail], 'detail');
    }
    bounded(result.warnings, 'warning');
    return result;
  };

  test('never throws on arbitrary bodies; rejections are classified and bounded', () => {
    fc.assert(fc.property(fc.string({ maxLength: 80 }), anyBody, (expected, body) => void check(expected, body)), params());
  });

  test('a well-formed document with the expected issuer is accepted as written', () => {
    fc.assert(
      fc.property(issuerArb, extraMembers, fc.boolean(), (issuer, extra, withAlgs) => {
        const doc = {
          ...extra,
          issuer,
          jwks_uri: `${issuer}/keys`,
          response_types_supported: ['id_token'],
          subject_types_supported: ['public'],
          ...(withAlgs ? { id_token_signing_alg_values_supported: ['RS256'] } : {}),
        };
        const result = check(issuer, Buffer.from(JSON.stringify(doc)));
        assert.ok(result.ok, result.ok ? '' : `${result.reason}: ${result.detail}`);
        assert.equal(result.document.issuer, issuer);
        assert.equal(result.document.jwksUri, `${issuer}/keys`);
      }),
      params(),
    );
  });

  test('mutated valid documents are accepted or classified, never a throw', () => {
    const issuer = 'https://idp.example.com/tenant';
    const base = Buffer.from(
      JSON.stringify({ issuer, jwks_uri: `${issuer}/keys`, token_endpoint: `${issuer}/token`, id_token_signing_alg_values_supported: ['RS256'], response_types_supported: ['code'], subject_types_supported: ['public'] }),
    );
    fc.assert(fc.property(mutated(base), (body) => void check(issuer, body)), params());
  });

  test('huge hostile values never reach a detail or warning unclipped', () => {
    fc.assert(
      fc.property(fc.integer({ min: 2_000, max: 200_000 }), fc.constantFrom('issuer', 'jwks_uri', 'id_token_signing_alg_values_supported'), (size, member) => {
        const big = 'A'.repeat(size);
        const doc: Record<string, unknown> = { issuer: 'https://idp.example.com', jwks_uri: 'https://idp.example.com/k' };
        doc[member] = member === 'id_token_signing_alg_values_supported' ? [big, big, big] : member === 'jwks_uri' ? `https://x/${big} ` : big;
        check('https://idp.example.com', JSON.stringify(doc));
        check(big, JSON.stringify({ ...doc, issuer: `${big}/` }));
      }),
      params(200),
    );
  });
});

// ---------------------------------------------------------------- JWKS

describe('parseJwks', () => {
  const realKeys: JWK[] = [];
  before(() => {
    for (const [type, options, alg] of [
      ['rsa', { modulusLength: 2048 }, 'RS256'],
      ['rsa', { modulusLength: 3072 }, 'RS384'],
      ['ec', { namedCurve: 'P-256' }, 'ES256'],
      ['ec', { namedCurve: 'P-384' }, 'ES384'],
      ['ec', { namedCurve: 'P-521' }, 'ES512'],
    ] as const) {
      const { publicKey } = generateKeyPairSync(type as 'rsa', options as { modulusLength: number });
      realKeys.push({ ...(publicKey.export({ format: 'jwk' }) as JWK), alg });
    }
  });

  const check = (body: Buffer | string) => {
    const result = parseJwks(body);
    if (!result.ok) {
      assert.ok(JWKS_REASONS.includes(result.reason), result.reason);
      bounded([result.detail], 'detail');
    }
    bounded(result.warnings, 'warning');
    for (const key of result.keys) {
      bounded([key.problem ?? ''], 'problem');
      assert.equal(key.usable, key.problem === null);
    }
    return result;
  };

  test('never throws on arbitrary bodies; rejections are classified and bounded', () => {
    fc.assert(fc.property(anyBody, (body) => void check(body)), params());
  });

  test('arbitrary key entries are summarised, never thrown on', () => {
    const member = fc.oneof(fc.jsonValue({ maxDepth: 1 }), fc.base64String({ maxLength: 40 }).map((s) => s.replace(/=+$/, '')));
    const entry = fc.oneof(
      fc.jsonValue({ maxDepth: 2 }),
      fc.record(
        { kty: fc.oneof(fc.constantFrom('RSA', 'EC', 'oct', 'OKP', ''), fc.jsonValue({ maxDepth: 0 })), kid: member, alg: member, use: member, key_ops: member, n: member, e: member, crv: fc.oneof(fc.constantFrom('P-256', 'P-384', 'P-521', 'Ed25519'), member), x: member, y: member, d: member },
        { requiredKeys: [] },
      ),
    );
    fc.assert(fc.property(fc.array(entry, { maxLength: 8 }), extraMembers, (keys, extra) => void check(JSON.stringify({ ...extra, keys }))), params());
  });

  test('a set built from real RSA and EC keys is usable, with one usable summary per key', () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.integer({ min: 0, max: 4 }), { minLength: 1, maxLength: 5 }),
        fc.array(fc.stringMatching(/^[A-Za-z0-9_-]{1,20}$/), { minLength: 5, maxLength: 5 }),
        fc.boolean(),
        (indexes, kids, withUse) => {
          const keys = indexes.map((index, position) => ({ ...realKeys[index]!, kid: `${kids[position]!}-${position}`, ...(withUse ? { use: 'sig' } : {}) }));
          const result = check(JSON.stringify({ keys }));
          assert.ok(result.ok, result.ok ? '' : `${result.reason}: ${result.detail}`);
          assert.equal(result.usableKeys.length, keys.length);
          assert.deepEqual(result.usableKeys.map((key) => key.kid), keys.map((key) => key.kid));
        },
      ),
      params(500),
    );
  });

  test('mutated real key sets are accepted or classified, never a throw', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 4 }).chain((index) => mutated(Buffer.from(JSON.stringify({ keys: [{ ...realKeys[index]!, kid: 'k1' }] })))), (body) => void check(body)),
      params(),
    );
  });

  test('huge and numerous keys keep details and warnings bounded', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 12_000 }), fc.integer({ min: 0, max: 2_000 }), (count, kidSize) => {
        const kid = 'k'.repeat(kidSize);
        const keys = Array.from({ length: count }, (_, i) => ({ kty: 'oct', kid: `${kid}${i % 7}`, k: 'AAAA' }));
        check(JSON.stringify({ keys }));
      }),
      params(8),
    );
  });
});

// ---------------------------------------------------------------- caching headers

describe('cacheVerdict and parseCacheControl', () => {
  const directive = fc.oneof(
    fc.constantFrom('no-cache', 'no-store', 'max-age=0', 'max-age=3600', 'max-age="60"', 'max-age', 'max-age=-1', 'max-age=99999999999999999999', 'public', 'private', 'no-cache="set-cookie, x"', 's-maxage=0', '"', '=', ',,', ' '),
    fc.string({ maxLength: 20 }),
  );
  const headerValue = fc.oneof(fc.array(directive, { maxLength: 6 }).map((parts) => parts.join(fc.sample(fc.constantFrom(',', ', ', ' ,'), 1)[0]!)), fc.string({ unit: 'binary', maxLength: 100 }));
  const headers = fc.record(
    {
      'cache-control': headerValue,
      pragma: fc.oneof(fc.constant('no-cache'), headerValue),
      expires: fc.oneof(fc.constantFrom('0', 'Thu, 01 Jan 1970 00:00:00 GMT', 'Sun, 06 Nov 1994 08:49:37 GMT', 'Sunday, 06-Nov-94 08:49:37 GMT', 'Sun Nov  6 08:49:37 1994', 'Mon, 31 Feb 2025 00:00:00 GMT'), fc.string({ maxLength: 40 })),
      date: fc.oneof(fc.date({ noInvalidDate: true }).map((d) => d.toUTCString()), fc.string({ maxLength: 40 })),
      age: fc.oneof(fc.nat().map(String), fc.string({ maxLength: 12 })),
    },
    { requiredKeys: [] },
  );

  test('never throws; lifetimes are null or clamped non-negative integers; problems bounded', () => {
    fc.assert(
      fc.property(headers, fc.option(fc.integer({ min: -8.64e15, max: 8.64e15 }), { nil: undefined }), (h, receivedAt) => {
        const verdict = cacheVerdict(h, receivedAt);
        assert.equal(verdict.cacheable, verdict.problems.length === 0);
        for (const value of [verdict.maxAgeSeconds, verdict.ageSeconds]) {
          assert.ok(value === null || (Number.isSafeInteger(value) && value >= 0 && value <= 2 ** 31), String(value));
        }
        bounded(verdict.problems, 'problem');
      }),
      params(),
    );
  });

  test('any no-cache, no-store or max-age=0 directive makes the response uncacheable', () => {
    fc.assert(
      fc.property(fc.array(directive, { maxLength: 4 }), fc.constantFrom('no-cache', 'NO-STORE', 'max-age=0', 'Max-Age="0"'), fc.array(directive, { maxLength: 4 }), (before, trigger, after) => {
        // A directive before the trigger may open a quote that swallows it: only clean prefixes.
        const clean = (parts: string[]) => parts.filter((part) => /^[a-z-]+(=[0-9a-z]+)?$/i.test(part) && !/^max-age/i.test(part));
        const value = [...clean(before), trigger, ...clean(after)].join(', ');
        assert.equal(cacheVerdict({ 'cache-control': value }).cacheable, false, value);
      }),
      params(),
    );
  });

  test('parseCacheControl never throws and yields only token names', () => {
    fc.assert(
      fc.property(fc.oneof(headerValue, fc.string({ unit: 'grapheme', maxLength: 200 })), (value) => {
        for (const name of parseCacheControl(value).keys()) assert.match(name, /^[!#$%&'*+\-.^_`|~0-9a-z]+$/);
      }),
      params(),
    );
  });

  test('parseHttpDate round-trips IMF-fixdate and rejects everything else without throwing', () => {
    fc.assert(
      fc.property(fc.date({ min: new Date(0), max: new Date('9999-12-31T23:59:59Z'), noInvalidDate: true }), fc.string({ maxLength: 40 }), (date, junk) => {
        const whole = Math.floor(date.getTime() / 1000) * 1000;
        assert.equal(parseHttpDate(new Date(whole).toUTCString()), whole);
        const parsed = parseHttpDate(junk);
        assert.ok(parsed === null || Number.isFinite(parsed));
      }),
      params(),
    );
  });
});

// ---------------------------------------------------------------- STS answers

describe('parseStsResponse', () => {
  const status = fc.oneof(fc.constantFrom(200, 400, 403, 429, 500, 503), fc.integer({ min: 100, max: 599 }));
  const check = (code: number, headers: Record<string, string>, body: Buffer | string) => {
    const result = parseStsResponse(code, headers, body);
    if (result.ok) {
      assert.ok(code >= 200 && code <= 299);
      bounded([result.assumedRoleArn], 'arn');
      assert.ok(!JSON.stringify(result).includes('SECRET'), 'credentials never copied');
    } else {
      assert.ok(STS_CODES.includes(result.code), result.code);
      assert.ok(result.message.length <= 513, `message ${result.message.length}`);
      bounded([result.stsCode ?? '', result.type ?? '', result.requestId ?? ''], 'field');
    }
    return result;
  };
  const success = (arn: string, extra = '') =>
    `<AssumeRoleWithWebIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><AssumeRoleWithWebIdentityResult><Credentials><AccessKeyId>ASIASECRET</AccessKeyId><SecretAccessKey>SECRET</SecretAccessKey><SessionToken>SECRET</SessionToken><Expiration>2030-01-01T00:00:00Z</Expiration></Credentials><AssumedRoleUser><Arn>${arn}</Arn><AssumedRoleId>AROA:s</AssumedRoleId></AssumedRoleUser>${extra}</AssumeRoleWithWebIdentityResult><ResponseMetadata><RequestId>r-1</RequestId></ResponseMetadata></AssumeRoleWithWebIdentityResponse>`;
  const error = (code: string, message: string) =>
    `<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error><Type>Sender</Type><Code>${code}</Code><Message>${message}</Message></Error><RequestId>r-2</RequestId></ErrorResponse>`;

  test('never throws on arbitrary bodies and headers; codes are from the fixed union', () => {
    fc.assert(
      fc.property(status, fc.dictionary(fc.constantFrom('x-amzn-requestid', 'content-type', 'x'), fc.string({ maxLength: 300 })), fc.oneof(anyBody, fc.jsonValue().map((v) => `<a>${JSON.stringify(v)}</a>`)), (code, headers, body) => void check(code, headers, body)),
      params(),
    );
  });

  test('mutated success and error documents are understood or invalid_response, never a throw', () => {
    fc.assert(
      fc.property(
        fc.oneof(mutated(Buffer.from(success('arn:aws:sts::111122223333:assumed-role/r/s'))), mutated(Buffer.from(error('IDPCommunicationError', 'Couldn&apos;t retrieve &#x41; &amp; keys'))), mutated(Buffer.from(JSON.stringify({ __type: 'com.amazonaws.sts#Throttling', message: 'Rate exceeded' })))),
        status,
        (body, code) => void check(code, {}, body),
      ),
      params(),
    );
  });

  test('a generated success document is accepted with its ARN; a generated error keeps its code', () => {
    const text = fc.string({ maxLength: 3000 }).map((s) => s.replace(/[<>&\u0000-\u001f\uFFFE\uFFFF\uD800-\uDFFF]/g, 'x'));
    fc.assert(
      fc.property(fc.stringMatching(/^[A-Za-z0-9+=,.@_/-]{1,64}$/), text, fc.constantFrom(...STS_ERROR_CODES, 'SomethingNew'), (role, message, code) => {
        const arn = `arn:aws:sts::111122223333:assumed-role/${role}/session`;
        const ok = check(200, {}, success(arn));
        assert.ok(ok.ok, ok.ok ? '' : ok.message);
        assert.equal(ok.assumedRoleArn, arn);
        assert.equal(ok.credentialsPresent, true);
        const failed = check(400, {}, error(code, message));
        assert.ok(!failed.ok);
        assert.equal(failed.stsCode, code);
        assert.equal(failed.code, (STS_ERROR_CODES as readonly string[]).includes(code) ? code : 'other_error');
      }),
      params(500),
    );
  });

  test('huge and deeply nested bodies stay bounded', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 2000 }), fc.integer({ min: 1_000, max: 300_000 }), (depth, size) => {
        check(400, {}, `${'<a>'.repeat(depth)}${'x'.repeat(size)}${'</a>'.repeat(depth)}`);
        check(400, {}, error('X'.repeat(size), 'M'.repeat(size)));
        check(400, { 'x-amzn-requestid': 'r'.repeat(size) }, `${'['.repeat(depth)}`);
      }),
      params(50),
    );
  });
});

// ---------------------------------------------------------------- durations

describe('parseDuration', () => {
  test('never throws; yields null or a safe non-negative integer', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string({ maxLength: 80 }), fc.stringMatching(/^(\d{1,20}(ms|[ywdhms])){1,8}$/)), (text) => {
        const ms = parseDuration(text);
        assert.ok(ms === null || (Number.isSafeInteger(ms) && ms >= 0), String(ms));
      }),
      params(),
    );
  });

  test('formatDuration and parseDuration round-trip', () => {
    fc.assert(fc.property(fc.integer({ min: 0, max: 10 * 365 * 86_400_000 }), (ms) => assert.equal(parseDuration(formatDuration(ms)), ms)), params());
  });
});

// ---------------------------------------------------------------- configuration

describe('parseConfig', () => {
  const valid = [
    'server:',
    '  listen: "127.0.0.1:9741"',
    'defaults:',
    '  schedule: "*/30 * * * * *"',
    '  timeout: 10s',
    '  budget: 4500ms',
    '  maxBodyBytes: 65536',
    'alertmanager:',
    '  urls: ["http://127.0.0.1:9093"]',
    '  resendInterval: 1m',
    'alerts:',
    '  failuresBeforeFiring: 3',
    '  certExpiryWarning: 14d',
    'idps:',
    '  - name: gh',
    '    issuer: https://token.actions.githubusercontent.com',
    '    tls: { caFile: /ca.pem, thumbprints: ["6938fd4d98bab03faadb97b34396831e3780aea1"] }',
    '    sts:',
    '      - name: canary',
    '        roleArn: arn:aws:iam::111122223333:role/idp-canary',
    '        regions: [us-east-1, eu-west-1]',
    '        token: { file: /var/run/token }',
    '  - name: other',
    '    issuer: http://127.0.0.1:8080/realm',
    '    allowInsecureHttp: true',
    '    schedule: "0 * * * *"',
    '',
  ].join('\n');
  const readFile = async (path: string) => {
    if (path === '/ca.pem') return '-----BEGIN CERTIFICATE-----\nAA==\n-----END CERTIFICATE-----\n';
    throw Object.assign(new Error('nope'), { code: 'ENOENT' });
  };
  /** `YAML syntax: …`, `(top level): …`, a path under a known top-level key, or an unknown key (any text). */
  const PATH_PREFIX = /^(YAML syntax|\(top level\)|(server|defaults|idps|alertmanager|alerts|state)((\[\d+\])|\.[A-Za-z]+)*): \S|: unknown key$/s;

  async function resolvesOrConfigError(text: string, listen?: string): Promise<void> {
    try {
      const config = await parseConfig(text, 'prop.yaml', { readFile, ...(listen === undefined ? {} : { listen }) });
      assert.ok(Object.isFrozen(config));
    } catch (error) {
      assert.ok(error instanceof ConfigError, `${(error as Error)?.constructor?.name}: ${String(error)}\n--- input ---\n${text}`);
      assert.ok(error.errors.length > 0);
      for (const line of error.errors) {
        assert.match(line, PATH_PREFIX, `unprefixed error line: ${line}`);
        assert.ok(line.length < DETAIL_MAX, `error line is ${line.length} characters`);
      }
    }
  }

  test('the base configuration is valid', async () => {
    const config = await parseConfig(valid, 'prop.yaml', { readFile });
    assert.equal(config.idps.length, 2);
  });

  test('mutated YAML text resolves or throws ConfigError with path-prefixed messages', async () => {
    await fc.assert(fc.asyncProperty(mutated(Buffer.from(valid)), async (bytes) => resolvesOrConfigError(bytes.toString('utf8'))), params(1500));
  });

  test('line-level mutations (delete, duplicate, swap, re-indent) never escape as another exception', async () => {
    const lines = valid.split('\n');
    const op = fc.record({ kind: fc.constantFrom('delete', 'duplicate', 'indent', 'dedent', 'replaceValue'), line: fc.nat(lines.length - 1), value: fc.oneof(fc.jsonValue({ maxDepth: 1 }).map((v) => JSON.stringify(v)), fc.constantFrom('~', '[]', '{}', '-1', '1e400', '*a', '&a x', '!!binary x', '"\\u0000"')) });
    await fc.assert(
      fc.asyncProperty(fc.array(op, { minLength: 1, maxLength: 4 }), async (ops) => {
        const out = [...lines];
        for (const o of ops) {
          const at = o.line % Math.max(out.length, 1);
          const line = out[at] ?? '';
          if (o.kind === 'delete') out.splice(at, 1);
          else if (o.kind === 'duplicate') out.splice(at, 0, line);
          else if (o.kind === 'indent') out[at] = `  ${line}`;
          else if (o.kind === 'dedent') out[at] = line.replace(/^ {2}/, '');
          else out[at] = line.includes(':') ? `${line.slice(0, line.indexOf(':') + 1)} ${o.value}` : `${line} ${o.value}`;
        }
        await resolvesOrConfigError(out.join('\n'));
      }),
      params(1500),
    );
  });

  test('alias errors and wrong types are ConfigErrors that say what is wrong', async () => {
    for (const text of ['defaults:\n  schedule: *a\n', `a: &a [x, x, x, x, x, x, x, x, x, x]\n${Array.from({ length: 8 }, (_, i) => `${'bcdefghi'[i]}: &${'bcdefghi'[i]} [${Array(10).fill(`*${'abcdefgh'[i]}`).join(', ')}]`).join('\n')}\n`]) {
      await assert.rejects(parseConfig(text, 'prop.yaml', { readFile }), ConfigError);
    }
    await assert.rejects(parseConfig('idps: 5\n', 'prop.yaml', { readFile }), (error: unknown) => error instanceof ConfigError && !/is required/.test(error.errors.join('\n')));
  });

  test('arbitrary JSON documents (YAML is a superset) never escape as another exception', async () => {
    await fc.assert(
      fc.asyncProperty(fc.oneof(fc.jsonValue(), fc.record({ server: fc.jsonValue(), idps: fc.jsonValue(), defaults: fc.jsonValue(), alerts: fc.jsonValue() }, { requiredKeys: [] })), fc.option(fc.constantFrom('[::1]:1', '0.0.0.0:99999', ':1'), { nil: undefined }), async (value, listen) =>
        resolvesOrConfigError(JSON.stringify(value), listen),
      ),
      params(1000),
    );
  });
});

// ---------------------------------------------------------------- tokens

describe('checkToken', () => {
  let jwks: { keys: JWK[] };
  let sign: (header: Record<string, unknown>, claims: Record<string, unknown>) => Promise<string>;
  const issuer = 'https://idp.example.com';
  before(async () => {
    const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    jwks = { keys: [{ ...(publicKey.export({ format: 'jwk' }) as JWK), kid: 'k1', alg: 'RS256', use: 'sig' }] };
    const key = await importJWK(privateKey.export({ format: 'jwk' }) as JWK, 'RS256');
    sign = (header, claims) => new SignJWT(claims).setProtectedHeader({ alg: 'RS256', ...header } as { alg: string }).sign(key);
  });

  const check = async (token: string, nowMs = Date.now()) => {
    const result = await checkToken(token, { issuer, jwks: JSON.stringify(jwks), nowMs });
    assert.equal(result.ok, result.reason === null);
    if (result.reason !== null) assert.ok((TOKEN_CHECK_REASONS as readonly string[]).includes(result.reason), result.reason);
    bounded([result.detail, ...result.warnings], 'detail');
    if (token.length >= 16) assert.ok(!result.detail.includes(token), 'the token is never echoed');
    return result;
  };

  const b64 = (value: unknown) => Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64url');
  const segment = fc.oneof(fc.jsonValue({ maxDepth: 2 }).map(b64), fc.string({ maxLength: 30 }), fc.base64String({ maxLength: 40 }), fc.constant(''));

  test('random strings and JWT-shaped garbage are classified, never thrown', async () => {
    await fc.assert(
      fc.asyncProperty(fc.oneof(fc.string({ maxLength: 200 }), fc.array(segment, { minLength: 1, maxLength: 5 }).map((parts) => parts.join('.')), fc.tuple(fc.record({ alg: fc.jsonValue({ maxDepth: 0 }), kid: fc.jsonValue({ maxDepth: 0 }), crit: fc.jsonValue({ maxDepth: 1 }) }, { requiredKeys: [] }), fc.jsonValue({ maxDepth: 2 }), fc.string({ maxLength: 20 })).map(([h, p, s]) => `${b64(h)}.${b64(p)}.${b64(s)}`)), async (token) => {
        const result = await check(token);
        assert.equal(result.ok, false);
      }),
      params(1500),
    );
  });

  test('a token signed by the JWKS key with the right claims passes; mutated ones are classified', async () => {
    const now = Math.floor(Date.now() / 1000);
    const good = await sign({ kid: 'k1', typ: 'JWT' }, { iss: issuer, aud: 'sts.amazonaws.com', sub: 'repo:x', iat: now, exp: now + 600 });
    const result = await check(good);
    assert.ok(result.ok, result.detail);
    await fc.assert(fc.asyncProperty(mutated(Buffer.from(good)), async (bytes) => void (await check(bytes.toString('latin1')))), params(1500));
  });

  test('claims of any JSON type are classified', async () => {
    await fc.assert(
      fc.asyncProperty(fc.record({ iss: fc.jsonValue({ maxDepth: 1 }), aud: fc.jsonValue({ maxDepth: 1 }), sub: fc.jsonValue({ maxDepth: 1 }), exp: fc.jsonValue({ maxDepth: 0 }), iat: fc.jsonValue({ maxDepth: 0 }), nbf: fc.jsonValue({ maxDepth: 0 }) }, { requiredKeys: [] }), async (claims) => {
        await check(await sign({ kid: 'k1' }, claims as Record<string, unknown>));
      }),
      params(300),
    );
  });

  test('oversized tokens are token_malformed and never echoed', async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 20_001, max: 200_000 }), async (size) => {
        const result = await check(`${b64({ alg: 'RS256', kid: 'k1' })}.${'A'.repeat(size)}.x`);
        assert.equal(result.reason, 'token_malformed');
      }),
      params(30),
    );
  });
});
