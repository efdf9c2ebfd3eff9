/**
 * `idp-canary check` honours HTTPS_PROXY / NO_PROXY from its environment, as the daemon
 * does: a pass through a real CONNECT proxy to a fixture IdP only the proxy can resolve, a
 * refusing proxy reported as the failure it is, and a malformed proxy variable a usage
 * error (exit 2) naming the variable, for `check` and `run`, in the real CLI process too.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { checkCommand } from '../../src/cli/check.js';
import type { Report } from '../../src/report/report.js';
import type { FixtureIdp } from '../../src/lab/idp-server.js';
import { runCli } from '../fixtures/cli.js';
import type { TempDir } from '../fixtures/temp.js';
import { startConnectProxy, type ConnectProxy } from '../fixtures/connect-proxy.js';
import { PROXY_ONLY_NAME as NAME, startProxyOnlyIdp, type ProxyOnlyIdp } from '../fixtures/proxy-only-idp.js';


describe('idp-canary check through HTTPS_PROXY', () => {
  let fixture: ProxyOnlyIdp;
  let idp: FixtureIdp;
  let proxy: ConnectProxy;
  let dir: TempDir;
  let caFile: string;
  const issuer = () => fixture.issuer;

  before(async () => {
    fixture = await startProxyOnlyIdp();
    ({ idp, proxy, dir, caFile } = fixture);
  });
  after(async () => {
    await fixture.close();
  });

  /** The command in-process with its own HTTP layer (no test double): only the environment says "proxy". */
  async function check(args: string[], env: Record<string, string>) {
    let stdout = '';
    let stderr = '';
    const code = await checkCommand(args, { stdout: (text) => (stdout += text), stderr: (text) => (stderr += text), isTTY: false, env }, { sleep: async () => undefined });
    return { code, stdout, stderr };
  }

  test('every check passes through the proxy, which is asked for the IdP by name', async () => {
    const before = proxy.connects.length;
    const run = await check([issuer(), '--ca-file', caFile, '--json'], { HTTPS_PROXY: proxy.url });
    assert.equal(run.stderr, '');
    const report = JSON.parse(run.stdout) as Report;
    assert.equal(run.code, 0, report.checks.filter((line) => line.status === 'fail').map((line) => `${line.id}: ${line.value}`).join('\n'));
    const tunnels = proxy.connects.slice(before);
    assert.ok(tunnels.length >= 2, 'discovery and JWKS');
    assert.ok(tunnels.every((record) => record.authority === `${NAME}:${idp.port}`));
  });

  test('a refusing proxy fails the check, and the report names the proxy and its status', async () => {
    const refusing = await startConnectProxy({ refuseWith: 403 });
    try {
      const run = await check([issuer(), '--ca-file', caFile], { https_proxy: refusing.url, HTTPS_PROXY: proxy.url });
      assert.equal(run.code, 1);
      assert.ok(run.stdout.includes(`proxy ${refusing.url} answered CONNECT ${NAME}:${idp.port} with 403 Forbidden`), run.stdout);
    } finally {
      await refusing.close();
    }
  });

  test('a malformed proxy variable is a usage error naming it, in-process and in the real CLI (check and run)', async () => {
    const inProcess = await check([issuer()], { HTTPS_PROXY: 'https://user:hunter2@proxy:443' });
    assert.equal(inProcess.code, 2);
    assert.match(inProcess.stderr, /^idp-canary check: HTTPS_PROXY: only http:\/\/ proxies are supported/);
    assert.doesNotMatch(inProcess.stderr, /hunter2/);

    const cli = (args: string[], env: NodeJS.ProcessEnv) => runCli(args, { env });
    const [checkBad, runBad, checkGood] = await Promise.all([
      cli(['check', issuer()], { https_proxy: 'socks5://user:hunter2@proxy:1080' }),
      cli(['run', '--config', `${dir.path}/absent.yaml`], { HTTPS_PROXY: 'http://user:hunter2@proxy:3128/path' }),
      cli(['check', issuer(), '--ca-file', caFile], { HTTPS_PROXY: proxy.url }),
    ]);
    assert.equal(checkBad.code, 2);
    assert.match(checkBad.stderr, /https_proxy: only http:\/\//);
    assert.equal(runBad.code, 2, runBad.stderr);
    assert.match(runBad.stderr, /^idp-canary: HTTPS_PROXY: the proxy URL must be only scheme, host and port/);
    for (const exit of [checkBad, runBad]) assert.doesNotMatch(exit.stdout + exit.stderr, /hunter2/);
    assert.equal(checkGood.code, 0, checkGood.stdout + checkGood.stderr);
  });
});
