import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { TlsInfo } from '../../src/http/types.js';
import { thumbprintMatchValue, thumbprintVerdict } from '../../src/probes/thumbprint-verdict.js';

const tls = (sha1: string, publiclyTrusted: boolean): TlsInfo => ({ chain: [], earliestNotAfter: 0, topIntermediateSha1: sha1, publiclyTrusted });
const A = 'aa'.repeat(20);
const B = 'bb'.repeat(20);

test('thumbprints count only for chains that do not end at a public root', () => {
  assert.equal(thumbprintVerdict([], [tls(A, false)]), 'not_configured');
  assert.equal(thumbprintVerdict([A], []), 'unknown');
  assert.equal(thumbprintVerdict([B], [tls(A, true), tls(A, true)]), 'not_used', 'public chains: a stale list is irrelevant');
  assert.equal(thumbprintVerdict([B], [tls(A, true), tls(B, false)]), 'match', 'the public host is not held to the list');
  assert.equal(thumbprintVerdict([B], [tls(B, true), tls(A, false)]), 'mismatch');
  assert.equal(thumbprintVerdict([A, B], [tls(A, false), tls(B, false)]), 'match');
});

test('the exported value: 1 match, 0 mismatch, absent otherwise', () => {
  assert.equal(thumbprintMatchValue('match'), true);
  assert.equal(thumbprintMatchValue('mismatch'), false);
  for (const verdict of ['not_configured', 'unknown', 'not_used'] as const) assert.equal(thumbprintMatchValue(verdict), null);
});
