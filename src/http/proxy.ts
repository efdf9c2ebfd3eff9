/**
 * Egress through an HTTP proxy: what `HTTPS_PROXY` / `https_proxy` and `NO_PROXY` /
 * `no_proxy` say, and whether one URL goes through the proxy. Pure: the composition root
 * hands in the environment once (main.ts), the HTTP layer receives the parsed settings
 * (docs/configuration.md, "Egress through a proxy").
 *
 * Semantics follow curl's, the reference most operators test with:
 * - the lower-case variable wins over the upper-case one; an empty variable counts as unset;
 * - only https:// URLs use the proxy (HTTP_PROXY is not read: plain http:// is for labs);
 * - the proxy URL is `http://[user:password@]host[:port]` (no scheme means http://; no port
 *   means 80); credentials are percent-decoded and sent as `Proxy-Authorization: Basic`;
 * - NO_PROXY is a comma-separated list: `*` (nothing is proxied), host names (matching the
 *   name and every name under it; a leading `.` or `*.` changes nothing), `host:port` (that
 *   port only), IP literals (`10.0.0.1`, `::1`, `[::1]:8443`) and CIDR ranges (`10.0.0.0/8`),
 *   compared case-insensitively; names are never resolved to match an IP entry;
 * - one deliberate difference: loopback (`localhost`, `*.localhost`, 127.0.0.0/8, ::1) is
 *   never proxied, as in Go's net/http: a proxy cannot reach the canary's own loopback, and
 *   `npm run demo` (IdPs on 127.0.0.1) must work in a shell that exports HTTPS_PROXY.
 */
import { BlockList, isIP } from 'node:net';

/** Where the proxy is and how to authenticate to it. Plain data: it crosses to the probe thread. */
export interface ProxyEndpoint {
  host: string;
  port: number;
  /** `http://host:port`, without credentials: the only form that may be logged or shown. */
  display: string;
  /** The `Proxy-Authorization` header value (`Basic …`), when the URL carried credentials. A secret. */
  authorization?: string;
}

/** One NO_PROXY entry. */
export type NoProxyEntry =
  | { kind: 'all' }
  | { kind: 'name'; name: string; port?: number }
  | { kind: 'ip'; address: string; family: 4 | 6; prefix: number; port?: number };

/** The proxy settings of the process: plain data (structured-cloneable). */
export interface ProxySettings {
  /** The proxy for https:// URLs, or undefined when none is set. */
  https?: ProxyEndpoint;
  noProxy: NoProxyEntry[];
  /** Which variables the settings came from, for the start-up log line. */
  sources: string[];
}

/** A malformed proxy variable; the message names it. */
export class ProxySettingsError extends Error {}

/** The value of a variable pair, lower case first (curl's order); empty counts as unset. */
function pick(env: Readonly<Record<string, string | undefined>>, lower: string): { name: string; value: string } | undefined {
  for (const name of [lower, lower.toUpperCase()]) {
    const value = env[name]?.trim();
    if (value) return { name, value };
  }
  return undefined;
}

function decode(name: string, text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    throw new ProxySettingsError(`${name}: the credentials are not valid percent-encoding`);
  }
}

/** Parses a proxy URL. The error names the variable and never repeats the value (it may hold a password). */
export function parseProxyUrl(name: string, value: string): ProxyEndpoint {
  const text = /^[a-z][a-z0-9+.-]*:\/\//i.test(value) ? value : `http://${value}`;
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new ProxySettingsError(`${name}: not a proxy URL (expected http://[user:password@]host[:port])`);
  }
  if (url.protocol !== 'http:') {
    throw new ProxySettingsError(`${name}: only http:// proxies are supported (got ${url.protocol}//); the tunnel to the IdP is TLS either way`);
  }
  if (url.hostname === '') throw new ProxySettingsError(`${name}: the proxy URL has no host`);
  if ((url.pathname !== '/' && url.pathname !== '') || url.search !== '' || url.hash !== '') {
    throw new ProxySettingsError(`${name}: the proxy URL must be only scheme, host and port (no path or query)`);
  }
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
  const port = Number(url.port || 80);
  const display = `http://${url.host}`;
  if (url.username === '' && url.password === '') return { host, port, display };
  const credentials = `${decode(name, url.username)}:${decode(name, url.password)}`;
  return { host, port, display, authorization: `Basic ${Buffer.from(credentials, 'utf8').toString('base64')}` };
}

/** Strips brackets and one trailing dot, lower-cases. */
function normaliseHost(host: string): string {
  return host.replace(/^\[(.*)\]$/, '$1').replace(/\.$/, '').toLowerCase();
}

/** Parses one NO_PROXY entry, or null for an entry that can match nothing. */
function parseEntry(raw: string): NoProxyEntry | null {
  let text = raw.trim().toLowerCase();
  if (text === '') return null;
  if (text === '*') return { kind: 'all' };
  let port: number | undefined;
  const bracketed = /^\[([^\]]+)\](?::(\d+))?$/.exec(text);
  if (bracketed) {
    text = bracketed[1]!;
    if (bracketed[2] !== undefined) port = Number(bracketed[2]);
  } else if (isIP(text) === 0 && !text.includes('/')) {
    const withPort = /^([^:]+):(\d+)$/.exec(text);
    if (withPort) {
      text = withPort[1]!;
      port = Number(withPort[2]);
    }
  }
  const withPort = port === undefined ? {} : { port };
  const [address = '', prefixText] = text.split('/');
  const family = isIP(address);
  if (family !== 0) {
    const max = family === 4 ? 32 : 128;
    const prefix = prefixText === undefined ? max : /^\d+$/.test(prefixText) ? Number(prefixText) : Number.NaN;
    if (!(prefix >= 0 && prefix <= max)) return null;
    return { kind: 'ip', address, family: family as 4 | 6, prefix, ...withPort };
  }
  const name = normaliseHost(text.replace(/^\*?\./, ''));
  return name === '' ? null : { kind: 'name', name, ...withPort };
}

/** Parses a NO_PROXY value (comma-separated; whitespace around entries ignored). */
export function parseNoProxy(value: string): NoProxyEntry[] {
  return value.split(',').flatMap((part) => {
    const entry = parseEntry(part);
    return entry === null ? [] : [entry];
  });
}

/** Reads the proxy variables of an environment. Throws ProxySettingsError naming a malformed variable. */
export function proxySettingsFromEnv(env: Readonly<Record<string, string | undefined>>): ProxySettings {
  const proxy = pick(env, 'https_proxy');
  const noProxy = pick(env, 'no_proxy');
  return {
    ...(proxy === undefined ? {} : { https: parseProxyUrl(proxy.name, proxy.value) }),
    noProxy: noProxy === undefined ? [] : parseNoProxy(noProxy.value),
    sources: [proxy?.name, noProxy?.name].filter((name): name is string => name !== undefined),
  };
}

function matches(entry: NoProxyEntry, host: string, port: number): boolean {
  if (entry.kind === 'all') return true;
  if (entry.port !== undefined && entry.port !== port) return false;
  if (entry.kind === 'name') return host === entry.name || host.endsWith(`.${entry.name}`);
  const family = isIP(host);
  if (family === 0) return false;
  const list = new BlockList();
  list.addSubnet(entry.address, entry.prefix, entry.family === 4 ? 'ipv4' : 'ipv6');
  return list.check(host, family === 4 ? 'ipv4' : 'ipv6');
}

/** Whether NO_PROXY exempts this host and port. */
export function bypassesProxy(entries: readonly NoProxyEntry[], hostname: string, port: number): boolean {
  const host = normaliseHost(hostname);
  return entries.some((entry) => matches(entry, host, port));
}

const LOOPBACK = new BlockList();
LOOPBACK.addSubnet('127.0.0.0', 8, 'ipv4');
LOOPBACK.addAddress('::1', 'ipv6');

/** Whether a URL's host is this machine's loopback (never proxied). */
export function isLoopbackHost(hostname: string): boolean {
  const host = normaliseHost(hostname);
  if (host === 'localhost' || host.endsWith('.localhost')) return true;
  const family = isIP(host);
  return family !== 0 && LOOPBACK.check(host, family === 4 ? 'ipv4' : 'ipv6');
}

/** The proxy a URL goes through, or undefined for a direct connection. */
export function proxyFor(settings: ProxySettings | undefined, url: URL): ProxyEndpoint | undefined {
  if (settings?.https === undefined || url.protocol !== 'https:' || isLoopbackHost(url.hostname)) return undefined;
  const port = Number(url.port || 443);
  return bypassesProxy(settings.noProxy, url.hostname, port) ? undefined : settings.https;
}

/** What a log line may say about the proxy settings: never the credentials. */
export function describeProxy(settings: ProxySettings): { proxy: string; authenticated: boolean; noProxy: number; from: string[] } | undefined {
  if (settings.https === undefined) return undefined;
  return { proxy: settings.https.display, authenticated: settings.https.authorization !== undefined, noProxy: settings.noProxy.length, from: settings.sources };
}
