/**
 * The Helm chart (helm/idp-canary), checked with the real helm v4 binary: `helm lint
 * --strict` and `helm template` for the default values and every documented combination
 * (each optional feature, server.tls, server.auth with bearer or basic credentials, both,
 * existingConfigMap / existingSecret, the extra values), the rendered objects validated
 * structurally (test/deploy/k8s-shapes.ts) and against the Kubernetes and Prometheus
 * Operator schemas of kubernetes-models, the rendered configuration accepted by the
 * daemon with every file it names mounted, and the contracts: values keys
 * (docs/deployment.md), sharding, the projected STS token, the config checksum, the
 * security context, probes and scrapes that follow TLS and auth, the PrometheusRule equal
 * to config/prometheus/idp-canary.rules.yaml.
 */
import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { request as httpsRequest } from 'node:https';
import type { AddressInfo } from 'node:net';
import { existsSync, readFileSync } from 'node:fs';
import { parseShard } from '../../src/schedule/shard.js';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { parseConfig } from '../../src/config/load.js';
import { createPki, type Pki } from '../../src/lab/pki.js';
import { OPEN_ROUTES } from '../../src/server/auth.js';
import { createServer } from '../../src/server/server.js';
import { testApp } from '../fixtures/app.js';
import { binaryOptions, inCi, requireBinary } from '../fixtures/binaries.js';
import { makeTempDir } from '../fixtures/temp.js';
import { podFiles, unmounted } from './pod-files.js';
import { CHART, NAMESPACE, RELEASE, at, helm, helmOptions, lint, locateHelm, only, render, selects, type K8sObject } from './helm-fixture.js';
import { ROOT } from '../fixtures/paths.js';
import { validateObject, validateWithModels } from './k8s-shapes.js';

const RULES_SOURCE = join(ROOT, 'config', 'prometheus', 'idp-canary.rules.yaml');
const RULES_COPY = join(CHART, 'files', 'idp-canary.rules.yaml');
const DASHBOARD_SOURCE = join(ROOT, 'config', 'grafana', 'idp-canary-dashboard.json');
const FULLNAME = `${RELEASE}-idp-canary`;
const chartValues = parse(readFileSync(join(CHART, 'values.yaml'), 'utf8')) as Record<string, any>;
const chart = parse(readFileSync(join(CHART, 'Chart.yaml'), 'utf8')) as Record<string, any>;
const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string };

/** An IdP with an STS probe that names no token source: stsToken fills it in. */
const STS_IDP = {
  name: 'eks-prod',
  issuer: 'https://oidc.eks.eu-west-1.amazonaws.com/id/0123456789ABCDEF0123456789ABCDEF',
  sts: [{ name: 'canary', roleArn: 'arn:aws:iam::111122223333:role/idp-canary', regions: ['eu-west-1', 'us-east-1'] }],
};
/** An STS probe with its own token source, which the chart must leave alone. */
const ENV_TOKEN_IDP = {
  name: 'keycloak',
  issuer: 'https://sso.example.com/realms/aws',
  sts: [{ name: 'canary', roleArn: 'arn:aws:iam::111122223333:role/idp-canary-kc', regions: ['us-east-1'], token: { env: 'KC_TOKEN' } }],
};

/** config.server.tls, with the certificate Secret mounted where it points. */
const TLS_SECRET = 'idp-canary-tls';
const TLS_SERVER = { certFile: '/etc/idp-canary-tls/tls.crt', keyFile: '/etc/idp-canary-tls/tls.key' };
const TLS_MOUNT = {
  extraVolumes: [{ name: 'tls', secret: { secretName: TLS_SECRET } }],
  extraVolumeMounts: [{ name: 'tls', mountPath: '/etc/idp-canary-tls', readOnly: true }],
};
const TLS_CA = { ca: { secret: { name: TLS_SECRET, key: 'ca.crt' } } };
/** existingSecret, mounted at /etc/idp-canary-secrets, holds the auth files. */
const SECRET = 'idp-canary-secrets';
const BEARER = { bearerTokenFile: '/etc/idp-canary-secrets/token' };
const BASIC = { basic: { username: 'prometheus', passwordFile: '/etc/idp-canary-secrets/password' } };
/** The default configuration with these config.server keys added. */
const withServer = (server: object) => ({ ...chartValues.config, server: { ...chartValues.config.server, ...server } });
const DIGEST = `sha256:${'0123456789abcdef'.repeat(4)}`;

/** The extra values users look for, all at once. */
function extras(): object {
  return {
    image: { repository: 'registry.example.com/idp-canary', digest: DIGEST },
    extraEnv: [{ name: 'NODE_OPTIONS', value: '--max-old-space-size=512' }],
    extraEnvFrom: [{ secretRef: { name: 'idp-tokens' } }, { configMapRef: { name: 'proxy-env', optional: true }, prefix: 'PROXY_' }],
    extraVolumes: [{ name: 'corp-ca', configMap: { name: 'corp-root-ca' } }],
    extraVolumeMounts: [{ name: 'corp-ca', mountPath: '/etc/idp-canary-ca', readOnly: true }],
    topologySpreadConstraints: [
      { maxSkew: 1, topologyKey: 'topology.kubernetes.io/zone', whenUnsatisfiable: 'ScheduleAnyway' },
      { maxSkew: 1, topologyKey: 'kubernetes.io/hostname', whenUnsatisfiable: 'DoNotSchedule', labelSelector: { matchLabels: { 'app.kubernetes.io/name': 'idp-canary' } } },
    ],
    livenessProbe: { initialDelaySeconds: 5, periodSeconds: 20 },
    readinessProbe: { httpGet: null, tcpSocket: { port: 'http' } },
    serviceMonitor: {
      enabled: true,
      interval: '30s',
      scrapeTimeout: '10s',
      relabelings: [{ sourceLabels: ['__meta_kubernetes_pod_node_name'], targetLabel: 'node', action: 'replace' }],
      metricRelabelings: [{ sourceLabels: ['__name__'], regex: 'nodejs_.*', action: 'drop' }],
    },
    prometheusRule: { enabled: true, namespace: 'prometheus-rules', labels: { release: 'kps' }, additionalLabels: { team: 'identity' }, runbookBaseUrl: 'https://wiki.example.com/idp-canary/runbook' },
  };
}

/** Every feature on, in one release. */
function everything(): object {
  return {
    shards: 3,
    stsToken: { enabled: true },
    serviceMonitor: { enabled: true, labels: { release: 'kube-prometheus-stack' }, tlsConfig: TLS_CA },
    prometheusRule: { enabled: true, labels: { release: 'kube-prometheus-stack' } },
    grafanaDashboard: { enabled: true },
    networkPolicy: {
      enabled: true,
      ingressFrom: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'monitoring' } } }],
      extraEgress: [{ to: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'monitoring' } } }], ports: [{ port: 9093, protocol: 'TCP' }] }],
    },
    podDisruptionBudget: { enabled: true },
    serviceAccount: { annotations: { 'eks.amazonaws.com/role-arn': 'arn:aws:iam::111122223333:role/idp-canary' } },
    config: { ...chartValues.config, server: { ...chartValues.config.server, tls: TLS_SERVER, auth: { ...BEARER, ...BASIC } }, idps: [...chartValues.config.idps, STS_IDP, ENV_TOKEN_IDP] },
    existingSecret: SECRET,
    ...TLS_MOUNT,
  };
}

const SCENARIOS: Record<string, () => object> = {
  default: () => ({}),
  shards: () => ({ shards: 3 }),
  stsToken: () => ({ stsToken: { enabled: true }, config: { ...chartValues.config, idps: [STS_IDP] } }),
  serviceMonitor: () => ({ serviceMonitor: { enabled: true } }),
  grafanaDashboard: () => ({ grafanaDashboard: { enabled: true } }),
  networkPolicy: () => ({ networkPolicy: { enabled: true } }),
  podDisruptionBudget: () => ({ podDisruptionBudget: { enabled: true } }),
  everything,
  tls: () => ({ config: withServer({ tls: TLS_SERVER }), ...TLS_MOUNT, serviceMonitor: { enabled: true, tlsConfig: TLS_CA } }),
  authBearer: () => ({ existingSecret: SECRET, config: withServer({ auth: BEARER }), serviceMonitor: { enabled: true } }),
  authBasic: () => ({ existingSecret: SECRET, config: withServer({ auth: BASIC }), serviceMonitor: { enabled: true } }),
  tlsAuth: () => ({ existingSecret: SECRET, config: withServer({ tls: TLS_SERVER, auth: { ...BEARER, ...BASIC } }), ...TLS_MOUNT, serviceMonitor: { enabled: true, tlsConfig: TLS_CA } }),
  authExplicit: () => ({
    config: withServer({ auth: { bearerTokenFile: '/etc/scrape-token/token' } }),
    extraVolumes: [{ name: 'scrape-token', secret: { secretName: 'scrape-token' } }],
    extraVolumeMounts: [{ name: 'scrape-token', mountPath: '/etc/scrape-token', readOnly: true }],
    serviceMonitor: { enabled: true, authorization: { type: 'Bearer', credentials: { name: 'scrape-token', key: 'token' } } },
  }),
  existingConfigMap: () => ({
    existingConfigMap: 'idp-canary-config',
    existingSecret: SECRET,
    livenessProbe: { httpGet: { scheme: 'HTTPS' } },
    readinessProbe: { httpGet: { scheme: 'HTTPS' } },
    serviceMonitor: { enabled: true, scheme: 'https', tlsConfig: TLS_CA, authorization: { credentials: { name: SECRET, key: 'token' } } },
  }),
  extras,
  canaryDownOnly: () => ({ config: { ...chartValues.config, alertmanager: { urls: ['http://alertmanager.monitoring.svc:9093'] } }, prometheusRule: { enabled: true, canaryDownOnly: true } }),
};

function workload(objects: K8sObject[]): K8sObject {
  const found = objects.filter((object) => object.kind === 'Deployment' || object.kind === 'StatefulSet');
  assert.equal(found.length, 1, 'exactly one workload');
  return found[0]!;
}
const container = (objects: K8sObject[]) => at(workload(objects), 'spec.template.spec.containers.0');
/** The daemon's configuration file as the ConfigMap carries it. */
const configText = (objects: K8sObject[]) => (only(objects, 'ConfigMap', FULLNAME).data as Record<string, string>)['config.yaml']!;
const renderedConfig = (objects: K8sObject[]) => parse(configText(objects)) as Record<string, any>;
const env = (objects: K8sObject[]) => Object.fromEntries((container(objects).env as { name: string; value?: string; valueFrom?: unknown }[]).map((entry) => [entry.name, entry]));

describe('helm chart', helmOptions(), () => {
  let helmBin: string;
  before(() => {
    // Outside CI the suite is skipped when helm cannot be had; under CI that is a failure.
    const { path, error } = locateHelm();
    if (path === null) throw new Error(`${error} [CI=true: a missing binary is a failure]`);
    helmBin = path;
  });

  test('values carry every contract key, with the documented defaults', () => {
    const keys = [
      'image.repository', 'image.tag', 'image.pullPolicy', 'config', 'shards',
      'serviceAccount.create', 'serviceAccount.name', 'serviceAccount.annotations',
      'stsToken.enabled', 'stsToken.audience', 'stsToken.expirationSeconds', 'stsToken.path',
      'serviceMonitor.enabled', 'serviceMonitor.interval', 'serviceMonitor.labels',
      'prometheusRule.enabled', 'prometheusRule.labels', 'grafanaDashboard.enabled', 'grafanaDashboard.labels',
      'networkPolicy.enabled', 'podDisruptionBudget.enabled', 'resources', 'securityContext', 'podSecurityContext',
      'nodeSelector', 'tolerations', 'affinity',
    ];
    // Added for issue 18: what the prometheus-community charts have and users look for.
    keys.push(
      'image.digest', 'existingConfigMap', 'existingSecret', 'livenessProbe', 'readinessProbe', 'extraEnvFrom',
      'extraVolumes', 'extraVolumeMounts', 'topologySpreadConstraints', 'serviceMonitor.scheme', 'serviceMonitor.scrapeTimeout',
      'serviceMonitor.tlsConfig', 'serviceMonitor.authorization', 'serviceMonitor.basicAuth', 'serviceMonitor.relabelings',
      'serviceMonitor.metricRelabelings', 'prometheusRule.namespace', 'prometheusRule.additionalLabels', 'prometheusRule.runbookBaseUrl',
      'prometheusRule.canaryDownOnly',
    );
    for (const key of keys) assert.notEqual(at(chartValues, key), undefined, `values.yaml lacks ${key}`);
    assert.equal(chartValues.shards, 1);
    assert.deepEqual(chartValues.stsToken, { enabled: false, audience: 'sts.amazonaws.com', expirationSeconds: 3600, path: '/var/run/secrets/idp-canary/sts-token' });
    assert.deepEqual(chartValues.grafanaDashboard.labels, { grafana_dashboard: '1' });
    assert.equal(chart.apiVersion, 'v2');
    assert.equal(chart.appVersion, pkg.version, 'Chart.yaml appVersion follows package.json');
  });

  test('the default config is config/default.yaml, and the daemon accepts it', async () => {
    const repoDefault = parse(readFileSync(join(ROOT, 'config', 'default.yaml'), 'utf8')) as unknown;
    assert.deepEqual(chartValues.config, repoDefault, 'values.yaml config differs from config/default.yaml');
  });

  let pki: Pki | undefined;
  for (const [name, values] of Object.entries(SCENARIOS)) {
    test(`${name}: helm lint --strict, helm template, objects valid`, async (t) => {
      const given = values() as Record<string, any>;
      lint(helmBin, [given]);
      const objects = render(helmBin, [given]);
      const errors = objects.flatMap(validateObject);
      assert.deepEqual(errors, [], `structural errors:\n${errors.join('\n')}`);
      for (const object of objects) {
        const expected = object.kind === 'PrometheusRule' ? given.prometheusRule?.namespace || NAMESPACE : NAMESPACE;
        assert.equal(object.metadata.namespace, expected, `${object.kind} namespace`);
      }
      if (given.existingConfigMap) {
        assert.equal(objects.filter((object) => object.kind === 'ConfigMap').length, 0, 'no ConfigMap of the chart\'s own');
      } else {
        // The daemon validates the rendered configuration exactly as it would in the pod,
        // reading every file it names (certificates, secrets): each one must be mounted.
        pki ??= await createPki({ hosts: [`${FULLNAME}.${NAMESPACE}.svc`] });
        const files = podFiles(pki);
        await parseConfig(configText(objects), 'configmap', { readFile: files.readFile });
        assert.deepEqual(unmounted(files.read, container(objects).volumeMounts), [], 'files the configuration names but the pod does not mount');
      }
      const models = await validateWithModels(objects);
      if (models === null) {
        const message = 'kubernetes-models not installed: checked against test/deploy/k8s-shapes.ts only (npm i -D kubernetes-models @kubernetes-models/prometheus-operator for the full schemas)';
        if (inCi()) throw new Error(`${message} [CI=true]`);
        t.diagnostic(message);
      } else {
        assert.deepEqual(models, [], `kubernetes-models:\n${models.join('\n')}`);
      }
    });
  }

  test('default: a Deployment of one pod with config, probes, port and the restrictive security context', () => {
    const objects = render(helmBin);
    assert.deepEqual(objects.map((object) => object.kind).sort(), ['ConfigMap', 'Deployment', 'Service', 'ServiceAccount']);
    const deployment = only(objects, 'Deployment');
    assert.equal(at(deployment, 'spec.replicas'), 1);
    const c = container(objects);
    assert.equal(c.image, `idp-canary:${pkg.version}`);
    assert.deepEqual(c.ports, [{ name: 'http', containerPort: 9741, protocol: 'TCP' }]);
    assert.equal(at(c, 'livenessProbe.httpGet.path'), '/-/healthy');
    assert.equal(at(c, 'readinessProbe.httpGet.path'), '/-/ready');
    assert.equal(at(c, 'livenessProbe.httpGet.port'), 'http');
    assert.equal(env(objects).IDP_CANARY_CONFIG?.value, '/etc/idp-canary/config.yaml');
    assert.equal(env(objects).IDP_CANARY_SHARD, undefined, 'no shard with one replica');
    assert.deepEqual(c.volumeMounts.find((mount: { name: string }) => mount.name === 'config'), { name: 'config', mountPath: '/etc/idp-canary', readOnly: true });
    assert.ok(c.volumeMounts.some((mount: { mountPath: string }) => mount.mountPath === '/tmp'), 'a writable /tmp');
    assert.ok(c.resources?.requests && c.resources?.limits, 'resources set');

    const sc = c.securityContext;
    assert.equal(sc.readOnlyRootFilesystem, true);
    assert.equal(sc.allowPrivilegeEscalation, false);
    assert.equal(sc.runAsNonRoot, true);
    assert.equal(sc.privileged, false);
    assert.deepEqual(sc.capabilities, { drop: ['ALL'] });
    assert.deepEqual(sc.seccompProfile, { type: 'RuntimeDefault' });
    const pod = at(deployment, 'spec.template.spec');
    assert.equal(pod.securityContext.runAsNonRoot, true);
    assert.equal(pod.securityContext.runAsUser, 10001, 'the Dockerfile USER');
    assert.deepEqual(pod.securityContext.seccompProfile, { type: 'RuntimeDefault' });
    assert.equal(pod.automountServiceAccountToken, false);
    assert.equal(pod.enableServiceLinks, false, 'no IDP_CANARY_* service-link variables from a Service named idp-canary');
    assert.equal(pod.serviceAccountName, FULLNAME);
    assert.ok(!pod.volumes.some((volume: { name: string }) => volume.name === 'sts-token'), 'no token volume unless asked');

    const service = only(objects, 'Service', FULLNAME);
    assert.deepEqual(at(service, 'spec.ports'), [{ name: 'http', port: 9741, targetPort: 'http', protocol: 'TCP' }]);
    assert.ok(selects({ matchLabels: at(service, 'spec.selector') }, at(deployment, 'spec.template.metadata.labels')), 'the Service selects the pods');
  });

  test('the checksum annotation is the config\'s sha256 and changes only with the config', () => {
    const checksum = (objects: K8sObject[]) => at(workload(objects), 'spec.template.metadata.annotations')['checksum/config'] as string;
    const base = render(helmBin);
    const data = configText(base);
    assert.equal(checksum(base), createHash('sha256').update(data.replace(/\n$/, '')).digest('hex'));

    const changed = render(helmBin, [{ config: { ...chartValues.config, defaults: { ...chartValues.config.defaults, budget: '4s' } } }]);
    assert.notEqual(checksum(changed), checksum(base), 'a config change rolls the pods');
    const unrelated = render(helmBin, [{ resources: { requests: { cpu: '100m' } }, logLevel: 'debug' }]);
    assert.equal(checksum(unrelated), checksum(base), 'other values leave the checksum alone');
  });

  test('shards > 1: a StatefulSet passing its ordinal as IDP_CANARY_SHARD', async () => {
    const objects = render(helmBin, [{ shards: 3 }]);
    assert.equal(objects.filter((object) => object.kind === 'Deployment').length, 0);
    const sts = only(objects, 'StatefulSet');
    assert.equal(at(sts, 'spec.replicas'), 3);
    assert.equal(at(sts, 'spec.podManagementPolicy'), 'Parallel');
    const headless = only(objects, 'Service', at(sts, 'spec.serviceName'));
    assert.equal(at(headless, 'spec.clusterIP'), 'None');

    const names = (container(objects).env as { name: string }[]).map((entry) => entry.name);
    assert.ok(names.indexOf('POD_INDEX') < names.indexOf('IDP_CANARY_SHARD'), 'POD_INDEX is defined before it is referenced');
    assert.deepEqual(env(objects).POD_INDEX, { name: 'POD_INDEX', valueFrom: { fieldRef: { fieldPath: "metadata.labels['apps.kubernetes.io/pod-index']" } } });
    assert.deepEqual(env(objects).IDP_CANARY_SHARD, { name: 'IDP_CANARY_SHARD', value: '$(POD_INDEX)/3' });

    // What the kubelet hands pod 2 must be a shard the daemon accepts.
    assert.deepEqual(parseShard('$(POD_INDEX)/3'.replace('$(POD_INDEX)', '2')), { index: 2, count: 3 });
  });

  test('shards: refused below 1, and below Kubernetes 1.28 (no pod-index label)', () => {
    const zero = helm(helmBin, ['template', RELEASE, CHART], [{ shards: 0 }]);
    assert.notEqual(zero.status, 0);
    const old = helm(helmBin, ['template', RELEASE, CHART, '--kube-version', '1.27.0'], [{ shards: 2 }]);
    assert.notEqual(old.status, 0);
    assert.match(old.stderr, /1\.28/);
    assert.equal(helm(helmBin, ['template', RELEASE, CHART, '--kube-version', '1.27.0']).status, 0, 'one shard works on older clusters');
  });

  test('stsToken: a projected token, audience sts.amazonaws.com, mounted where the STS probes read it', () => {
    const objects = render(helmBin, [{ stsToken: { enabled: true }, config: { ...chartValues.config, idps: [STS_IDP, ENV_TOKEN_IDP] } }]);
    const pod = at(workload(objects), 'spec.template.spec');
    const volume = pod.volumes.find((entry: { name: string }) => entry.name === 'sts-token');
    assert.deepEqual(volume.projected.sources, [{ serviceAccountToken: { audience: 'sts.amazonaws.com', expirationSeconds: 3600, path: 'sts-token' } }]);
    const mount = container(objects).volumeMounts.find((entry: { name: string }) => entry.name === 'sts-token');
    assert.deepEqual(mount, { name: 'sts-token', mountPath: '/var/run/secrets/idp-canary', readOnly: true });
    assert.equal(join(mount.mountPath, volume.projected.sources[0].serviceAccountToken.path), chartValues.stsToken.path);

    const config = renderedConfig(objects);
    assert.deepEqual(config.idps[0].sts[0].token, { file: '/var/run/secrets/idp-canary/sts-token' }, 'a probe without a token source reads the projected token');
    assert.deepEqual(config.idps[1].sts[0].token, { env: 'KC_TOKEN' }, 'an explicit token source is kept');

    const custom = render(helmBin, [{ stsToken: { enabled: true, audience: 'sts.amazonaws.com.cn', expirationSeconds: 7200, path: '/var/run/tokens/aws' }, config: { idps: [STS_IDP] } }]);
    const customVolume = at(workload(custom), 'spec.template.spec').volumes.find((entry: { name: string }) => entry.name === 'sts-token');
    assert.deepEqual(customVolume.projected.sources[0].serviceAccountToken, { audience: 'sts.amazonaws.com.cn', expirationSeconds: 7200, path: 'aws' });
    assert.equal(container(custom).volumeMounts.find((entry: { name: string }) => entry.name === 'sts-token').mountPath, '/var/run/tokens');
    assert.equal(renderedConfig(custom).idps[0].sts[0].token.file, '/var/run/tokens/aws');
  });

  test('serviceAccount: IRSA annotations, or an existing account', () => {
    const annotated = render(helmBin, [{ serviceAccount: { annotations: { 'eks.amazonaws.com/role-arn': 'arn:aws:iam::111122223333:role/x' } } }]);
    assert.equal(at(only(annotated, 'ServiceAccount'), 'metadata.annotations')['eks.amazonaws.com/role-arn'], 'arn:aws:iam::111122223333:role/x');
    const existing = render(helmBin, [{ serviceAccount: { create: false, name: 'shared' } }]);
    assert.equal(existing.filter((object) => object.kind === 'ServiceAccount').length, 0);
    assert.equal(at(workload(existing), 'spec.template.spec.serviceAccountName'), 'shared');
  });

  test('serviceMonitor: scrapes port http at /metrics, once per pod even when sharded', () => {
    for (const shards of [1, 3]) {
      const objects = render(helmBin, [{ shards, serviceMonitor: { enabled: true, interval: '15s', labels: { release: 'kps' } } }]);
      const monitor = only(objects, 'ServiceMonitor');
      assert.equal(monitor.apiVersion, 'monitoring.coreos.com/v1');
      assert.equal(monitor.metadata.labels?.release, 'kps');
      assert.deepEqual(at(monitor, 'spec.endpoints'), [{ port: 'http', path: '/metrics', scheme: 'http', interval: '15s' }]);
      assert.deepEqual(at(monitor, 'spec.namespaceSelector'), { matchNames: [NAMESPACE] });
      const selected = objects.filter((object) => object.kind === 'Service' && selects(at(monitor, 'spec.selector'), object.metadata.labels));
      assert.deepEqual(selected.map((service) => service.metadata.name), [FULLNAME], `shards=${shards}: exactly one Service selected`);
      assert.ok((at(selected[0], 'spec.ports') as { name: string }[]).some((port) => port.name === 'http'));
    }
  });

  test('prometheusRule: its groups equal config/prometheus/idp-canary.rules.yaml', () => {
    assert.ok(existsSync(RULES_COPY), 'helm/idp-canary/files/idp-canary.rules.yaml is missing: run node scripts/sync-chart.mjs');
    const objects = render(helmBin, [{ prometheusRule: { enabled: true, labels: { release: 'kps' } } }]);
    const rule = only(objects, 'PrometheusRule');
    assert.equal(rule.apiVersion, 'monitoring.coreos.com/v1');
    assert.equal(rule.metadata.labels?.release, 'kps');
    const source = parse(readFileSync(RULES_SOURCE, 'utf8')) as { groups: unknown[] };
    assert.ok(Array.isArray(source.groups) && source.groups.length > 0, 'the rules file has groups');
    assert.deepEqual(at(rule, 'spec.groups'), source.groups, 'PrometheusRule groups differ from the rules file: run node scripts/sync-chart.mjs');
    assert.deepEqual(Object.keys(at(rule, 'spec')), ['groups']);
  });

  test('grafanaDashboard: a ConfigMap with the sidecar label holding the dashboard', () => {
    const objects = render(helmBin, [{ grafanaDashboard: { enabled: true, annotations: { grafana_folder: 'Identity' } } }]);
    const map = only(objects, 'ConfigMap', `${FULLNAME}-dashboard`);
    assert.equal(map.metadata.labels?.grafana_dashboard, '1');
    assert.equal(map.metadata.annotations?.grafana_folder, 'Identity');
    const json = at(map, 'data')['idp-canary-dashboard.json'] as string;
    assert.deepEqual(JSON.parse(json), JSON.parse(readFileSync(DASHBOARD_SOURCE, 'utf8')));
    const elsewhere = render(helmBin, [{ grafanaDashboard: { enabled: true, namespace: 'grafana', labels: { dashboards: 'idp' } } }]);
    const moved = only(elsewhere, 'ConfigMap', `${FULLNAME}-dashboard`);
    assert.equal(moved.metadata.namespace, 'grafana');
    assert.equal(moved.metadata.labels?.dashboards, 'idp');
  });

  test('networkPolicy: the metrics port in; DNS, HTTPS and the extra rules out', () => {
    const objects = render(helmBin, [{ networkPolicy: { enabled: true, extraEgress: [{ ports: [{ port: 9093, protocol: 'TCP' }] }] } }]);
    const policy = only(objects, 'NetworkPolicy');
    assert.ok(selects(at(policy, 'spec.podSelector'), at(workload(objects), 'spec.template.metadata.labels')));
    assert.deepEqual(at(policy, 'spec.policyTypes'), ['Ingress', 'Egress']);
    assert.deepEqual(at(policy, 'spec.ingress'), [{ ports: [{ port: 'http', protocol: 'TCP' }] }]);
    const egressPorts = (at(policy, 'spec.egress') as { ports: { port: number; protocol: string }[] }[]).flatMap((rule) => rule.ports.map((port) => `${port.protocol}/${port.port}`));
    assert.deepEqual(egressPorts.sort(), ['TCP/443', 'TCP/53', 'TCP/9093', 'UDP/53']);
  });

  test('podDisruptionBudget: policy/v1 over the pods', () => {
    for (const shards of [1, 3]) {
      const objects = render(helmBin, [{ shards, podDisruptionBudget: { enabled: true } }]);
      const pdb = only(objects, 'PodDisruptionBudget');
      assert.equal(pdb.apiVersion, 'policy/v1');
      assert.equal(at(pdb, 'spec.maxUnavailable'), 1);
      assert.ok(selects(at(pdb, 'spec.selector'), at(workload(objects), 'spec.template.metadata.labels')));
    }
  });

  test('values.schema.json rejects unknown keys and bad values', () => {
    for (const bad of [
      { replicaCount: 2 }, { stsToken: { path: 'relative/token' } }, { image: { pullPolicy: 'Sometimes' } },
      { config: { idps: [{ name: 'Bad Name', issuer: 'https://x' }] } }, { serviceMonitor: { interval: '30 seconds' } },
      { image: { digest: 'latest' } }, { serviceMonitor: { scheme: 'ftp' } }, { existingSecret: 'Not_A_Name' },
      { serviceMonitor: { basicAuth: { username: 'prometheus' } } }, { serviceMonitor: { authorization: { credentials: { name: 's' } } } },
      { livenessProbe: { periodSeconds: 0 } }, { prometheusRule: { runbookBaseUrl: 'wiki page' } },
      { topologySpreadConstraints: [{ maxSkew: 1 }] },
    ]) {
      const run = helm(helmBin, ['template', RELEASE, CHART], [bad]);
      assert.notEqual(run.status, 0, `accepted ${JSON.stringify(bad)}`);
      assert.match(run.stderr, /schema/i, `${JSON.stringify(bad)}: ${run.stderr}`);
    }
  });

  test('the container port follows config.server.listen', () => {
    const objects = render(helmBin, [{ config: { ...chartValues.config, server: { listen: '[::]:9100' } } }]);
    assert.equal(container(objects).ports[0].containerPort, 9100);
    assert.equal(at(only(objects, 'Service', FULLNAME), 'spec.ports.0.targetPort'), 'http');
  });

  test('NOTES.txt renders', () => {
    const run = helm(helmBin, ['install', RELEASE, CHART, '--dry-run=client', '--namespace', NAMESPACE], [everything()]);
    assert.equal(run.status, 0, run.stderr);
    assert.match(run.stdout, /NOTES:[\s\S]*port-forward svc\/canary-idp-canary 9741:9741/);
    assert.match(run.stdout, /system:serviceaccount:monitoring:canary-idp-canary/);
    assert.match(run.stdout, /open https:\/\/127\.0\.0\.1:9741\//, 'the status page over HTTPS with server.tls');
    assert.match(run.stdout, /needs the credentials of config\.server\.auth/);
    const plain = helm(helmBin, ['install', RELEASE, CHART, '--dry-run=client', '--namespace', NAMESPACE]);
    const notes = plain.stdout.split('NOTES:')[1] ?? '';
    assert.match(notes, /open http:\/\/127\.0\.0\.1:9741\//);
    assert.doesNotMatch(notes, /credentials/);
  });

  test('server.tls: probes over HTTPS; the ServiceMonitor scrapes https, trusting the given CA for the Service name', () => {
    const plain = render(helmBin, [{ serviceMonitor: { enabled: true } }]);
    assert.equal(at(container(plain), 'livenessProbe.httpGet.scheme'), 'HTTP');
    assert.equal(at(container(plain), 'readinessProbe.httpGet.scheme'), 'HTTP');
    assert.equal(at(only(plain, 'ServiceMonitor'), 'spec.endpoints.0.scheme'), 'http');
    assert.equal(at(only(plain, 'ServiceMonitor'), 'spec.endpoints.0.tlsConfig'), undefined);

    const objects = render(helmBin, [SCENARIOS.tls!()]);
    const c = container(objects);
    for (const [probe, path] of [['livenessProbe', '/-/healthy'], ['readinessProbe', '/-/ready']] as const) {
      assert.deepEqual(at(c, `${probe}.httpGet`), { path, port: 'http', scheme: 'HTTPS' }, probe);
    }
    const endpoint = at(only(objects, 'ServiceMonitor'), 'spec.endpoints.0');
    assert.equal(endpoint.scheme, 'https');
    assert.deepEqual(endpoint.tlsConfig, { ...TLS_CA, serverName: `${FULLNAME}.${NAMESPACE}.svc` });
    assert.equal(endpoint.authorization, undefined, 'no credentials without server.auth');
    assert.ok(c.volumeMounts.some((mount: { mountPath: string }) => TLS_SERVER.certFile.startsWith(`${mount.mountPath}/`)), 'the certificate is mounted');

    // The given tlsConfig wins over the derived serverName.
    const named = render(helmBin, [{ ...SCENARIOS.tls!(), serviceMonitor: { enabled: true, tlsConfig: { ...TLS_CA, serverName: 'canary.example.com' } } }]);
    assert.equal(at(only(named, 'ServiceMonitor'), 'spec.endpoints.0.tlsConfig.serverName'), 'canary.example.com');
  });

  test('server.auth: the probes stay on the endpoints the daemon leaves open', () => {
    // src/server/auth.ts: the only routes answered without credentials.
    for (const scenario of ['authBearer', 'authBasic', 'tlsAuth', 'extras', 'default'] as const) {
      const c = container(render(helmBin, [SCENARIOS[scenario]!()]));
      for (const probe of ['livenessProbe', 'readinessProbe']) {
        const path = at(c, `${probe}.httpGet.path`);
        if (path !== undefined) assert.ok(OPEN_ROUTES.has(path), `${scenario}: ${probe} probes ${path}, which needs credentials`);
      }
    }
  });

  test('server.auth with a bearer token in existingSecret: the ServiceMonitor sends it from the same Secret', () => {
    const objects = render(helmBin, [SCENARIOS.authBearer!()]);
    const endpoint = at(only(objects, 'ServiceMonitor'), 'spec.endpoints.0');
    assert.deepEqual(endpoint.authorization, { type: 'Bearer', credentials: { name: SECRET, key: 'token' } });
    assert.equal(endpoint.basicAuth, undefined);
    assert.equal(endpoint.scheme, 'http');
    const pod = at(workload(objects), 'spec.template.spec');
    assert.deepEqual(pod.volumes.find((volume: { name: string }) => volume.name === 'existing-secret'), { name: 'existing-secret', secret: { secretName: SECRET } });
    assert.deepEqual(container(objects).volumeMounts.find((mount: { name: string }) => mount.name === 'existing-secret'), { name: 'existing-secret', mountPath: '/etc/idp-canary-secrets', readOnly: true });
    assert.equal(renderedConfig(objects).server.auth.bearerTokenFile, `/etc/idp-canary-secrets/${endpoint.authorization.credentials.key}`, 'the daemon and Prometheus read the same key');
  });

  test('server.auth with basic credentials in existingSecret: basicAuth from its username and password keys', () => {
    const endpoint = at(only(render(helmBin, [SCENARIOS.authBasic!()]), 'ServiceMonitor'), 'spec.endpoints.0');
    assert.deepEqual(endpoint.basicAuth, { username: { name: SECRET, key: 'username' }, password: { name: SECRET, key: 'password' } });
    assert.equal(endpoint.authorization, undefined);
  });

  test('server.tls and server.auth together: https, tlsConfig and one kind of credentials (bearer first)', () => {
    const endpoint = at(only(render(helmBin, [SCENARIOS.tlsAuth!()]), 'ServiceMonitor'), 'spec.endpoints.0');
    assert.equal(endpoint.scheme, 'https');
    assert.equal(endpoint.tlsConfig.serverName, `${FULLNAME}.${NAMESPACE}.svc`);
    assert.deepEqual(endpoint.authorization, { type: 'Bearer', credentials: { name: SECRET, key: 'token' } });
    assert.equal(endpoint.basicAuth, undefined, 'authorization and basicAuth are mutually exclusive');
  });

  test('server.auth: given credentials win; none at all, or both kinds, fail the render', () => {
    const explicit = at(only(render(helmBin, [SCENARIOS.authExplicit!()]), 'ServiceMonitor'), 'spec.endpoints.0');
    assert.deepEqual(explicit.authorization, { type: 'Bearer', credentials: { name: 'scrape-token', key: 'token' } });
    const basic = { username: { name: 'scrape', key: 'user' }, password: { name: 'scrape', key: 'pass' } };
    const givenBasic = at(only(render(helmBin, [{ ...SCENARIOS.authBearer!(), serviceMonitor: { enabled: true, basicAuth: basic } }]), 'ServiceMonitor'), 'spec.endpoints.0');
    assert.deepEqual(givenBasic.basicAuth, basic);
    assert.equal(givenBasic.authorization, undefined);

    // The token file is not in existingSecret, and no credentials are given: every scrape would be a 401.
    const missing = helm(helmBin, ['template', RELEASE, CHART], [{ config: withServer({ auth: BEARER }), serviceMonitor: { enabled: true } }]);
    assert.notEqual(missing.status, 0);
    assert.match(missing.stderr, /config\.server\.auth is set, but the ServiceMonitor would scrape without credentials/);
    const both = helm(helmBin, ['template', RELEASE, CHART], [{ serviceMonitor: { enabled: true, basicAuth: basic, authorization: { credentials: { name: 's', key: 'k' } } } }]);
    assert.notEqual(both.status, 0);
    assert.match(both.stderr, /authorization or basicAuth, not both/);
    // Without a ServiceMonitor there is nothing to send credentials.
    assert.equal(helm(helmBin, ['template', RELEASE, CHART], [{ config: withServer({ auth: BEARER }) }]).status, 0);
  });

  test('existingConfigMap: the pod mounts it, no checksum; scheme and credentials come from the values', () => {
    const objects = render(helmBin, [SCENARIOS.existingConfigMap!()]);
    const pod = at(workload(objects), 'spec.template.spec');
    assert.deepEqual(pod.volumes.find((volume: { name: string }) => volume.name === 'config').configMap, { name: 'idp-canary-config', items: [{ key: 'config.yaml', path: 'config.yaml' }] });
    assert.equal(at(workload(objects), 'spec.template.metadata.annotations')?.['checksum/config'], undefined, 'nothing to checksum');
    assert.equal(env(objects).IDP_CANARY_CONFIG?.value, '/etc/idp-canary/config.yaml');
    assert.equal(at(container(objects), 'livenessProbe.httpGet.scheme'), 'HTTPS');
    const endpoint = at(only(objects, 'ServiceMonitor'), 'spec.endpoints.0');
    assert.equal(endpoint.scheme, 'https');
    assert.deepEqual(endpoint.authorization, { credentials: { name: SECRET, key: 'token' } });
    // The chart's own ConfigMap is mounted the same way.
    const own = at(workload(render(helmBin)), 'spec.template.spec').volumes.find((volume: { name: string }) => volume.name === 'config');
    assert.deepEqual(own.configMap, { name: FULLNAME, items: [{ key: 'config.yaml', path: 'config.yaml' }] });
  });

  test('extras: digest, envFrom, volumes, topology spread, probe overrides, relabelings, scrapeTimeout', () => {
    const objects = render(helmBin, [extras()]);
    const c = container(objects);
    assert.equal(c.image, `registry.example.com/idp-canary@${DIGEST}`, 'the digest replaces the tag');
    assert.deepEqual(c.envFrom, [{ secretRef: { name: 'idp-tokens' } }, { configMapRef: { name: 'proxy-env', optional: true }, prefix: 'PROXY_' }]);
    assert.equal(env(objects).NODE_OPTIONS?.value, '--max-old-space-size=512');
    assert.ok(c.volumeMounts.some((mount: { name: string }) => mount.name === 'corp-ca'));
    const pod = at(workload(objects), 'spec.template.spec');
    assert.ok(pod.volumes.some((volume: { name: string }) => volume.name === 'corp-ca'));
    const [zone, host] = pod.topologySpreadConstraints;
    assert.ok(selects(zone.labelSelector, at(workload(objects), 'spec.template.metadata.labels')), 'a constraint without a selector spreads the chart\'s pods');
    assert.deepEqual(host.labelSelector, { matchLabels: { 'app.kubernetes.io/name': 'idp-canary' } }, 'a given selector is kept');
    assert.deepEqual(c.livenessProbe, { httpGet: { path: '/-/healthy', port: 'http', scheme: 'HTTP' }, initialDelaySeconds: 5, periodSeconds: 20, timeoutSeconds: 3, failureThreshold: 3 });
    assert.deepEqual(c.readinessProbe, { tcpSocket: { port: 'http' }, periodSeconds: 5, timeoutSeconds: 3, failureThreshold: 3 });
    const endpoint = at(only(objects, 'ServiceMonitor'), 'spec.endpoints.0');
    assert.equal(endpoint.scrapeTimeout, '10s');
    assert.deepEqual(endpoint.relabelings, extras() && (extras() as any).serviceMonitor.relabelings);
    assert.deepEqual(endpoint.metricRelabelings, (extras() as any).serviceMonitor.metricRelabelings);
    const noProbe = container(render(helmBin, [{ livenessProbe: null }]));
    assert.equal(noProbe.livenessProbe, undefined, 'null removes a probe');
    assert.ok(noProbe.readinessProbe);
  });

  test('prometheusRule: namespace, labels with additionalLabels, and runbook URLs under runbookBaseUrl', () => {
    const objects = render(helmBin, [extras()]);
    const rule = only(objects, 'PrometheusRule');
    assert.equal(rule.metadata.namespace, 'prometheus-rules');
    assert.equal(rule.metadata.labels?.release, 'kps');
    assert.equal(rule.metadata.labels?.team, 'identity');
    const source = parse(readFileSync(RULES_SOURCE, 'utf8')) as { groups: { rules: { alert?: string; annotations?: Record<string, string> }[] }[] };
    const rendered = at(rule, 'spec.groups') as typeof source.groups;
    const base = 'https://wiki.example.com/idp-canary/runbook';
    let alerts = 0;
    for (const [g, group] of rendered.entries()) {
      for (const [r, entry] of group.rules.entries()) {
        const original = source.groups[g]!.rules[r]!;
        if (entry.alert === undefined) {
          assert.deepEqual(entry, original);
          continue;
        }
        alerts += 1;
        assert.equal(entry.annotations?.runbook_url, `${base}#${entry.alert.toLowerCase()}`, entry.alert);
        // Nothing but the runbook URL differs.
        assert.deepEqual({ ...entry, annotations: { ...entry.annotations, runbook_url: null } }, { ...original, annotations: { ...original.annotations, runbook_url: null } });
      }
    }
    assert.ok(alerts > 10);
    // A trailing # is not doubled.
    const hashed = only(render(helmBin, [{ prometheusRule: { enabled: true, runbookBaseUrl: `${base}#` } }]), 'PrometheusRule');
    assert.equal(at(hashed, 'spec.groups.1.rules.0.annotations.runbook_url'), `${base}#${at(hashed, 'spec.groups.1.rules.0.alert').toLowerCase()}`);
  });

  test('prometheusRule.canaryDownOnly: only IdPCanaryDown, as the rules file has it, for when the daemon sends the rest', () => {
    const source = parse(readFileSync(RULES_SOURCE, 'utf8')) as { groups: { rules: { alert?: string; annotations?: Record<string, string> }[] }[] };
    const expected = source.groups.flatMap((group) => group.rules).filter((rule) => rule.alert === 'IdPCanaryDown');
    assert.equal(expected.length, 1, 'the rules file has IdPCanaryDown');
    const rule = only(render(helmBin, [SCENARIOS.canaryDownOnly!()]), 'PrometheusRule');
    assert.deepEqual(at(rule, 'spec.groups'), [{ name: 'idp-canary', rules: expected }]);
    const moved = only(render(helmBin, [{ prometheusRule: { enabled: true, canaryDownOnly: true, runbookBaseUrl: 'https://wiki.example.com/rb' } }]), 'PrometheusRule');
    assert.equal(at(moved, 'spec.groups.0.rules.0.annotations.runbook_url'), 'https://wiki.example.com/rb#idpcanarydown');
    const notes = helm(helmBin, ['install', RELEASE, CHART, '--dry-run=client', '--namespace', NAMESPACE], [SCENARIOS.canaryDownOnly!()]);
    assert.match(notes.stdout.split('NOTES:')[1] ?? '', /IdPCanaryDown only[\s\S]*The daemon sends the other alerts itself/);
  });

  test('every PrometheusRule the chart renders passes promtool check rules', binaryOptions('promtool'), async (t) => {
    const promtool = requireBinary(t, 'promtool');
    if (promtool === null) return;
    const dir = await makeTempDir();
    try {
      for (const [name, values] of [['rules', { prometheusRule: { enabled: true } }], ['extras', extras()], ['canaryDownOnly', SCENARIOS.canaryDownOnly!()]] as const) {
        const spec: unknown = at(only(render(helmBin, [values as object]), 'PrometheusRule'), 'spec');
        const file = await dir.write(`${name}.rules.yaml`, stringify(spec));
        const result: { status: number | null; stdout: string; stderr: string } = spawnSync(promtool, ['check', 'rules', file], { encoding: 'utf8' });
        assert.equal(result.status, 0, `${name}: ${result.stdout}\n${result.stderr}`);
        assert.match(result.stdout, /SUCCESS: \d+ rules found/, name);
      }
    } finally {
      await dir.remove();
    }
  });

  test('Chart.yaml: home, sources, maintainers and an icon that exists in the repository', () => {
    assert.match(chart.home, /^https:\/\//);
    assert.ok(Array.isArray(chart.sources) && chart.sources.length > 0 && chart.sources.every((url: string) => url.startsWith('https://')));
    assert.ok(Array.isArray(chart.maintainers) && chart.maintainers.every((entry: { name?: string }) => typeof entry.name === 'string' && entry.name.length > 0));
    const icon = /^https:\/\/raw\.githubusercontent\.com\/idp-canary\/idp-canary\/main\/(.+)$/.exec(chart.icon);
    assert.ok(icon, `icon ${chart.icon} is served from the repository`);
    assert.ok(existsSync(join(ROOT, icon[1]!)), `${icon[1]} exists`);
  });

  test('the rendered pod against the real daemon: probes as the kubelet sends them, scrapes as the ServiceMonitor says', async () => {
    // The Secret as the cluster would hold it: the daemon reads its files, Prometheus its keys.
    const secret: Record<string, string> = { token: 'scrape-token-0123456789', username: 'prometheus', password: 'scrape-password-9876' };
    // One IdP that is never due during the test: nothing but the test's own requests.
    const idps = [{ name: 'quiet', issuer: 'https://127.0.0.1:9/', schedule: '0 0 1 1 *' }];
    pki ??= await createPki({ hosts: [`${FULLNAME}.${NAMESPACE}.svc`] });
    const certs = podFiles(pki);
    const readFile = async (path: string) => (path.startsWith('/etc/idp-canary-secrets/') ? `${secret[path.split('/').pop()!]}\n` : certs.readFile(path));
    for (const [name, auth] of [['bearer', BEARER], ['basic', BASIC]] as const) {
      const values = { ...SCENARIOS.tlsAuth!(), config: { server: { listen: '0.0.0.0:9741', tls: TLS_SERVER, auth }, idps } };
      const objects = render(helmBin, [values]);
      const config = await parseConfig(configText(objects), 'configmap', { readFile });
      const { app, log } = testApp(config);
      const server = createServer({ app, logger: log.logger });
      app.start();
      await server.listen({ host: '127.0.0.1', port: 0 });
      try {
        const { port } = server.addresses().find((entry): entry is AddressInfo => typeof entry !== 'string')!;
        const get = (path: string, options: { headers?: Record<string, string>; ca?: string; servername?: string }) =>
          new Promise<{ status: number; authorized: boolean }>((resolve, reject) => {
            const verify = options.ca !== undefined;
            const req = httpsRequest({ host: '127.0.0.1', port, path, agent: false, headers: options.headers ?? {}, rejectUnauthorized: verify, ...(verify ? { ca: options.ca, servername: options.servername } : {}) }, (res) => {
              res.resume().on('end', () => resolve({ status: res.statusCode ?? 0, authorized: (res.socket as import('node:tls').TLSSocket).authorized }));
            });
            req.on('error', reject);
            req.end();
          });
        // The kubelet: the probe's scheme and path, no credentials, no certificate check.
        const c = container(objects);
        for (const probe of ['livenessProbe', 'readinessProbe']) {
          const { path, scheme } = at(c, `${probe}.httpGet`);
          assert.equal(scheme, 'HTTPS', `${name}: ${probe}`);
          assert.equal((await get(path, {})).status, 200, `${name}: ${probe} ${path} answers without credentials`);
        }
        // Prometheus: https, the CA, the serverName and the credentials the ServiceMonitor names.
        const endpoint = at(only(objects, 'ServiceMonitor'), 'spec.endpoints.0');
        assert.equal(endpoint.scheme, 'https');
        const fromSecret = (ref: { name: string; key: string }) => {
          assert.equal(ref.name, SECRET);
          return secret[ref.key]!;
        };
        const authorization = endpoint.authorization
          ? `Bearer ${fromSecret(endpoint.authorization.credentials)}`
          : `Basic ${Buffer.from(`${fromSecret(endpoint.basicAuth.username)}:${fromSecret(endpoint.basicAuth.password)}`).toString('base64')}`;
        const trust: { ca: string; servername: string } = { ca: pki.rootPem, servername: String(endpoint.tlsConfig.serverName) };
        const scrape = await get(endpoint.path, { ...trust, headers: { authorization } });
        assert.equal(scrape.status, 200, `${name}: the scrape is accepted`);
        assert.ok(scrape.authorized, `${name}: the certificate verifies for ${trust.servername}`);
        assert.equal((await get(endpoint.path, trust)).status, 401, `${name}: without credentials, refused`);
      } finally {
        await app.stop(100);
        await server.close();
      }
    }
  });
});
