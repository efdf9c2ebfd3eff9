/**
 * Addresses a probe must not reach unless the operator allows it: link-local ranges,
 * where cloud instance metadata services live (169.254.169.254, fd00:ec2::254). A hostile
 * or compromised discovery document could otherwise point `jwks_uri` at the metadata
 * service of the machine the canary runs on. Pure.
 */
import { isIPv4, isIPv6 } from 'node:net';

function ipv4Octets(address: string): number[] {
  return address.split('.').map(Number);
}

/** Expands an IPv6 address to its eight 16-bit groups (no zone id). */
function ipv6Groups(address: string): number[] | null {
  const bare = address.split('%')[0]!.toLowerCase();
  const mapped = /^(.*:)(\d+\.\d+\.\d+\.\d+)$/.exec(bare);
  let text = bare;
  if (mapped) {
    const [a, b, c, d] = ipv4Octets(mapped[2]!);
    text = `${mapped[1]}${((a! << 8) | b!).toString(16)}:${((c! << 8) | d!).toString(16)}`;
  }
  const [head, tail] = text.split('::') as [string, string | undefined];
  const parse = (part: string) => (part === '' ? [] : part.split(':').map((group) => parseInt(group, 16)));
  const left = parse(head);
  const right = tail === undefined ? [] : parse(tail);
  const fill = 8 - left.length - right.length;
  if (tail === undefined ? left.length !== 8 : fill < 0) return null;
  return [...left, ...new Array<number>(tail === undefined ? 0 : fill).fill(0), ...right];
}

/** Why an address is off limits, or null when a probe may connect to it. */
export function forbiddenAddress(address: string): string | null {
  if (isIPv4(address)) {
    const [a, b] = ipv4Octets(address);
    return a === 169 && b === 254 ? 'link-local (cloud instance metadata) address' : null;
  }
  if (isIPv6(address)) {
    const groups = ipv6Groups(address);
    if (!groups) return null;
    if ((groups[0]! & 0xffc0) === 0xfe80) return 'IPv6 link-local address';
    if (groups[0] === 0xfd00 && groups[1] === 0x0ec2 && groups.slice(2, 7).every((g) => g === 0) && groups[7] === 0x254) {
      return 'cloud instance metadata address';
    }
    const mappedV4 = groups.slice(0, 5).every((g) => g === 0) && groups[5] === 0xffff;
    if (mappedV4) return forbiddenAddress(`${groups[6]! >> 8}.${groups[6]! & 0xff}.${groups[7]! >> 8}.${groups[7]! & 0xff}`);
  }
  return null;
}
