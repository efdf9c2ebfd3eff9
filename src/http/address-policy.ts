/**
 * Addresses a probe must not reach unless the operator allows it: link-local ranges,
 * where cloud instance metadata services live (169.254.169.254, fd00:ec2::254). A hostile
 * or compromised discovery document could otherwise point `jwks_uri` at the metadata
 * service of the machine the canary runs on. Pure; the HTTP layer asks before it opens
 * any connection.
 *
 * Built on `net.BlockList`, which also matches IPv4-mapped IPv6 addresses
 * (`::ffff:169.254.169.254`) against the IPv4 rules. The other IPv6 spellings of an IPv4
 * address that reach it on common networks are listed explicitly: IPv4-compatible
 * (`::169.254.169.254`, deprecated but still parsed), NAT64 (`64:ff9b::/96`, RFC 6052, and
 * the local-use `64:ff9b:1::/48` of RFC 8215, with the IPv4 address in the last 32 bits)
 * and 6to4 (`2002:a9fe::/32`, RFC 3056).
 */
import { BlockList, isIP } from 'node:net';

/** One kind of forbidden address and its ranges. */
interface Rule {
  readonly why: string;
  readonly list: BlockList;
}

function rule(why: string, ranges: ReadonlyArray<readonly [string, number, 'ipv4' | 'ipv6']>): Rule {
  const list = new BlockList();
  for (const [network, prefix, family] of ranges) list.addSubnet(network, prefix, family);
  return { why, list };
}

const RULES: readonly Rule[] = [
  rule('link-local (cloud instance metadata) address', [
    ['169.254.0.0', 16, 'ipv4'],
    // 169.254.0.0/16 inside IPv6: IPv4-compatible, NAT64 (well-known and local-use), 6to4.
    ['::a9fe:0', 112, 'ipv6'],
    ['64:ff9b::a9fe:0', 112, 'ipv6'],
    ['64:ff9b:1::a9fe:0', 112, 'ipv6'],
    ['2002:a9fe::', 32, 'ipv6'],
  ]),
  rule('IPv6 link-local address', [['fe80::', 10, 'ipv6']]),
  rule('cloud instance metadata address', [['fd00:ec2::254', 128, 'ipv6']]),
];

/** Why an address is off limits, or null when a probe may connect to it (or it is not an IP address). */
export function forbiddenAddress(address: string): string | null {
  const bare = address.split('%')[0]!;
  const family = isIP(bare);
  if (family === 0) return null;
  const type = family === 4 ? 'ipv4' : 'ipv6';
  for (const { why, list } of RULES) if (list.check(bare, type)) return why;
  return null;
}
