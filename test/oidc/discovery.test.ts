import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { parseDiscovery } from '../../src/oidc/discovery.js';
import { decodeJsonBody } from '../../src/oidc/json-body.js';

const GITHUB_ISSUER = 'https://token.actions.githubusercontent.com';

/** Shaped like GitHub Actions' document (no token_endpoint: GitHub publishes none). */
const GITHUB_DISCOVERY = `{
  "issuer": "https://token.actions.githubusercontent.com",
  "jwks_uri": "https://token.actions.githubusercontent.com/.well-known/jwks",
  "subject_types_supported": ["public", "pairwise"],
  "response_types_supported": ["id_token"],
  "claims_supported": ["sub", "aud", "exp", "iat", "iss", "jti", "nbf", "ref", "sha", "repository",
    "repository_owner", "run_id", "actor", "workflow", "job_workflow_ref", "environment"],
  "id_token_signing_alg_values_supported": ["RS256"],
  "scopes_supported": ["openid"]
}`;

/** A complete, valid document for `issuer`, with overrides (undefined deletes a field). */
function doc(issuer: string, overrides: Record<string, unknown> = {}): string {
  const base: Record<string, unknown> = {
    issuer,
    jwks_uri: `${issuer}/.well-known/jwks.json`,
    token_endpoint: `${issuer}/token`,
    response_types_supported: ['code', 'id_token'],
    subject_types_supported: ['public'],
    id_token_signing_alg_values_supported: ['RS256', 'ES256'],
  };
  for (const [key, value] of Object.entries(overrides)) {
    if (value === undefined) delete base[key];
    else base[key] = value;
  }
  return JSON.stringify(base);
}

const ISSUER = 'https://idp.example.com';

describe('parseDiscovery: accepted documents', () => {
  it('accepts the GitHub Actions document without warnings', () => {
    const result = parseDiscovery(GITHUB_ISSUER, Buffer.from(GITHUB_DISCOVERY));
    assert.deepEqual(result, {
      ok: true,
      document: {
        issuer: GITHUB_ISSUER,
        jwksUri: 'https://token.actions.githubusercontent.com/.well-known/jwks',
        idTokenSigningAlgs: ['RS256'],
      },
      issuerMatch: true,
      warnings: [],
    });
  });

  it('returns the token endpoint when it is a valid URL, and takes a string body', () => {
    const result = parseDiscovery(ISSUER, doc(ISSUER));
    assert.equal(result.ok, true);
    assert.ok(result.ok);
    assert.equal(result.document.tokenEndpoint, `${ISSUER}/token`);
    assert.deepEqual(result.document.idTokenSigningAlgs, ['RS256', 'ES256']);
  });

  it('leaves out a token_endpoint that is not a URL or not a string', () => {
    for (const tokenEndpoint of ['not a url', '/token', 42]) {
      const result = parseDiscovery(ISSUER, doc(ISSUER, { token_endpoint: tokenEndpoint }));
      assert.ok(result.ok);
      assert.equal('tokenEndpoint' in result.document, false);
    }
  });

  it('keeps jwks_uri exactly as written (query and port included)', () => {
    const jwksUri = 'https://IDP.example.com:8443/keys?v=2';
    const result = parseDiscovery(ISSUER, doc(ISSUER, { jwks_uri: jwksUri }));
    assert.ok(result.ok);
    assert.equal(result.document.jwksUri, jwksUri);
  });

  it('tolerates a UTF-8 BOM with a warning', () => {
    const body = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(doc(ISSUER))]);
    const result = parseDiscovery(ISSUER, body);
    assert.equal(result.ok, true);
    assert.equal(result.warnings.length, 1);
    assert.match(result.warnings[0] ?? '', /byte order mark/);
    assert.equal(parseDiscovery(ISSUER, `\uFEFF${doc(ISSUER)}`).ok, true);
  });

  it('allows an http jwks_uri only with allowInsecureHttp', () => {
    const labIssuer = 'http://127.0.0.1:8080';
    assert.equal(parseDiscovery(labIssuer, doc(labIssuer), { allowInsecureHttp: true }).ok, true);
    const lab = parseDiscovery(labIssuer, doc(labIssuer));
    assert.equal(!lab.ok && lab.reason, 'jwks_uri_invalid', 'an http issuer alone does not make http acceptable');
    assert.match(!lab.ok ? lab.detail : '', /is not https \(IAM and STS require https; allowInsecureHttp: true accepts http in a lab\)/);
    assert.equal(parseDiscovery(ISSUER, doc(ISSUER, { jwks_uri: 'http://idp.example.com/keys' }), { allowInsecureHttp: true }).ok, true);
    const result = parseDiscovery(ISSUER, doc(ISSUER, { jwks_uri: 'http://idp.example.com/keys' }));
    assert.equal(result.ok, false);
    assert.ok(!result.ok);
    assert.equal(result.reason, 'jwks_uri_invalid');
  });

  it('does not let __proto__ or constructor keys leak into the result', () => {
    const body = `{"__proto__":{"polluted":true},"constructor":{"x":1},${doc(ISSUER).slice(1)}`;
    const result = parseDiscovery(ISSUER, body);
    assert.ok(result.ok);
    assert.deepEqual(Object.keys(result.document).sort(), ['idTokenSigningAlgs', 'issuer', 'jwksUri', 'tokenEndpoint']);
    assert.equal(({} as Record<string, unknown>)['polluted'], undefined);
    assert.equal(Object.getPrototypeOf(result.document), Object.prototype);
  });
});

describe('parseDiscovery: warnings', () => {
  it('warns when id_token_signing_alg_values_supported is missing', () => {
    const result = parseDiscovery(ISSUER, doc(ISSUER, { id_token_signing_alg_values_supported: undefined }));
    assert.ok(result.ok);
    assert.equal(result.document.idTokenSigningAlgs, undefined);
    assert.deepEqual(result.warnings.length, 1);
    assert.match(result.warnings[0] ?? '', /id_token_signing_alg_values_supported is missing/);
  });

  it('warns when it is not an array', () => {
    const result = parseDiscovery(ISSUER, doc(ISSUER, { id_token_signing_alg_values_supported: 'RS256' }));
    assert.ok(result.ok);
    assert.match(result.warnings.join('\n'), /not an array/);
  });

  it('warns when no advertised algorithm is one STS accepts, keeping string entries only', () => {
    const result = parseDiscovery(ISSUER, doc(ISSUER, { id_token_signing_alg_values_supported: ['PS256', 'EdDSA', 7] }));
    assert.ok(result.ok);
    assert.deepEqual(result.document.idTokenSigningAlgs, ['PS256', 'EdDSA']);
    assert.equal(result.warnings.length, 1);
    assert.match(result.warnings[0] ?? '', /\("PS256, EdDSA"\) has none of RS256/);
  });

  it('does not warn when one accepted algorithm is among others', () => {
    const result = parseDiscovery(ISSUER, doc(ISSUER, { id_token_signing_alg_values_supported: ['PS256', 'ES512'] }));
    assert.deepEqual(result.warnings, []);
  });

  it('warns once about missing required OIDC fields', () => {
    const result = parseDiscovery(
      ISSUER,
      doc(ISSUER, { response_types_supported: undefined, subject_types_supported: undefined }),
    );
    assert.ok(result.ok);
    assert.deepEqual(result.warnings, [
      'response_types_supported and subject_types_supported missing or not an array (required by OpenID Connect Discovery 1.0)',
    ]);
    const one = parseDiscovery(ISSUER, doc(ISSUER, { subject_types_supported: 'public' }));
    assert.deepEqual(one.warnings, [
      'subject_types_supported missing or not an array (required by OpenID Connect Discovery 1.0)',
    ]);
  });

  it('warns when jwks_uri is on another host (Google-shaped), mentioning thumbprints', () => {
    const google = 'https://accounts.google.com';
    const result = parseDiscovery(google, doc(google, { jwks_uri: 'https://www.googleapis.com/oauth2/v3/certs' }));
    assert.ok(result.ok);
    assert.equal(result.warnings.length, 1);
    assert.match(result.warnings[0] ?? '', /"www\.googleapis\.com".*"accounts\.google\.com".*thumbprints/);
  });

  it('treats another port as another host', () => {
    const result = parseDiscovery(ISSUER, doc(ISSUER, { jwks_uri: 'https://idp.example.com:8443/keys' }));
    assert.equal(result.warnings.length, 1);
  });
});

describe('parseDiscovery: failures', () => {
  it('fails with invalid_json on non-JSON, HTML, empty and truncated bodies', () => {
    for (const body of ['', '   ', 'not json', '<html><body>Bad gateway</body></html>', '{"issuer":']) {
      const result = parseDiscovery(ISSUER, body);
      assert.equal(result.ok, false, body);
      assert.ok(!result.ok);
      assert.equal(result.reason, 'invalid_json', body);
      assert.equal(result.issuerMatch, null);
    }
    const html = parseDiscovery(ISSUER, '<html>');
    assert.ok(!html.ok);
    assert.match(html.detail, /looks like HTML/);
  });

  it('fails with invalid_json on invalid UTF-8', () => {
    const result = parseDiscovery(ISSUER, Buffer.from([0x7b, 0x22, 0xff, 0x22, 0x7d]));
    assert.ok(!result.ok);
    assert.equal(result.reason, 'invalid_json');
    assert.equal(result.detail, 'body is not valid UTF-8');
  });

  it('never echoes a large body in the detail', () => {
    const result = parseDiscovery(ISSUER, `x${'A'.repeat(100_000)}`);
    assert.ok(!result.ok);
    assert.ok(result.detail.length < 200, `detail is ${result.detail.length} chars`);
  });

  it('fails with invalid_document when the JSON is not an object', () => {
    for (const body of ['[]', 'null', '"https://idp.example.com"', '42', 'true']) {
      const result = parseDiscovery(ISSUER, body);
      assert.ok(!result.ok);
      assert.equal(result.reason, 'invalid_document', body);
      assert.equal(result.issuerMatch, null);
    }
  });

  it('fails with invalid_document when issuer is missing or not a string', () => {
    const missing = parseDiscovery(ISSUER, doc(ISSUER, { issuer: undefined }));
    assert.deepEqual(
      { ...missing, warnings: [] },
      { ok: false, reason: 'invalid_document', detail: 'issuer is missing', issuerMatch: null, warnings: [] },
    );
    const numeric = parseDiscovery(ISSUER, doc(ISSUER, { issuer: 1 }));
    assert.ok(!numeric.ok);
    assert.equal(numeric.reason, 'invalid_document');
    assert.equal(numeric.detail, 'issuer is a number, not a string');
    assert.equal(numeric.issuerMatch, null);
  });

  it('fails with issuer_mismatch on a trailing slash, naming it', () => {
    const result = parseDiscovery(ISSUER, doc(`${ISSUER}/`));
    assert.ok(!result.ok);
    assert.equal(result.reason, 'issuer_mismatch');
    assert.equal(result.issuerMatch, false);
    assert.equal(
      result.detail,
      'issuer "https://idp.example.com/" does not equal expected "https://idp.example.com" (differs only by a trailing slash)',
    );
  });

  it('fails with issuer_mismatch on a case difference, naming it', () => {
    const result = parseDiscovery(ISSUER, doc('https://IDP.example.com'));
    assert.ok(!result.ok);
    assert.equal(result.reason, 'issuer_mismatch');
    assert.match(result.detail, /differs only by letter case/);
  });

  it('fails with issuer_mismatch on a different issuer, truncating both values', () => {
    const long = `https://evil.example.com/${'a'.repeat(1000)}`;
    const result = parseDiscovery(ISSUER, doc(long));
    assert.ok(!result.ok);
    assert.equal(result.reason, 'issuer_mismatch');
    assert.ok(result.detail.length < 300);
    assert.ok(result.detail.includes('"https://idp.example.com"'));
  });

  it('escapes control characters echoed from the document', () => {
    const result = parseDiscovery(ISSUER, doc('https://idp.example.com\nX-Injected: 1'));
    assert.ok(!result.ok);
    assert.equal(result.detail.includes('\n'), false);
    assert.ok(result.detail.includes('\\n'));
  });

  it('fails with jwks_uri_invalid (issuerMatch true) on each bad jwks_uri', () => {
    const cases: Array<[unknown, RegExp]> = [
      [undefined, /jwks_uri is missing/],
      [null, /jwks_uri is null, not a string/],
      [['https://idp.example.com/keys'], /jwks_uri is an array/],
      ['/.well-known/jwks.json', /not an absolute URL/],
      ['', /not an absolute URL/],
      ['ftp://idp.example.com/keys', /not https/],
      ['http://idp.example.com/keys', /not https/],
      ['file:///etc/passwd', /not https/],
      ['https://idp.example.com/keys#main', /has a fragment/],
      ['https://idp.example.com/keys#', /has a fragment/],
      [' https://idp.example.com/keys', /whitespace or control/],
      ['https://idp.example.com/keys\t', /whitespace or control/],
      ['https://idp.example.com:99999/keys', /not an absolute URL/],
    ];
    for (const [jwksUri, detail] of cases) {
      const result = parseDiscovery(ISSUER, doc(ISSUER, { jwks_uri: jwksUri }));
      assert.ok(!result.ok, String(jwksUri));
      assert.equal(result.reason, 'jwks_uri_invalid', String(jwksUri));
      assert.equal(result.issuerMatch, true);
      assert.match(result.detail, detail, String(jwksUri));
    }
  });

  it('still reports document warnings alongside a jwks_uri failure', () => {
    const result = parseDiscovery(
      ISSUER,
      doc(ISSUER, { jwks_uri: undefined, id_token_signing_alg_values_supported: undefined }),
    );
    assert.ok(!result.ok);
    assert.equal(result.reason, 'jwks_uri_invalid');
    assert.equal(result.warnings.length, 1);
  });

  it('does not throw on deeply nested or odd JSON', () => {
    const deep = `${'['.repeat(100_000)}${']'.repeat(100_000)}`;
    assert.doesNotThrow(() => parseDiscovery(ISSUER, deep));
    assert.doesNotThrow(() => parseDiscovery(ISSUER, Buffer.alloc(0)));
    assert.doesNotThrow(() => parseDiscovery('not a url', doc('not a url')));
  });
});

describe('decodeJsonBody', () => {
  it('parses a Buffer and a string alike', () => {
    assert.deepEqual(decodeJsonBody(Buffer.from('{"a":[1]}')), { ok: true, value: { a: [1] }, warnings: [], duplicates: [] });
    assert.deepEqual(decodeJsonBody('{"a":[1]}'), { ok: true, value: { a: [1] }, warnings: [], duplicates: [] });
  });

  it('decodes multi-byte UTF-8', () => {
    const result = decodeJsonBody(Buffer.from('{"name":"Zürich ✓"}', 'utf8'));
    assert.ok(result.ok);
    assert.deepEqual(result.value, { name: 'Zürich ✓' });
  });

  it('rejects a UTF-16 body', () => {
    const result = decodeJsonBody(Buffer.from('\uFEFF{"a":1}', 'utf16le'));
    assert.equal(result.ok, false);
  });
});

describe('userinfo in served URLs', () => {
  const ISSUER = 'https://idp.example.com';
  const doc = (fields: Record<string, unknown>) =>
    JSON.stringify({ issuer: ISSUER, jwks_uri: `${ISSUER}/jwks`, response_types_supported: ['id_token'], subject_types_supported: ['public'], ...fields });

  it('a jwks_uri with user:password@ is jwks_uri_invalid and the password is not echoed', () => {
    const result = parseDiscovery(ISSUER, doc({ jwks_uri: 'https://admin:Hunter2-pw@idp.example.com/jwks' }));
    assert.equal(result.ok, false);
    assert.equal(!result.ok && result.reason, 'jwks_uri_invalid');
    assert.match(!result.ok ? result.detail : '', /userinfo/);
    assert.ok(!JSON.stringify(result).includes('Hunter2'));
  });
  it('a token_endpoint with userinfo is not used; a served issuer with userinfo is a mismatch that hides it', () => {
    const result = parseDiscovery(ISSUER, doc({ token_endpoint: 'https://u:Hunter2-pw@idp.example.com/token' }));
    assert.equal(result.ok && result.document.tokenEndpoint, undefined);
    const issuer = parseDiscovery(ISSUER, doc({ issuer: 'https://u:Hunter2-pw@idp.example.com' }));
    assert.equal(!issuer.ok && issuer.reason, 'issuer_mismatch');
    assert.ok(!JSON.stringify(issuer).includes('Hunter2'));
  });
});

