/**
 * The inventory end to end on loopback: the daemon's app, the real SDK clients through
 * the inventory's edge, and the IAM/EKS/STS double that checks every signature. No test
 * contacts anything but 127.0.0.1: endpoints point at the double, credentials are
 * explicit test keys, instance metadata is off, and the probes' HTTP layer cannot resolve
 * a name (the inventory's issuers are never reached).
 */
import { after, afterEach, beforeEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { UnsecuredJWT } from 'jose';
import { parseConfig, type Config } from '../../src/config/load.js';
import { providerArn, startAwsDouble, type AwsDouble, type AwsDoubleProvider } from '../../src/lab/aws-double.js';
import { startInventory } from '../../src/inventory/daemon.js';
import { idpNameForIssuer } from '../../src/inventory/targets.js';
import { refusedPort } from '../../src/lab/idp-server.js';
import { sample, testApp } from '../fixtures/app.js';

process.env['AWS_EC2_METADATA_DISABLED'] = 'true';
process.env['AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED'] = 'true';

const A = '111122223333';
const B = '444455556666';
const KEY_A = { accessKeyId: 'AKIAINVENTORYTEST001', secretAccessKey: 'inventory-test-secret', accountId: A };
const EKS = (id: string, region = 'eu-west-1') => `https://oidc.eks.${region}.amazonaws.com/id/${id}`;
const p = (url: string, clientIds = ['sts.amazonaws.com']): AwsDoubleProvider => ({ url, clientIds, thumbprints: [] });
const RARELY = '0 0 0 1 1 *';

function yaml(extra = ''): string {
  return `
defaults: { schedule: "${RARELY}" }
inventory:
  iam:
    accounts: [{}, { roleArn: "arn:aws:iam::${B}:role/inventory" }]
    staleAfter: 1h
  eks: { regions: [eu-west-1, us-east-1] }
${extra}`;
}

interface Harness {
  double: AwsDouble;
  config: Config;
  app: ReturnType<typeof testApp>['app'];
  log: ReturnType<typeof testApp>['log'];
  inventory: ReturnType<typeof startInventory>;
  now: { value: number };
  close(): Promise<void>;
}

async function harness(options: { extraYaml?: string; env?: Record<string, string>; beforeStart?: (double: AwsDouble) => void } = {}): Promise<Harness> {
  const double = await startAwsDouble({
    accounts: [
      {
        id: A,
        providers: [p(EKS('AAA1')), p(EKS('AAA2')), p('https://shared.idp.invalid')],
        clusters: [
          ...['AAA1', 'AAA2', 'AAA3', 'AAA4'].map((id, i) => ({ name: `c${i}`, region: 'eu-west-1', issuer: EKS(id) })),
          { name: 'orphan', region: 'eu-west-1', issuer: EKS('ORPHAN') },
          { name: 'us', region: 'us-east-1', issuer: EKS('US1', 'us-east-1') },
        ],
      },
      { id: B, providers: [p('https://shared.idp.invalid', ['sts.amazonaws.com', 'b-app'])], assumableRoles: ['inventory'] },
    ],
    credentials: [KEY_A],
  });
  const config = await parseConfig(yaml(options.extraYaml), 'test.yaml');
  const now = { value: Date.now() };
  const { app, registry, log } = testApp(config, options.env === undefined ? {} : { env: options.env });
  const inventory = startInventory(app, config.inventory!, {
    registry,
    logger: log.logger,
    now: () => now.value,
    setTimer: () => () => {},
    aws: {
      endpoints: { iam: double.url, eks: double.url, sts: double.url },
      credentials: { accessKeyId: KEY_A.accessKeyId, secretAccessKey: KEY_A.secretAccessKey },
      maxAttempts: 1,
      pageSize: 2,
      now: () => now.value,
    },
  });
  app.start();
  options.beforeStart?.(double);
  await inventory.start();
  return {
    double,
    config,
    app,
    log,
    inventory,
    now,
    async close() {
      inventory.stop();
      await app.stop(100);
      await double.close();
    },
  };
}

const names = (h: Harness) => h.app.status().idps.map((idp) => idp.name).sort();
const alerts = (h: Harness, alertname: string) => h.app.status().alerts.alerts.filter((a) => a.labels.alertname === alertname);
const metric = (h: Harness, name: string, labels: Record<string, string>) => sample(h.app.metrics, name, labels);

let h: Harness;
afterEach(async () => {
  await h?.close();
});

describe('a configuration with only inventory:', () => {
  beforeEach(async () => {
    h = await harness();
  });

  test('watches every provider of every account, once per issuer, with its origin and ARN', async () => {
    const shared = idpNameForIssuer('https://shared.idp.invalid');
    assert.deepEqual(names(h), [idpNameForIssuer(EKS('AAA1')), idpNameForIssuer(EKS('AAA2')), shared].sort());
    const sharedStatus = h.app.status().idps.find((idp) => idp.name === shared)!;
    assert.equal(sharedStatus.origin.source, 'iam');
    assert.deepEqual(sharedStatus.origin.providers.map((x) => x.arn).sort(), [providerArn(A, 'https://shared.idp.invalid'), providerArn(B, 'https://shared.idp.invalid')]);
    assert.equal(await metric(h, 'idp_canary_inventory_last_refresh_success', { source: 'iam:default' }), 1);
    assert.equal(await metric(h, 'idp_canary_inventory_idps', { source: 'iam:default' }), 3);
    assert.equal(await metric(h, 'idp_canary_inventory_idps', { source: `iam:${B}` }), 1);
    // Every AWS call was signed with credentials the double knows, the other account through AssumeRole.
    const requests = h.double.requests();
    assert.ok(requests.every((r) => r.signature === 'ok' && r.status === 200), JSON.stringify(requests.filter((r) => r.status !== 200)));
    assert.ok(requests.some((r) => r.service === 'sts' && r.action === 'AssumeRole'));
    assert.ok(requests.some((r) => r.service === 'iam' && r.accountId === B));
  });

  test('pages through ListClusters and names the cluster whose issuer has no provider', async () => {
    const pages = h.double.requests().filter((r) => r.action === 'ListClusters' && r.accountId === A && r.region === 'eu-west-1');
    assert.equal(pages.length, 3, '5 clusters at 2 per page');
    assert.equal(await metric(h, 'idp_canary_inventory_idps', { source: 'eks:default:eu-west-1' }), 5);
    const missing = h.inventory.findings().filter((f) => f.kind === 'provider_missing').map((f) => (f.kind === 'provider_missing' ? f.cluster : ''));
    assert.deepEqual(missing.sort(), ['c2', 'c3', 'orphan', 'us']);
    assert.equal(await metric(h, 'idp_canary_inventory_finding', { finding: 'provider_missing', cluster: 'orphan', region: 'eu-west-1', account: A }), 1);
    const firing = alerts(h, 'IAMOIDCProviderMissing').filter((a) => a.state === 'firing').map((a) => a.labels.cluster).sort();
    assert.deepEqual(firing, ['c2', 'c3', 'orphan', 'us']);
    const orphan = alerts(h, 'IAMOIDCProviderMissing').find((a) => a.labels.cluster === 'orphan')!;
    assert.equal(orphan.labels.severity, 'critical');
    assert.match(orphan.annotations.description ?? '', /No OpenIDConnect provider found/);
  });

  test('providers appearing and disappearing between refreshes; those that stay keep their state', async () => {
    const kept = idpNameForIssuer(EKS('AAA1'));
    const gone = idpNameForIssuer(EKS('AAA2'));
    const first = await h.app.runNow(kept); // fails (the name cannot resolve on loopback) but is state
    assert.ok(first);
    h.double.setProviders(A, [p(EKS('AAA1')), p(EKS('AAA3')), p('https://shared.idp.invalid')]);
    await h.inventory.refresh();
    assert.deepEqual(names(h), [kept, idpNameForIssuer(EKS('AAA3')), idpNameForIssuer('https://shared.idp.invalid')].sort());
    const keptStatus = h.app.status().idps.find((idp) => idp.name === kept)!;
    assert.equal(keptStatus.history.length, 1, 'the kept IdP was not rescheduled');
    assert.equal(keptStatus.last?.startedAt, first.startedAt);
    assert.equal(await h.app.runNow(gone), null);
    assert.equal(await metric(h, 'oidc_check_success', { idp: gone }), undefined, 'the removed IdP lost its series');
    // c2's issuer (AAA3) now has a provider: its finding is gone, and the alert resolves after successesBeforeResolving evaluations.
    assert.ok(!h.inventory.findings().some((f) => f.kind === 'provider_missing' && f.cluster === 'c2'));
    h.inventory.evaluate();
    assert.equal(alerts(h, 'IAMOIDCProviderMissing').find((a) => a.labels.cluster === 'c2')?.state, 'resolved');
    assert.equal(alerts(h, 'IAMOIDCProviderMissing').find((a) => a.labels.cluster === 'orphan')?.state, 'firing');
  });

  test("a provider's new client ID updates the IdP's origin without rescheduling it", async () => {
    const name = idpNameForIssuer(EKS('AAA1'));
    const first = await h.app.runNow(name);
    h.double.setProviders(A, [p(EKS('AAA1'), ['sts.amazonaws.com', 'new-client']), p(EKS('AAA2')), p('https://shared.idp.invalid')]);
    await h.inventory.refresh();
    const status = h.app.status().idps.find((idp) => idp.name === name)!;
    assert.deepEqual(status.origin.providers[0]?.clientIds, ['sts.amazonaws.com', 'new-client']);
    assert.equal(status.history.length, 1);
    assert.equal(status.last?.startedAt, first?.startedAt);
  });

  test('a throttled or denied IAM keeps the last inventory, says why, and alerts after repeated failures', async () => {
    const before = names(h);
    h.double.inject('ListOpenIDConnectProviders', 'Throttling', Infinity);
    await h.inventory.refresh();
    assert.deepEqual(names(h), before, 'nothing lost');
    const source = h.inventory.status().sources.find((s) => s.source === 'iam:default')!;
    assert.equal(source.ok, false);
    assert.match(source.error!, /iam:ListOpenIDConnectProviders: Throttling \(HTTP 400\): Rate exceeded/);
    assert.equal(await metric(h, 'idp_canary_inventory_last_refresh_success', { source: 'iam:default' }), 0);
    assert.equal(await metric(h, 'idp_canary_inventory_last_refresh_success', { source: 'eks:default:eu-west-1' }), 1);
    assert.ok(h.log.lines.some((line) => line.source === 'iam:default' && /keeping its last listing/.test(String(line.msg))));
    // The findings still judge against the kept listing.
    assert.ok(h.inventory.findings().some((f) => f.kind === 'provider_missing' && f.cluster === 'orphan'));
    await h.inventory.refresh();
    assert.notEqual(alerts(h, 'IdPCanaryInventoryFailing').find((a) => a.labels.source === 'iam:default')?.state, 'firing');
    await h.inventory.refresh();
    const failing = alerts(h, 'IdPCanaryInventoryFailing').find((a) => a.labels.source === 'iam:default')!;
    assert.equal(failing.state, 'firing', 'after failuresBeforeFiring (3) failed refreshes');
    assert.match(failing.annotations.description ?? '', /3 refreshes of iam:default failed in a row/);

    h.double.clearInjections();
    h.double.inject('GetOpenIDConnectProvider', 'AccessDenied');
    await h.inventory.refresh();
    assert.match(h.inventory.status().sources.find((s) => s.source === 'iam:default')!.error!, /AccessDenied \(HTTP 403\).*not authorized to perform: iam:GetOpenIDConnectProvider/);
    assert.deepEqual(names(h), before);

    await h.inventory.refresh();
    await h.inventory.refresh();
    assert.equal(h.inventory.status().sources.find((s) => s.source === 'iam:default')!.ok, true);
    assert.equal(alerts(h, 'IdPCanaryInventoryFailing').find((a) => a.labels.source === 'iam:default')?.state, 'resolved');
    // No secret in what the daemon shows or logs.
    const shown = JSON.stringify(h.app.status()) + h.log.text.join('\n');
    assert.ok(!shown.includes(KEY_A.secretAccessKey));
  });

  test('an issuer failing for staleAfter is a stale provider', async () => {
    const name = idpNameForIssuer(EKS('AAA1'));
    await h.app.runNow(name);
    h.inventory.evaluate();
    assert.ok(!h.inventory.findings().some((f) => f.kind === 'provider_stale'));
    h.now.value += 2 * 3600_000;
    h.inventory.evaluate();
    const stale = h.inventory.findings().filter((f) => f.kind === 'provider_stale');
    assert.deepEqual(stale.map((f) => f.idp), [name]);
    assert.equal(alerts(h, 'IAMOIDCProviderStale').find((a) => a.labels.idp === name)?.state, 'firing');
  });
});

describe('with configured IdPs', () => {
  test('configured settings win for the same issuer, and an STS probe whose audience the provider lacks is found', async () => {
    const port = await refusedPort();
    const token = new UnsecuredJWT({ sub: 'system:serviceaccount:x:y' }).setIssuer(EKS('AAA1')).setAudience('wrong-audience').setIssuedAt().setExpirationTime('1h').encode();
    h = await harness({
      env: { PROBE_TOKEN: token },
      extraYaml: `idps:
  - name: my-cluster
    issuer: "${EKS('AAA1')}"
    sts:
      - name: irsa
        roleArn: "arn:aws:iam::${A}:role/app"
        regions: [eu-west-1]
        endpoint: "http://127.0.0.1:${port}"
        maxAttempts: 1
        token: { env: PROBE_TOKEN }
`,
    });
    assert.ok(names(h).includes('my-cluster'));
    assert.ok(!names(h).includes(idpNameForIssuer(EKS('AAA1'))), 'no second IdP for a configured issuer');
    const mine = h.app.status().idps.find((idp) => idp.name === 'my-cluster')!;
    assert.deepEqual(mine.origin, { source: 'config', providers: [{ arn: providerArn(A, EKS('AAA1')), account: 'default', clientIds: ['sts.amazonaws.com'] }] });
    assert.deepEqual(h.inventory.status().coveredByConfig, [{ issuer: EKS('AAA1'), configured: 'my-cluster' }]);

    const result = await h.app.runStsNow('my-cluster/irsa/eu-west-1');
    assert.deepEqual(result?.token.audiences, ['wrong-audience']);
    h.inventory.evaluate();
    const mismatch = h.inventory.findings().find((f) => f.kind === 'audience_mismatch');
    assert.ok(mismatch && mismatch.kind === 'audience_mismatch');
    assert.equal(mismatch.probe, 'irsa');
    assert.equal(mismatch.providerArn, providerArn(A, EKS('AAA1')));
    const alert = alerts(h, 'IAMOIDCProviderAudienceMismatch').find((a) => a.labels.probe === 'irsa')!;
    assert.equal(alert.state, 'firing');
    assert.equal(alert.labels.idp, 'my-cluster');
    assert.match(alert.annotations.description ?? '', /Incorrect token audience/);
    assert.ok(!JSON.stringify(h.app.status()).includes(token), 'the token is never shown');
  });

  test('a denied AssumeRole fails only that account', async () => {
    h = await harness({ beforeStart: (double) => double.inject('AssumeRole', 'AccessDenied', Infinity) });
    const status = h.inventory.status().sources;
    assert.equal(status.find((s) => s.source === `iam:${B}`)!.ok, false);
    assert.match(status.find((s) => s.source === `iam:${B}`)!.error!, /sts:AssumeRole .*AccessDenied \(HTTP 403\)/);
    assert.equal(status.find((s) => s.source === 'iam:default')!.ok, true);
    assert.equal(status.find((s) => s.source === `eks:${B}:eu-west-1`)!.ok, false);
    assert.equal(names(h).length, 3, "the default account's providers are all there");
  });

  test('an account removed by a reload: its failing alert resolves, its providers go', async () => {
    h = await harness({ beforeStart: (double) => double.inject('AssumeRole', 'AccessDenied', Infinity) });
    await h.inventory.refresh();
    await h.inventory.refresh();
    assert.equal(alerts(h, 'IdPCanaryInventoryFailing').find((a) => a.labels.source === `iam:${B}`)?.state, 'firing');
    const reloaded = await parseConfig(`defaults: { schedule: "${RARELY}" }\ninventory: {}\n`, 'test.yaml');
    h.inventory.update(reloaded.inventory!);
    await h.inventory.refresh();
    await h.inventory.refresh();
    assert.equal(alerts(h, 'IdPCanaryInventoryFailing').find((a) => a.labels.source === `iam:${B}`)?.state, 'resolved');
    assert.deepEqual(h.inventory.status().sources.map((s) => s.source), ['iam:default']);
    assert.equal(await metric(h, 'idp_canary_inventory_last_refresh_success', { source: `iam:${B}` }), undefined);
  });

  test('a reload keeps the inventory IdPs', async () => {
    h = await harness();
    const before = names(h);
    const result = await h.app.reload();
    assert.equal(result.ok, true);
    assert.deepEqual(names(h), before);
  });
});

after(() => {
  delete process.env['AWS_EC2_METADATA_DISABLED'];
});

describe('status page', () => {
  test('shows where each IdP came from, its provider ARN, the sources and the findings, escaped', async () => {
    const { renderStatusPage } = await import('../../src/server/status-page/page.js');
    h = await harness({ beforeStart: (double) => double.inject('ListClusters', 'AccessDenied', Infinity) });
    const html = renderStatusPage(h.app.status());
    const eks1 = idpNameForIssuer(EKS('AAA1'));
    const section = html.slice(html.indexOf(`data-idp="${eks1}"`), html.indexOf('</section>', html.indexOf(`data-idp="${eks1}"`)));
    assert.match(section, /data-field="origin" data-value="iam"/);
    assert.ok(section.includes(providerArn(A, EKS('AAA1'))));
    assert.match(html, /<section class="inventory" id="inventory">/);
    assert.match(html, /data-source="iam:default" class="ok"/);
    assert.match(html, /data-source="eks:default:eu-west-1" class="failing"/);
    assert.match(html, /AccessDeniedException \(HTTP 403\)/);
    // The clusters were never listed: no cluster findings, and the page says so.
    assert.match(html, /No findings\./);
    h.double.clearInjections();
    await h.inventory.refresh();
    const after = renderStatusPage(h.app.status());
    assert.match(after, /data-finding="provider_missing"/);
    assert.match(after, /cluster orphan \(eu-west-1, account 111122223333\)/);
  });

  test('a configuration without inventory: shows no inventory section and no origin', async () => {
    const { renderStatusPage } = await import('../../src/server/status-page/page.js');
    const config = await parseConfig(`defaults: { schedule: "${RARELY}" }\nidps: [{ name: plain, issuer: "https://plain.invalid" }]\n`, 'test.yaml');
    const { app } = testApp(config);
    app.start();
    try {
      const status = app.status();
      assert.equal('inventory' in status, false);
      assert.deepEqual(status.idps[0]?.origin, { source: 'config', providers: [] });
      const html = renderStatusPage(status);
      assert.doesNotMatch(html, /class="inventory"|data-field="origin"/);
    } finally {
      await app.stop(100);
    }
  });
});
