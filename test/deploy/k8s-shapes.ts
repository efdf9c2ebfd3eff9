/**
 * Structural validation of rendered Kubernetes objects without a cluster: for every kind
 * the chart renders, the fields it may use, with their types, enums and required fields
 * as the Kubernetes API (1.28+) and the Prometheus Operator CRDs define them, strictly
 * (an unknown field is an error, as with `kubectl apply --validate=strict`), plus the
 * cross-field rules the API server enforces (selectors matching pod labels, named ports
 * existing, mounts naming volumes, DNS-1123 names, label syntax).
 *
 * Only the fields the chart can emit are described; those it never emits are `any`.
 * When the npm packages `kubernetes-models` and `@kubernetes-models/prometheus-operator`
 * are installed, `validateWithModels` also checks against their complete schemas.
 */

type Shape =
  | 'string'
  | 'integer'
  | 'boolean'
  | 'intOrString'
  | 'quantity'
  | 'duration'
  | 'any'
  | { kind: 'object'; fields: Record<string, Shape>; required: string[] }
  | { kind: 'array'; of: Shape }
  | { kind: 'map'; of: Shape }
  | { kind: 'enum'; values: string[] };

const obj = (fields: Record<string, Shape>, required: string[] = []): Shape => ({ kind: 'object', fields, required });
const arr = (of: Shape): Shape => ({ kind: 'array', of });
const map = (of: Shape = 'string'): Shape => ({ kind: 'map', of });
const oneOf = (...values: string[]): Shape => ({ kind: 'enum', values });

const labelSelector = obj({
  matchLabels: map(),
  matchExpressions: arr(obj({ key: 'string', operator: oneOf('In', 'NotIn', 'Exists', 'DoesNotExist'), values: arr('string') }, ['key', 'operator'])),
});
const objectMeta = obj({ name: 'string', namespace: 'string', labels: map(), annotations: map() }, ['name']);
const templateMeta = obj({ name: 'string', labels: map(), annotations: map() });
const seccompProfile = obj({ type: oneOf('RuntimeDefault', 'Localhost', 'Unconfined'), localhostProfile: 'string' }, ['type']);
const containerSecurityContext = obj({
  allowPrivilegeEscalation: 'boolean',
  appArmorProfile: 'any',
  capabilities: obj({ add: arr('string'), drop: arr('string') }),
  privileged: 'boolean',
  procMount: 'string',
  readOnlyRootFilesystem: 'boolean',
  runAsGroup: 'integer',
  runAsNonRoot: 'boolean',
  runAsUser: 'integer',
  seLinuxOptions: 'any',
  seccompProfile,
  windowsOptions: 'any',
});
const podSecurityContext = obj({
  appArmorProfile: 'any',
  fsGroup: 'integer',
  fsGroupChangePolicy: oneOf('OnRootMismatch', 'Always'),
  runAsGroup: 'integer',
  runAsNonRoot: 'boolean',
  runAsUser: 'integer',
  seLinuxChangePolicy: 'string',
  seLinuxOptions: 'any',
  seccompProfile,
  supplementalGroups: arr('integer'),
  supplementalGroupsPolicy: oneOf('Merge', 'Strict'),
  sysctls: 'any',
  windowsOptions: 'any',
});
const keyRef = obj({ name: 'string', key: 'string', optional: 'boolean' }, ['key']);
const nameRef = obj({ name: 'string', optional: 'boolean' });
const envFromSource = obj({ prefix: 'string', configMapRef: nameRef, secretRef: nameRef });
const topologySpreadConstraint = obj(
  {
    maxSkew: 'integer',
    topologyKey: 'string',
    whenUnsatisfiable: oneOf('DoNotSchedule', 'ScheduleAnyway'),
    labelSelector,
    minDomains: 'integer',
    matchLabelKeys: arr('string'),
    nodeAffinityPolicy: oneOf('Honor', 'Ignore'),
    nodeTaintsPolicy: oneOf('Honor', 'Ignore'),
  },
  ['maxSkew', 'topologyKey', 'whenUnsatisfiable'],
);
const envVar = obj(
  {
    name: 'string',
    value: 'string',
    valueFrom: obj({
      fieldRef: obj({ apiVersion: 'string', fieldPath: 'string' }, ['fieldPath']),
      configMapKeyRef: keyRef,
      secretKeyRef: keyRef,
      resourceFieldRef: 'any',
      fileKeyRef: 'any',
    }),
  },
  ['name'],
);
const probe = obj({
  httpGet: obj({ path: 'string', port: 'intOrString', scheme: oneOf('HTTP', 'HTTPS'), host: 'string', httpHeaders: 'any' }, ['port']),
  tcpSocket: 'any',
  exec: 'any',
  grpc: 'any',
  initialDelaySeconds: 'integer',
  periodSeconds: 'integer',
  timeoutSeconds: 'integer',
  failureThreshold: 'integer',
  successThreshold: 'integer',
  terminationGracePeriodSeconds: 'integer',
});
const container = obj(
  {
    name: 'string',
    image: 'string',
    imagePullPolicy: oneOf('Always', 'IfNotPresent', 'Never'),
    command: arr('string'),
    args: arr('string'),
    workingDir: 'string',
    env: arr(envVar),
    envFrom: arr(envFromSource),
    ports: arr(obj({ name: 'string', containerPort: 'integer', protocol: oneOf('TCP', 'UDP', 'SCTP'), hostPort: 'integer', hostIP: 'string' }, ['containerPort'])),
    livenessProbe: probe,
    readinessProbe: probe,
    startupProbe: probe,
    lifecycle: 'any',
    resources: obj({ limits: map('quantity'), requests: map('quantity'), claims: 'any' }),
    securityContext: containerSecurityContext,
    volumeMounts: arr(
      obj({ name: 'string', mountPath: 'string', readOnly: 'boolean', subPath: 'string', subPathExpr: 'string', mountPropagation: 'string', recursiveReadOnly: 'string' }, ['name', 'mountPath']),
    ),
    terminationMessagePath: 'string',
    terminationMessagePolicy: oneOf('File', 'FallbackToLogsOnError'),
  },
  ['name'],
);
const volume = obj(
  {
    name: 'string',
    configMap: obj({ name: 'string', items: 'any', defaultMode: 'integer', optional: 'boolean' }),
    secret: obj({ secretName: 'string', items: 'any', defaultMode: 'integer', optional: 'boolean' }),
    emptyDir: obj({ medium: 'string', sizeLimit: 'quantity' }),
    projected: obj({
      defaultMode: 'integer',
      sources: arr(
        obj({
          serviceAccountToken: obj({ audience: 'string', expirationSeconds: 'integer', path: 'string' }, ['path']),
          configMap: 'any',
          secret: 'any',
          downwardAPI: 'any',
          clusterTrustBundle: 'any',
          podCertificate: 'any',
        }),
      ),
    }),
    persistentVolumeClaim: 'any',
    csi: 'any',
    downwardAPI: 'any',
    hostPath: 'any',
    ephemeral: 'any',
    image: 'any',
  },
  ['name'],
);
const podSpec = obj(
  {
    containers: arr(container),
    initContainers: arr(container),
    volumes: arr(volume),
    serviceAccountName: 'string',
    automountServiceAccountToken: 'boolean',
    imagePullSecrets: arr(obj({ name: 'string' })),
    priorityClassName: 'string',
    terminationGracePeriodSeconds: 'integer',
    securityContext: podSecurityContext,
    nodeSelector: map(),
    affinity: 'any',
    tolerations: arr('any'),
    topologySpreadConstraints: arr(topologySpreadConstraint),
    dnsPolicy: 'string',
    enableServiceLinks: 'boolean',
  },
  ['containers'],
);
const podTemplate = obj({ metadata: templateMeta, spec: podSpec }, ['spec']);
const servicePort = obj({ name: 'string', port: 'integer', targetPort: 'intOrString', protocol: oneOf('TCP', 'UDP', 'SCTP'), nodePort: 'integer', appProtocol: 'string' }, ['port']);
const peer = obj({ podSelector: labelSelector, namespaceSelector: labelSelector, ipBlock: obj({ cidr: 'string', except: arr('string') }, ['cidr']) });
const policyPort = obj({ port: 'intOrString', protocol: oneOf('TCP', 'UDP', 'SCTP'), endPort: 'integer' });

// Prometheus Operator (monitoring.coreos.com/v1) scrape settings, as its CRDs define them.
const secretOrConfigMap = obj({ secret: keyRef, configMap: keyRef });
const safeTlsConfig = obj({
  ca: secretOrConfigMap,
  cert: secretOrConfigMap,
  keySecret: keyRef,
  serverName: 'string',
  insecureSkipVerify: 'boolean',
  minVersion: oneOf('TLS10', 'TLS11', 'TLS12', 'TLS13'),
  maxVersion: oneOf('TLS10', 'TLS11', 'TLS12', 'TLS13'),
});
const relabelConfig = obj({
  sourceLabels: arr('string'),
  separator: 'string',
  targetLabel: 'string',
  regex: 'string',
  modulus: 'integer',
  replacement: 'string',
  action: oneOf('replace', 'Replace', 'keep', 'Keep', 'drop', 'Drop', 'hashmod', 'HashMod', 'labelmap', 'LabelMap', 'labeldrop', 'LabelDrop', 'labelkeep', 'LabelKeep', 'lowercase', 'Lowercase', 'uppercase', 'Uppercase', 'keepequal', 'KeepEqual', 'dropequal', 'DropEqual'),
});

const base = (spec: Record<string, Shape>, required: string[] = []) => obj({ apiVersion: 'string', kind: 'string', metadata: objectMeta, ...spec }, ['apiVersion', 'kind', 'metadata', ...required]);

/** The kinds the chart may render, by `apiVersion/kind`. */
export const SHAPES: Record<string, Shape> = {
  'v1/ConfigMap': base({ data: map(), binaryData: map(), immutable: 'boolean' }),
  'v1/ServiceAccount': base({ automountServiceAccountToken: 'boolean', imagePullSecrets: arr(obj({ name: 'string' })), secrets: 'any' }),
  'v1/Service': base(
    {
      spec: obj({
        type: oneOf('ClusterIP', 'NodePort', 'LoadBalancer', 'ExternalName'),
        selector: map(),
        ports: arr(servicePort),
        clusterIP: 'string',
        publishNotReadyAddresses: 'boolean',
        sessionAffinity: 'string',
        ipFamilyPolicy: 'string',
        ipFamilies: arr('string'),
        internalTrafficPolicy: 'string',
        externalTrafficPolicy: 'string',
        loadBalancerClass: 'string',
        trafficDistribution: 'string',
      }),
    },
    ['spec'],
  ),
  'apps/v1/Deployment': base(
    {
      spec: obj(
        {
          replicas: 'integer',
          revisionHistoryLimit: 'integer',
          minReadySeconds: 'integer',
          progressDeadlineSeconds: 'integer',
          paused: 'boolean',
          selector: labelSelector,
          strategy: obj({ type: oneOf('RollingUpdate', 'Recreate'), rollingUpdate: obj({ maxSurge: 'intOrString', maxUnavailable: 'intOrString' }) }),
          template: podTemplate,
        },
        ['selector', 'template'],
      ),
    },
    ['spec'],
  ),
  'apps/v1/StatefulSet': base(
    {
      spec: obj(
        {
          replicas: 'integer',
          serviceName: 'string',
          podManagementPolicy: oneOf('OrderedReady', 'Parallel'),
          revisionHistoryLimit: 'integer',
          minReadySeconds: 'integer',
          updateStrategy: obj({ type: oneOf('RollingUpdate', 'OnDelete'), rollingUpdate: obj({ partition: 'integer', maxUnavailable: 'intOrString' }) }),
          selector: labelSelector,
          template: podTemplate,
          volumeClaimTemplates: 'any',
          persistentVolumeClaimRetentionPolicy: 'any',
          ordinals: obj({ start: 'integer' }),
        },
        ['selector', 'template'],
      ),
    },
    ['spec'],
  ),
  'networking.k8s.io/v1/NetworkPolicy': base(
    {
      spec: obj(
        {
          podSelector: labelSelector,
          policyTypes: arr(oneOf('Ingress', 'Egress')),
          ingress: arr(obj({ from: arr(peer), ports: arr(policyPort) })),
          egress: arr(obj({ to: arr(peer), ports: arr(policyPort) })),
        },
        ['podSelector'],
      ),
    },
    ['spec'],
  ),
  'policy/v1/PodDisruptionBudget': base(
    { spec: obj({ minAvailable: 'intOrString', maxUnavailable: 'intOrString', selector: labelSelector, unhealthyPodEvictionPolicy: oneOf('IfHealthyBudget', 'AlwaysAllow') }) },
    ['spec'],
  ),
  'monitoring.coreos.com/v1/ServiceMonitor': base(
    {
      spec: obj(
        {
          selector: labelSelector,
          namespaceSelector: obj({ any: 'boolean', matchNames: arr('string') }),
          endpoints: arr(
            obj({
              port: 'string',
              targetPort: 'intOrString',
              path: 'string',
              scheme: oneOf('http', 'https', 'HTTP', 'HTTPS'),
              interval: 'duration',
              scrapeTimeout: 'duration',
              honorLabels: 'boolean',
              honorTimestamps: 'boolean',
              relabelings: arr(relabelConfig),
              metricRelabelings: arr(relabelConfig),
              params: 'any',
              tlsConfig: safeTlsConfig,
              authorization: obj({ type: 'string', credentials: keyRef }),
              basicAuth: obj({ username: keyRef, password: keyRef }),
              bearerTokenSecret: keyRef,
            }),
          ),
          jobLabel: 'string',
          targetLabels: arr('string'),
          podTargetLabels: arr('string'),
          sampleLimit: 'integer',
        },
        ['selector'],
      ),
    },
    ['spec'],
  ),
  'monitoring.coreos.com/v1/PrometheusRule': base(
    {
      spec: obj({
        groups: arr(
          obj(
            {
              name: 'string',
              interval: 'duration',
              query_offset: 'duration',
              limit: 'integer',
              labels: map(),
              partial_response_strategy: 'string',
              rules: arr(
                obj(
                  { alert: 'string', record: 'string', expr: 'intOrString', for: 'duration', keep_firing_for: 'duration', labels: map(), annotations: map() },
                  ['expr'],
                ),
              ),
            },
            ['name'],
          ),
        ),
      }),
    },
    ['spec'],
  ),
};

const DURATION = /^(0|(([0-9]+)y)?(([0-9]+)w)?(([0-9]+)d)?(([0-9]+)h)?(([0-9]+)m)?(([0-9]+)s)?(([0-9]+)ms)?)$/;
const QUANTITY = /^[+-]?(\d+(\.\d*)?|\.\d+)(([KMGTPE]i)|[numkMGTPE]|[eE][+-]?\d+)?$/;

function check(value: unknown, shape: Shape, path: string, errors: string[]): void {
  if (value === null || value === undefined) return;
  if (shape === 'any') return;
  if (shape === 'string') {
    if (typeof value !== 'string') errors.push(`${path}: expected a string, got ${JSON.stringify(value)}`);
  } else if (shape === 'integer') {
    if (!Number.isInteger(value)) errors.push(`${path}: expected an integer, got ${JSON.stringify(value)}`);
  } else if (shape === 'boolean') {
    if (typeof value !== 'boolean') errors.push(`${path}: expected a boolean, got ${JSON.stringify(value)}`);
  } else if (shape === 'intOrString') {
    if (!Number.isInteger(value) && typeof value !== 'string') errors.push(`${path}: expected an integer or a string, got ${JSON.stringify(value)}`);
  } else if (shape === 'quantity') {
    if (!(typeof value === 'number' || (typeof value === 'string' && QUANTITY.test(value)))) errors.push(`${path}: not a resource quantity: ${JSON.stringify(value)}`);
  } else if (shape === 'duration') {
    if (typeof value !== 'string' || !DURATION.test(value)) errors.push(`${path}: not a Prometheus duration: ${JSON.stringify(value)}`);
  } else if (shape.kind === 'enum') {
    if (typeof value !== 'string' || !shape.values.includes(value)) errors.push(`${path}: ${JSON.stringify(value)} is not one of ${shape.values.join(', ')}`);
  } else if (shape.kind === 'array') {
    if (!Array.isArray(value)) errors.push(`${path}: expected an array`);
    else value.forEach((item, index) => check(item, shape.of, `${path}[${index}]`, errors));
  } else if (shape.kind === 'map') {
    if (typeof value !== 'object' || Array.isArray(value)) errors.push(`${path}: expected a map`);
    else for (const [key, item] of Object.entries(value)) check(item, shape.of, `${path}.${key}`, errors);
  } else {
    if (typeof value !== 'object' || Array.isArray(value)) {
      errors.push(`${path}: expected an object`);
      return;
    }
    const record = value as Record<string, unknown>;
    for (const key of shape.required) if (record[key] === undefined || record[key] === null) errors.push(`${path}.${key}: required`);
    for (const [key, item] of Object.entries(record)) {
      const field = shape.fields[key];
      if (field === undefined) errors.push(`${path}.${key}: unknown field`);
      else check(item, field, `${path}.${key}`, errors);
    }
  }
}

const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const LABEL_NAME = /^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/;
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;
const PORT_NAME = /^(?=.*[a-z])[a-z0-9]([a-z0-9-]{0,13}[a-z0-9])?$/;
const ENV_NAME = /^[-._a-zA-Z][-._a-zA-Z0-9]*$/;

function matches(selector: Record<string, unknown> | undefined, labels: Record<string, string>): boolean {
  const matchLabels = (selector?.matchLabels ?? {}) as Record<string, string>;
  return Object.entries(matchLabels).every(([key, value]) => labels[key] === value);
}

/** Cross-field rules the API server enforces on a pod template. */
function checkPodTemplate(template: any, selector: any, path: string, errors: string[]): void {
  const labels = (template?.metadata?.labels ?? {}) as Record<string, string>;
  if (!selector || Object.keys(selector.matchLabels ?? {}).length === 0) errors.push(`${path}: empty selector`);
  else if (!matches(selector, labels)) errors.push(`${path}: selector does not match the template's labels`);
  const spec = template?.spec ?? {};
  const volumes = new Set<string>();
  for (const volume of spec.volumes ?? []) {
    if (volumes.has(volume.name)) errors.push(`${path}: duplicate volume ${volume.name}`);
    volumes.add(volume.name);
    if (!DNS1123_LABEL.test(volume.name)) errors.push(`${path}: volume name ${volume.name} is not a DNS-1123 label`);
    const sources = ['configMap', 'secret', 'emptyDir', 'projected', 'persistentVolumeClaim', 'csi', 'downwardAPI', 'hostPath', 'ephemeral', 'image'].filter((key) => volume[key] !== undefined);
    if (sources.length !== 1) errors.push(`${path}: volume ${volume.name} must have exactly one source, has ${sources.join(', ') || 'none'}`);
    for (const source of volume.projected?.sources ?? []) {
      const token = source.serviceAccountToken;
      if (token && token.expirationSeconds !== undefined && token.expirationSeconds < 600) errors.push(`${path}: projected token expirationSeconds must be at least 600`);
      if (token && (token.path.startsWith('/') || token.path.includes('..'))) errors.push(`${path}: projected token path must be relative`);
    }
  }
  const containerNames = new Set<string>();
  for (const c of spec.containers ?? []) {
    if (!DNS1123_LABEL.test(c.name ?? '')) errors.push(`${path}: container name ${c.name} is not a DNS-1123 label`);
    if (containerNames.has(c.name)) errors.push(`${path}: duplicate container ${c.name}`);
    containerNames.add(c.name);
    if (!c.image) errors.push(`${path}: container ${c.name} has no image`);
    const ports = new Set<string>();
    for (const port of c.ports ?? []) {
      if (port.name !== undefined) {
        if (!PORT_NAME.test(port.name)) errors.push(`${path}: port name ${port.name} is not an IANA service name`);
        ports.add(port.name);
      }
      if (port.containerPort < 1 || port.containerPort > 65535) errors.push(`${path}: containerPort ${port.containerPort} out of range`);
    }
    for (const probeName of ['livenessProbe', 'readinessProbe', 'startupProbe']) {
      if (c[probeName] !== undefined) {
        const handlers = ['httpGet', 'tcpSocket', 'exec', 'grpc'].filter((key) => c[probeName][key] !== undefined && c[probeName][key] !== null);
        if (handlers.length !== 1) errors.push(`${path}: ${probeName} must have exactly one handler, has ${handlers.join(', ') || 'none'}`);
      }
      const port = c[probeName]?.httpGet?.port;
      if (typeof port === 'string' && !ports.has(port)) errors.push(`${path}: ${probeName} names port ${port}, which the container does not declare`);
    }
    for (const source of c.envFrom ?? []) {
      const refs = ['configMapRef', 'secretRef'].filter((key) => source[key] !== undefined);
      if (refs.length !== 1) errors.push(`${path}: an envFrom entry must have exactly one of configMapRef, secretRef`);
      for (const key of refs) if (!source[key].name) errors.push(`${path}: envFrom ${key} without a name`);
    }
    const envNames = new Set<string>();
    for (const env of c.env ?? []) {
      if (!ENV_NAME.test(env.name)) errors.push(`${path}: env name ${env.name} is invalid`);
      if (envNames.has(env.name)) errors.push(`${path}: duplicate env ${env.name}`);
      envNames.add(env.name);
      if (env.value !== undefined && env.valueFrom !== undefined) errors.push(`${path}: env ${env.name} has both value and valueFrom`);
      // $(VAR) only expands variables defined earlier in the list.
      for (const [, name] of String(env.value ?? '').matchAll(/\$\(([^)]+)\)/g)) {
        if (!envNames.has(name!) || name === env.name) errors.push(`${path}: env ${env.name} refers to $(${name}), not defined before it`);
      }
    }
    const mountPaths = new Set<string>();
    for (const mount of c.volumeMounts ?? []) {
      if (!volumes.has(mount.name)) errors.push(`${path}: volumeMount ${mount.name} names no volume`);
      if (mountPaths.has(mount.mountPath)) errors.push(`${path}: duplicate mountPath ${mount.mountPath}`);
      mountPaths.add(mount.mountPath);
      if (!String(mount.mountPath).startsWith('/')) errors.push(`${path}: mountPath ${mount.mountPath} is not absolute`);
    }
  }
}

/** A Prometheus duration ("1m30s") in seconds. */
function durationSeconds(text: string): number {
  const units: Record<string, number> = { ms: 0.001, s: 1, m: 60, h: 3600, d: 86400, w: 604800, y: 31536000 };
  let total = 0;
  for (const [, value, unit] of String(text).matchAll(/(\d+)(ms|s|m|h|d|w|y)/g)) total += Number(value) * units[unit!]!;
  return total;
}

/** Errors of one rendered object: structural (unknown fields, types, required) and semantic. */
export function validateObject(object: any): string[] {
  const errors: string[] = [];
  const key = `${object?.apiVersion}/${object?.kind}`;
  const id = `${object?.kind}/${object?.metadata?.name}`;
  const shape = SHAPES[key];
  if (!shape) return [`${id}: no shape known for ${key} (add it to test/deploy/k8s-shapes.ts)`];
  check(object, shape, id, errors);
  const meta = object.metadata ?? {};
  const nameOk = object.kind === 'Service' ? DNS1123_LABEL.test(meta.name) && meta.name.length <= 63 : DNS1123_SUBDOMAIN.test(meta.name) && meta.name.length <= 253;
  if (!nameOk) errors.push(`${id}: invalid name`);
  for (const labels of [meta.labels ?? {}, object.spec?.template?.metadata?.labels ?? {}]) {
    for (const [name, value] of Object.entries(labels as Record<string, unknown>)) {
      if (!LABEL_NAME.test(name)) errors.push(`${id}: invalid label name ${name}`);
      if (typeof value !== 'string' || value.length > 63 || !LABEL_VALUE.test(value)) errors.push(`${id}: invalid label value ${name}=${JSON.stringify(value)}`);
    }
  }
  for (const name of Object.keys(meta.annotations ?? {})) if (!LABEL_NAME.test(name)) errors.push(`${id}: invalid annotation name ${name}`);
  if (object.kind === 'Deployment' || object.kind === 'StatefulSet') checkPodTemplate(object.spec?.template, object.spec?.selector, id, errors);
  if (object.kind === 'PodDisruptionBudget' && object.spec?.minAvailable !== undefined && object.spec?.maxUnavailable !== undefined) {
    errors.push(`${id}: minAvailable and maxUnavailable are mutually exclusive`);
  }
  if (object.kind === 'Service') {
    for (const port of object.spec?.ports ?? []) {
      if (port.name !== undefined && !PORT_NAME.test(port.name)) errors.push(`${id}: port name ${port.name} invalid`);
      if (port.port < 1 || port.port > 65535) errors.push(`${id}: port ${port.port} out of range`);
    }
  }
  if (object.kind === 'ServiceMonitor') {
    for (const [index, endpoint] of (object.spec?.endpoints ?? []).entries()) {
      const where = `${id}: endpoints[${index}]`;
      const credentials = ['authorization', 'basicAuth', 'bearerTokenSecret'].filter((key) => endpoint[key] !== undefined);
      if (credentials.length > 1) errors.push(`${where}: ${credentials.join(' and ')} are mutually exclusive`);
      if (endpoint.authorization?.type !== undefined && endpoint.authorization.type.toLowerCase() === 'basic') errors.push(`${where}: authorization type Basic is not allowed, use basicAuth`);
      if (endpoint.tlsConfig !== undefined && String(endpoint.scheme).toLowerCase() !== 'https') errors.push(`${where}: tlsConfig without scheme https is never used`);
      for (const ref of [endpoint.authorization?.credentials, endpoint.basicAuth?.username, endpoint.basicAuth?.password]) {
        if (ref !== undefined && !ref.name) errors.push(`${where}: a secret reference without a name`);
      }
      if (endpoint.interval && endpoint.scrapeTimeout && durationSeconds(endpoint.scrapeTimeout) > durationSeconds(endpoint.interval)) errors.push(`${where}: scrapeTimeout longer than interval`);
    }
  }
  if (object.kind === 'ConfigMap') {
    for (const dataKey of Object.keys(object.data ?? {})) if (!/^[-._a-zA-Z0-9]+$/.test(dataKey)) errors.push(`${id}: invalid data key ${dataKey}`);
    const size = Object.values(object.data ?? {}).reduce((sum: number, value) => sum + Buffer.byteLength(String(value)), 0);
    if (size > 1024 * 1024) errors.push(`${id}: data exceeds 1 MiB`);
  }
  return errors;
}

/**
 * Validates with the `kubernetes-models` packages when they are installed; returns null
 * when they are not (the caller decides whether that is a failure).
 */
export async function validateWithModels(objects: any[]): Promise<string[] | null> {
  const load = async (specifier: string): Promise<Record<string, any> | null> => {
    try {
      return (await import(specifier)) as Record<string, any>;
    } catch (error) {
      if ((error as { code?: string }).code === 'ERR_MODULE_NOT_FOUND') return null;
      throw error;
    }
  };
  const groups: Record<string, string> = {
    v1: 'kubernetes-models/v1',
    'apps/v1': 'kubernetes-models/apps/v1',
    'networking.k8s.io/v1': 'kubernetes-models/networking.k8s.io/v1',
    'policy/v1': 'kubernetes-models/policy/v1',
    'monitoring.coreos.com/v1': '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1',
  };
  const errors: string[] = [];
  for (const object of objects) {
    const specifier = groups[object.apiVersion];
    const module = specifier ? await load(specifier) : null;
    if (module === null) return null;
    const Model = module[object.kind];
    if (typeof Model !== 'function') {
      errors.push(`${object.kind}/${object.metadata?.name}: ${specifier} has no model for ${object.kind}`);
      continue;
    }
    try {
      new Model(object).validate();
    } catch (error) {
      errors.push(`${object.kind}/${object.metadata?.name}: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
  return errors;
}
