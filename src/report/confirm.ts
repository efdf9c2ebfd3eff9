/**
 * Shell commands a user can paste to confirm a finding of `idp-canary check` with
 * standard tools (curl, openssl, jq, the AWS CLI). URLs in them may come from a hostile
 * server (a jwks_uri), so every argument is single-quoted for a POSIX shell and control
 * characters are dropped. Commands never contain a token: token checks point at the file.
 */

/** Quotes `text` as one POSIX shell word; control characters are removed. */
export function shellQuote(text: string): string {
  const clean = text.replace(/[\u0000-\u001f\u007f-\u009f]/g, '');
  if (/^[A-Za-z0-9_@%+=:,./-]+$/.test(clean)) return clean;
  return `'${clean.replace(/'/g, `'\\''`)}'`;
}

/** Options shared by the command builders. */
export interface ConfirmOptions {
  /** PEM file of an extra CA to trust (`--ca-file` of `check`). */
  caFile?: string | undefined;
}

function cacert(options: ConfirmOptions): string {
  return options.caFile === undefined ? '' : `--cacert ${shellQuote(options.caFile)} `;
}

/** Shows status line and headers of a GET, discarding the body. */
export function curlHeaders(url: string, options: ConfirmOptions = {}): string {
  return `curl -sS -D- -o /dev/null ${cacert(options)}${shellQuote(url)}`;
}

/** Shows only the caching headers of a GET. */
export function curlCacheHeaders(url: string, options: ConfirmOptions = {}): string {
  return `${curlHeaders(url, options)} | grep -iE '^(cache-control|pragma|expires|age):'`;
}

/** The time curl took to connect, finish TLS, get the first byte, and finish, in seconds. */
export function curlTiming(url: string, options: ConfirmOptions = {}): string {
  return `curl -sS -o /dev/null ${cacert(options)}-w '%{time_connect} %{time_appconnect} %{time_starttransfer} %{time_total}\\n' ${shellQuote(url)}`;
}

/** Both requests of the chain, timed one after the other as STS makes them. */
export function curlChainTiming(discoveryUrl: string, jwksUrl: string | null, options: ConfirmOptions = {}): string {
  const first = curlTiming(discoveryUrl, options);
  return jwksUrl === null ? first : `${first}; ${curlTiming(jwksUrl, options)}`;
}

/** Fetches a JSON document and filters it with jq. */
export function curlJq(url: string, filter: string, options: ConfirmOptions = {}): string {
  return `curl -sS ${cacert(options)}${shellQuote(url)} | jq ${shellQuote(filter)}`;
}

/** `host` and `port` of a URL for openssl; null when it is not http(s). */
export function hostPort(url: string): { host: string; port: number } | null {
  try {
    const parsed = new URL(url);
    if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:') return null;
    return { host: parsed.hostname.replace(/^\[(.*)\]$/, '$1'), port: Number(parsed.port || (parsed.protocol === 'https:' ? 443 : 80)) };
  } catch {
    return null;
  }
}

function sClient(url: string, options: ConfirmOptions, extra: string): string {
  const target = hostPort(url);
  if (target === null) return '';
  const connect = target.host.includes(':') ? `[${target.host}]:${target.port}` : `${target.host}:${target.port}`;
  const ca = options.caFile === undefined ? '' : ` -CAfile ${shellQuote(options.caFile)}`;
  return `openssl s_client ${extra}-connect ${shellQuote(connect)} -servername ${shellQuote(target.host)}${ca} </dev/null`;
}

/** Prints every certificate the server sends; the last one is the "top intermediate" IAM fingerprints. */
export function opensslShowCerts(url: string, options: ConfirmOptions = {}): string {
  return sClient(url, options, '-showcerts ');
}

/** Prints the expiry date of the server's leaf certificate. */
export function opensslEndDate(url: string, options: ConfirmOptions = {}): string {
  const client = sClient(url, options, '');
  return client === '' ? '' : `${client} 2>/dev/null | openssl x509 -noout -enddate`;
}

/** Decodes the header and payload of the token in `file` (never prints the signature). */
export function jqDecodeToken(file: string): string {
  return `jq -R 'split(".") | .[0,1] | @base64d | fromjson' < ${shellQuote(file)}`;
}

/** The same call with the AWS CLI, reading the token from the file. */
export function awsAssumeRole(input: { roleArn: string; region: string; endpoint: string; tokenFile: string }): string {
  return (
    `aws sts assume-role-with-web-identity --region ${shellQuote(input.region)} --endpoint-url ${shellQuote(input.endpoint)} ` +
    `--role-arn ${shellQuote(input.roleArn)} --role-session-name idp-canary-check --web-identity-token ${shellQuote(`file://${input.tokenFile}`)}`
  );
}
