import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { ConfigError, formatPath, loadConfig, parseConfig } from '../../src/config/load.js';

async function errorsOf(yaml: string, readFile?: (path: string) => Promise<string>): Promise<readonly string[]> {
  try {
    await parseConfig(yaml, 'test.yaml', readFile ? { readFile } : {});
  } catch (error) {
    assert.ok(error instanceof ConfigError, String(error));
    return error.errors;
  }
  assert.fail('expected the configuration to be rejected');
}

const idp = (extra = '') => `idps:\n  - name: gh\n    issuer: https://token.actions.githubusercontent.com\n${extra}`;
const sts = (fields: string) =>
  idp(`    sts:\n      - name: canary\n        roleArn: arn:aws:iam::111122223333:role/idp-canary\n        regions: [us-east-1]\n${fields}`);

describe('configuration loading', () => {
  test('an empty file gets every default', async () => {
    const config = await parseConfig('', 'empty.yaml');
    assert.deepEqual(config.server, { host: '0.0.0.0', port: 9741 });
    assert.deepEqual(config.idps, []);
    assert.equal(config.alerts.failuresBeforeFiring, 3);
    assert.equal(config.alerts.certExpiryWarning, 14 * 86_400_000);
    assert.equal(config.state.file, '');
  });

  test('IdPs inherit the defaults and may override them', async () => {
    const config = await parseConfig(
      `defaults:\n  timeout: 8s\n  budget: 4500ms\n${idp('    schedule: "0 * * * * *"\n    maxBodyBytes: 4096\n')}`,
      'x.yaml',
    );
    const [target] = config.idps;
    assert.ok(target);
    assert.equal(target.discoveryUrl, 'https://token.actions.githubusercontent.com/.well-known/openid-configuration');
    assert.equal(target.timeoutMs, 8000);
    assert.equal(target.budgetMs, 4500);
    assert.equal(target.schedule, '0 * * * * *');
    assert.equal(target.maxBodyBytes, 4096);
  });

  test('the loaded configuration is frozen', async () => {
    const config = await parseConfig(idp(), 'x.yaml');
    assert.throws(() => {
      (config.idps as unknown as unknown[]).push({});
    }, TypeError);
    assert.throws(() => {
      (config.idps[0] as { issuer: string }).issuer = 'https://evil.example';
    }, TypeError);
  });

  test('--listen overrides server.listen', async () => {
    const config = await parseConfig('server:\n  listen: "0.0.0.0:1"\n', 'x.yaml', { listen: '[::1]:9999' });
    assert.deepEqual(config.server, { host: '::1', port: 9999 });
  });

  test('thumbprints are normalised to lower case and the CA file is read', async () => {
    const config = await parseConfig(
      idp(`    tls:\n      caFile: /ca.pem\n      thumbprints: ["6938FD4D98BAB03FAADB97B34396831E3780AEA1"]\n`),
      'x.yaml',
      { readFile: async () => '-----BEGIN CERTIFICATE-----\nx\n-----END CERTIFICATE-----\n' },
    );
    assert.deepEqual(config.idps[0]?.thumbprints, ['6938fd4d98bab03faadb97b34396831e3780aea1']);
    assert.match(config.idps[0]?.ca ?? '', /BEGIN CERTIFICATE/);
  });

  const invalid: [string, string, string[]][] = [
    ['unknown top-level key', 'sever:\n  listen: "x"\n', ['sever: unknown key']],
    ['unknown nested key', idp('    tmeout: 5s\n'), ['idps[0].tmeout: unknown key']],
    ['bad duration', 'defaults:\n  timeout: 5 seconds\n', ['defaults.timeout: must be a duration like 10s (units ms, s, m, h, d, w, y)']],
    ['bad schedule', 'defaults:\n  schedule: "every minute"\n', ['defaults.schedule: must be a node-cron expression with 5 or 6 fields (seconds first), e.g. "*/30 * * * * *"']],
    ['bad listen', 'server:\n  listen: "9741"\n', ['server.listen: must be HOST:PORT, e.g. 0.0.0.0:9741']],
    ['missing issuer', 'idps:\n  - name: gh\n', ['idps[0].issuer: is required']],
    ['issuer with a query', 'idps:\n  - name: gh\n    issuer: https://x.example/?a=1\n', ['idps[0].issuer: must be an absolute https URL with no query or fragment (the token `iss`)']],
    ['bad name', 'idps:\n  - name: GitHub Actions\n    issuer: https://x.example\n', ['idps[0].name: must match [a-z0-9_-]{1,63}']],
    [
      'duplicate names',
      'idps:\n  - name: a\n    issuer: https://x.example\n  - name: a\n    issuer: https://y.example\n',
      ['idps[1].name: duplicate IdP name "a"'],
    ],
    ['bad thumbprint', idp('    tls:\n      thumbprints: ["abc"]\n'), ['idps[0].tls.thumbprints[0]: must be 40 hex characters (SHA-1 of the top intermediate CA)']],
    [
      'bad role ARN',
      idp('    sts:\n      - name: canary\n        roleArn: arn:aws:iam::1:role/x\n        regions: [us-east-1]\n        token: { env: TOKEN }\n'),
      ['idps[0].sts[0].roleArn: must be an IAM role ARN like arn:aws:iam::111122223333:role/idp-canary'],
    ],
    ['two token sources', sts('        token: { env: TOKEN, file: /t }\n'), ['idps[0].sts[0].token: needs exactly one of file, env, clientCredentials']],
    ['duration too short', sts('        durationSeconds: 60\n        token: { env: TOKEN }\n'), ['idps[0].sts[0].durationSeconds: Too small: expected number to be >=900']],
    ['bad region', idp('    sts:\n      - name: c\n        roleArn: arn:aws:iam::111122223333:role/x\n        regions: [Virginia]\n        token: { env: T }\n'), ['idps[0].sts[0].regions[0]: must be a region name like us-east-1']],
    ['unknown region, with the near names', idp('    sts:\n      - name: c\n        roleArn: arn:aws:iam::111122223333:role/x\n        regions: [us-east-1, eu-wast-1]\n        token: { env: T }\n'), ['idps[0].sts[0].regions[1]: unknown region "eu-wast-1" (it matches the aws naming pattern: if it is newer than this release, set endpoint); did you mean eu-west-1, eu-west-2, eu-west-3, ap-east-1, ca-west-1?']],
    ['role ARN in another partition than the region', idp('    sts:\n      - name: c\n        roleArn: arn:aws-us-gov:iam::111122223333:role/x\n        regions: [us-gov-west-1, us-east-1]\n        token: { env: T }\n'), ['idps[0].sts[0].regions[1]: role ARN is in partition aws-us-gov but region us-east-1 is in partition aws; STS in us-east-1 cannot assume it']],
    ['bad ratio', 'alerts:\n  budgetWarningRatio: 1.5\n', ['alerts.budgetWarningRatio: Too big: expected number to be <1']],
    ['request histograms not a boolean', 'metrics:\n  requestHistograms: "yes"\n', ['metrics.requestHistograms: must be a boolean (got a string)']],
    ['unknown metrics key', 'metrics:\n  requestHistogram: true\n', ['metrics.requestHistogram: unknown key']],
    ['YAML syntax', 'idps: [\n', ['YAML syntax: Flow sequence in block collection must be sufficiently indented and end with a ] at line 2, column 1']],
  ];
  for (const [name, yaml, expected] of invalid) {
    test(`rejects: ${name}`, async () => {
      assert.deepEqual(await errorsOf(yaml), expected);
    });
  }

  test('regions: every partition validates, a two-digit region passes with an endpoint override', async () => {
    const probe = (arn: string, regions: string, extra = '') =>
      idp(`    sts:\n      - name: c\n        roleArn: ${arn}\n        regions: [${regions}]\n${extra}        token: { env: T }\n`);
    const config = await parseConfig(probe('arn:aws:iam::111122223333:role/x', 'us-east-1, ap-southeast-7, me-central-1'), 'test.yaml');
    assert.deepEqual(config.idps[0]?.sts[0]?.regions, ['us-east-1', 'ap-southeast-7', 'me-central-1']);
    assert.equal(config.idps[0]?.sts[0]?.retry, 'sdk-js-v3', 'the default retry profile');
    await parseConfig(probe('arn:aws-eusc:iam::111122223333:role/x', 'eusc-de-east-1'), 'test.yaml');
    await parseConfig(probe('arn:aws-iso-b:iam::111122223333:role/x', 'us-isob-east-1'), 'test.yaml');
    await parseConfig(probe('arn:aws:iam::111122223333:role/x', 'ap-southeast-10', '        endpoint: https://sts.{region}.amazonaws.com\n'), 'test.yaml');
    assert.deepEqual(await errorsOf(probe('arn:aws:iam::111122223333:role/x', 'ap-southeast-10')), [
      'idps[0].sts[0].regions[0]: unknown region "ap-southeast-10" (it matches the aws naming pattern: if it is newer than this release, set endpoint); did you mean ap-southeast-1, ap-southeast-2, ap-southeast-3, ap-southeast-4, ap-southeast-5?',
    ]);
    assert.deepEqual(await errorsOf(probe('arn:aws:iam::111122223333:role/x', 'us-east-1', '        retry: sdk-python\n')), [
      'idps[0].sts[0].retry: Invalid option: expected one of "sdk-js-v3"|"botocore-standard"|"sdk-go-v2"|"none"',
    ]);
  });

  test('an http tokenUrl is a config error unless the IdP allows insecure HTTP', async () => {
    const idp = (extra: string) =>
      [
        'idps:',
        '  - name: a',
        '    issuer: https://idp.example.com',
        ...(extra === '' ? [] : [`    ${extra}`]),
        '    sts:',
        '      - { name: p, roleArn: "arn:aws:iam::111122223333:role/r", regions: [us-east-1],',
        '          token: { clientCredentials: { tokenUrl: "http://idp.example.com/token", clientId: c, clientSecretFile: /s } } }',
      ].join('\n');
    const errors = await errorsOf(idp(''));
    assert.equal(errors.length, 1);
    assert.match(errors[0] ?? '', /^idps\[0\]\.sts\[0\]\.token\.clientCredentials\.tokenUrl: http:\/\/idp\.example\.com\/token is plain HTTP/);
    assert.equal((await parseConfig(idp('allowInsecureHttp: true'), 'ok.yaml')).idps[0]?.allowInsecureHttp, true);
    const config = await parseConfig(`defaults: { allowInsecureHttp: true }\n${idp('')}`, 'x.yaml');
    assert.equal(config.idps[0]?.allowInsecureHttp, true);
    assert.equal((await parseConfig('idps: [{ name: b, issuer: "https://b.example.com" }]', 'y.yaml')).idps[0]?.allowInsecureHttp, false);
  });

  test('maxBodyBytes above 4 MiB is a config error naming the key', async () => {
    const errors = await errorsOf('defaults: { maxBodyBytes: 16777216 }');
    assert.equal(errors.length, 1);
    assert.match(errors[0] ?? '', /^defaults\.maxBodyBytes: must be at most 4194304/);
    const perIdp = await errorsOf('idps: [{ name: a, issuer: "https://a.example.com", maxBodyBytes: 4194305 }]');
    assert.match(perIdp[0] ?? '', /^idps\[0\]\.maxBodyBytes: must be at most 4194304/);
    assert.equal((await parseConfig('defaults: { maxBodyBytes: 4194304 }', 'ok.yaml')).idps.length, 0);
  });

  test('userinfo in an issuer, discoveryUrl or tokenUrl is a config error that does not echo the password', async () => {
    for (const [key, yaml] of [
      ['idps[0].issuer', 'idps: [{ name: a, issuer: "https://u:Hunter2-pw@a.example.com" }]'],
      ['idps[0].discoveryUrl', 'idps: [{ name: a, issuer: "https://a.example.com", discoveryUrl: "https://u:Hunter2-pw@a.example.com/.well-known/openid-configuration" }]'],
      [
        'idps[0].sts[0].token.clientCredentials.tokenUrl',
        'idps: [{ name: a, issuer: "https://a.example.com", sts: [{ name: p, roleArn: "arn:aws:iam::111122223333:role/r", regions: [us-east-1], token: { clientCredentials: { tokenUrl: "https://u:Hunter2-pw@a.example.com/t", clientId: c, clientSecretFile: /s } } }] }]',
      ],
    ] as const) {
      const errors = await errorsOf(yaml);
      assert.equal(errors.length, 1, key);
      assert.ok(errors[0]?.startsWith(`${key}: must not contain user:password@`), errors[0]);
      assert.ok(!errors.join('\n').includes('Hunter2'), errors[0]);
    }
  });

  test('every error is reported at once', async () => {
    const errors = await errorsOf('defaults:\n  timeout: soon\nidps:\n  - name: A\n    issuer: ftp://x\n    extra: 1\n');
    assert.deepEqual([...errors].sort(), [
      'defaults.timeout: must be a duration like 10s (units ms, s, m, h, d, w, y)',
      'idps[0].extra: unknown key',
      'idps[0].issuer: must be an absolute https URL with no query or fragment (the token `iss`)',
      'idps[0].name: must match [a-z0-9_-]{1,63}',
    ]);
  });

  test('an unreadable CA file names its key', async () => {
    const errors = await errorsOf(idp('    tls:\n      caFile: /nope.pem\n'), async () => {
      throw Object.assign(new Error('no such file'), { code: 'ENOENT' });
    });
    assert.deepEqual(errors, ['idps[0].tls.caFile: cannot read /nope.pem (ENOENT)']);
  });

  test('a missing configuration file is a ConfigError naming the file', async () => {
    await assert.rejects(loadConfig('/nonexistent/idp-canary.yaml'), (error: unknown) => {
      assert.ok(error instanceof ConfigError);
      assert.deepEqual(error.errors, ['cannot read the configuration file (ENOENT)']);
      assert.match(error.message, /\/nonexistent\/idp-canary.yaml/);
      return true;
    });
  });

  test('the shipped default configuration is valid', async () => {
    const config = await loadConfig('config/default.yaml');
    assert.deepEqual(config.idps.map((target) => target.name), ['github-actions', 'gitlab-com', 'google']);
  });

  test('the published JSON Schema is current', async () => {
    const { configJsonSchema } = await import('../../src/config/schema.js');
    const published = JSON.parse(await readFile('config/idp-canary.schema.json', 'utf8'));
    assert.deepEqual(published, configJsonSchema(), 'run `npm run schema` to regenerate it');
  });

  test('paths format like idps[1].sts[0].roleArn', () => {
    assert.equal(formatPath(['idps', 1, 'sts', 0, 'roleArn']), 'idps[1].sts[0].roleArn');
    assert.equal(formatPath([]), '(top level)');
  });
});

describe('configuration loading: YAML aliases and wrong types', () => {
  test('an unknown alias and an alias bomb are YAML errors, not crashes', async () => {
    assert.deepEqual(await errorsOf('defaults:\n  schedule: *a\n'), ['YAML syntax: Unresolved alias (the anchor must be set before the alias): a']);
    const bomb = `a: &a [x, x, x, x, x, x, x, x, x, x]\n${Array.from({ length: 8 }, (_, i) => `${'bcdefghi'[i]}: &${'bcdefghi'[i]} [${Array(10).fill(`*${'abcdefgh'[i]}`).join(', ')}]`).join('\n')}\n`;
    const [error] = await errorsOf(bomb);
    assert.match(error ?? '', /^YAML syntax: Excessive alias count/);
  });

  test('a value of the wrong type says what was expected, without echoing it', async () => {
    assert.deepEqual(await errorsOf('idps: 5\n'), ['idps: must be an array (got a number)']);
    assert.deepEqual(await errorsOf('server:\n  listen: 9741\n'), ['server.listen: must be a string (got a number)']);
    assert.deepEqual(await errorsOf('alerts: [1]\n'), ['alerts: must be an object (got a list)']);
  });
});
