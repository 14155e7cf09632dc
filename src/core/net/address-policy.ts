/**
 * Which addresses outbound requests (webhook deliveries, batch callbacks) may reach: the SSRF guard of
 * docs/architecture.md §11. Pure: no DNS, no sockets. `outbound-http.ts` asks it about every resolved address at
 * connect time, the API asks it about literal IPs in URLs it stores.
 *
 * Refused: everything that is not a public unicast address (loopback, private, link-local and cloud
 * metadata, CGNAT, benchmarking, multicast, reserved), and IPv6 forms that embed such an IPv4
 * (IPv4-mapped, IPv4-compatible, NAT64). Operators (and tests) open exceptions with an allow-list of
 * hostnames or CIDRs.
 */
import { isIP } from 'node:net';

/** The error code of a refused outbound address (attempt logs, API issues). */
export const OUTBOUND_ADDRESS_REFUSED = 'outbound_address_refused';

interface Cidr {
  family: 4 | 6;
  bits: bigint;
  prefix: number;
}

const blockedV4 = [
  '0.0.0.0/8', // "this network"
  '10.0.0.0/8', // private
  '100.64.0.0/10', // CGNAT
  '127.0.0.0/8', // loopback
  '169.254.0.0/16', // link-local, including the cloud metadata address 169.254.169.254
  '172.16.0.0/12', // private
  '192.0.0.0/24', // IETF protocol assignments
  '192.0.2.0/24', // documentation
  '192.168.0.0/16', // private
  '198.18.0.0/15', // benchmarking
  '198.51.100.0/24', // documentation
  '203.0.113.0/24', // documentation
  '224.0.0.0/4', // multicast
  '240.0.0.0/4', // reserved, including broadcast 255.255.255.255
].map(parseCidrOrThrow);

const blockedV6 = [
  '::/128', // unspecified
  '::1/128', // loopback
  'fc00::/7', // unique local
  'fe80::/10', // link-local
  'fec0::/10', // deprecated site-local
  'ff00::/8', // multicast
  '2001:db8::/32', // documentation
  '100::/64', // discard
].map(parseCidrOrThrow);

/** IPv6 prefixes whose low 32 bits are an IPv4 address, judged by that address. */
const embeddingV6 = [
  '::ffff:0:0/96', // IPv4-mapped
  '::/96', // IPv4-compatible (deprecated)
  '64:ff9b::/96', // NAT64 well-known prefix
  '64:ff9b:1::/48', // NAT64 local-use
].map(parseCidrOrThrow);

export interface AddressPolicy {
  /** Hostnames (lower case, exact) whose resolved addresses are allowed whatever they are. */
  readonly allowedHosts: ReadonlySet<string>;
  readonly allowedCidrs: readonly Cidr[];
}

/** Builds the policy from `config.outbound.allow`: each entry is a CIDR, an IP or a hostname. */
export function createAddressPolicy(allow: readonly string[] = []): AddressPolicy {
  const allowedHosts = new Set<string>();
  const allowedCidrs: Cidr[] = [];
  for (const raw of allow) {
    const entry = raw
      .trim()
      .toLowerCase()
      .replace(/^\[|\]$/g, '');
    if (!entry) continue;
    const cidr = parseCidr(entry.includes('/') ? entry : `${entry}/${isIP(entry) === 6 ? 128 : 32}`);
    if (cidr) allowedCidrs.push(cidr);
    else if (!entry.includes('/')) allowedHosts.add(entry);
    else throw new Error(`outbound allow-list: ${JSON.stringify(raw)} is not a valid CIDR`);
  }
  return { allowedHosts, allowedCidrs };
}

export type AddressVerdict = { allowed: true } | { allowed: false; reason: string };

/**
 * Whether a connection to `address` (an IP literal) may be made. `hostname` is the name the URL gave,
 * when there was one: an allow-listed hostname allows whatever it resolves to.
 */
export function checkAddress(policy: AddressPolicy, address: string, hostname?: string): AddressVerdict {
  if (hostname !== undefined && policy.allowedHosts.has(normalizeHost(hostname))) return { allowed: true };
  const ip = parseIp(address);
  if (!ip) return { allowed: false, reason: `${address} is not an IP address` };
  if (policy.allowedCidrs.some((cidr) => contains(cidr, ip))) return { allowed: true };
  const blocked = blockedReason(ip);
  return blocked === undefined
    ? { allowed: true }
    : { allowed: false, reason: `${address} is a ${blocked} address` };
}

/** True when the hostname itself is on the allow-list (so it may resolve anywhere). */
export function isHostAllowed(policy: AddressPolicy, hostname: string): boolean {
  return policy.allowedHosts.has(normalizeHost(hostname));
}

/** `[::1]` → `::1`, lower case, no trailing dot. */
export function normalizeHost(hostname: string): string {
  return hostname
    .toLowerCase()
    .replace(/^\[|\]$/g, '')
    .replace(/\.$/, '');
}

function blockedReason(ip: { family: 4 | 6; bits: bigint }): string | undefined {
  if (ip.family === 4) return blockedV4.some((cidr) => contains(cidr, ip)) ? 'non-public IPv4' : undefined;
  for (const prefix of embeddingV6) {
    if (contains(prefix, ip)) {
      // `::` and `::1` fall in ::/96 too: their embedded 0.0.0.0 and 0.0.0.1 are blocked.
      const v4 = { family: 4 as const, bits: ip.bits & 0xffffffffn };
      return blockedV4.some((cidr) => contains(cidr, v4)) ? 'IPv6 form of a non-public IPv4' : undefined;
    }
  }
  return blockedV6.some((cidr) => contains(cidr, ip)) ? 'non-public IPv6' : undefined;
}

function contains(cidr: Cidr, ip: { family: 4 | 6; bits: bigint }): boolean {
  if (cidr.family !== ip.family) return false;
  const width = cidr.family === 4 ? 32 : 128;
  const shift = BigInt(width - cidr.prefix);
  return ip.bits >> shift === cidr.bits >> shift;
}

function parseCidrOrThrow(text: string): Cidr {
  const cidr = parseCidr(text);
  if (!cidr) throw new Error(`bad CIDR ${text}`);
  return cidr;
}

function parseCidr(text: string): Cidr | undefined {
  const [address, prefixText] = text.split('/');
  if (address === undefined || prefixText === undefined || !/^\d{1,3}$/.test(prefixText)) return undefined;
  const ip = parseIp(address);
  const prefix = Number(prefixText);
  if (!ip || prefix > (ip.family === 4 ? 32 : 128)) return undefined;
  return { family: ip.family, bits: ip.bits, prefix };
}

/** An IP literal as a number; undefined for anything else (hostnames, garbage). */
export function parseIp(text: string): { family: 4 | 6; bits: bigint } | undefined {
  const address = text.replace(/^\[|\]$/g, '');
  const family = isIP(address);
  if (family === 4) return { family: 4, bits: v4Bits(address) };
  if (family !== 6) return undefined;
  // Zone ids (fe80::1%eth0) do not change which network the address is in.
  let rest = address.split('%')[0]!.toLowerCase();
  // A dotted IPv4 tail (::ffff:127.0.0.1) becomes its two hex groups.
  const lastColon = rest.lastIndexOf(':');
  const last = rest.slice(lastColon + 1);
  if (last.includes('.')) {
    const v4 = v4Bits(last);
    rest = `${rest.slice(0, lastColon + 1)}${(v4 >> 16n).toString(16)}:${(v4 & 0xffffn).toString(16)}`;
  }
  const [head, after] = rest.includes('::') ? rest.split('::') : [rest, undefined];
  const headGroups = head ? head.split(':') : [];
  const afterGroups = after ? after.split(':') : [];
  const zeros = after === undefined ? 0 : 8 - headGroups.length - afterGroups.length;
  const groups = [
    ...headGroups.map((g) => BigInt(`0x${g}`)),
    ...Array.from({ length: zeros }, () => 0n),
    ...afterGroups.map((g) => BigInt(`0x${g}`)),
  ];
  if (groups.length !== 8) return undefined;
  return { family: 6, bits: groups.reduce((acc, group) => (acc << 16n) | group, 0n) };
}

function v4Bits(address: string): bigint {
  return address.split('.').reduce((acc, octet) => (acc << 8n) | BigInt(Number(octet)), 0n);
}
