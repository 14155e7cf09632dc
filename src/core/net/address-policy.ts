/**
 * Which addresses outbound requests (webhook deliveries, batch callbacks) may reach: the SSRF guard of
 * docs/architecture.md §11. Pure: no DNS, no sockets. `outbound-http.ts` asks it about every resolved address at
 * connect time, the API asks it about literal IPs in URLs it stores.
 *
 * Refused: everything that is not a public unicast address (loopback, private, link-local and cloud
 * metadata, CGNAT, benchmarking, multicast, reserved), and IPv6 forms that embed such an IPv4
 * (IPv4-mapped, IPv4-compatible, NAT64). Operators (and tests) open exceptions with an allow-list of
 * hostnames, IPs or CIDRs, each on one port or on any. The address where pixelshift's own API listens is
 * refused even when its range is allowed, unless an entry names it with its port.
 */
import { isIP } from 'node:net';

/** The error code of a refused outbound address (attempt logs, API issues). */
export const OUTBOUND_ADDRESS_REFUSED = 'outbound_address_refused';

interface Cidr {
  family: 4 | 6;
  bits: bigint;
  prefix: number;
}

interface NamedRange {
  cidr: Cidr;
  /** What the range is, with its article, for messages: "127.0.0.1 is a loopback IPv4 address". */
  name: string;
}

function ranges(table: readonly [string, string][]): NamedRange[] {
  return table.map(([cidr, name]) => ({ cidr: parseCidrOrThrow(cidr), name }));
}

const blockedV4 = ranges([
  ['0.0.0.0/8', 'a "this network"'],
  ['10.0.0.0/8', 'a private'],
  ['100.64.0.0/10', 'a shared (CGNAT)'],
  ['127.0.0.0/8', 'a loopback'],
  // Including the cloud metadata address 169.254.169.254.
  ['169.254.0.0/16', 'a link-local'],
  ['172.16.0.0/12', 'a private'],
  ['192.0.0.0/24', 'an IETF protocol assignment'],
  ['192.0.2.0/24', 'a documentation'],
  ['192.168.0.0/16', 'a private'],
  ['198.18.0.0/15', 'a benchmarking'],
  ['198.51.100.0/24', 'a documentation'],
  ['203.0.113.0/24', 'a documentation'],
  ['224.0.0.0/4', 'a multicast'],
  // Including broadcast 255.255.255.255.
  ['240.0.0.0/4', 'a reserved'],
]);

const blockedV6 = ranges([
  ['::/128', 'the unspecified'],
  ['::1/128', 'the loopback'],
  ['fc00::/7', 'a unique-local'],
  ['fe80::/10', 'a link-local'],
  ['fec0::/10', 'a site-local'],
  ['ff00::/8', 'a multicast'],
  ['2001:db8::/32', 'a documentation'],
  ['100::/64', 'a discard'],
]);

/** IPv6 prefixes whose low 32 bits are an IPv4 address, judged by that address. */
const embeddingV6 = [
  '::ffff:0:0/96', // IPv4-mapped
  '::/96', // IPv4-compatible (deprecated)
  '64:ff9b::/96', // NAT64 well-known prefix
  '64:ff9b:1::/48', // NAT64 local-use
].map(parseCidrOrThrow);

const ipv4Mapped = parseCidrOrThrow('::ffff:0:0/96');

/** One allow-list entry: a hostname or an address range, on one port or (without a port) on any. */
type AllowEntry =
  | { kind: 'host'; host: string; port: number | undefined }
  | { kind: 'range'; cidr: Cidr; port: number | undefined };

export interface AddressPolicy {
  readonly allowed: readonly AllowEntry[];
  /**
   * Where pixelshift's own API listens: never a target unless an entry names it with its port, so that
   * allowing a local receiver does not open the service's own endpoints to its webhooks.
   */
  readonly ownApi: { ranges: readonly Cidr[]; port: number } | undefined;
}

/** Where the service itself listens, as address ranges (a wildcard host covers several) and a port. */
export interface OwnApiAddress {
  ranges: readonly string[];
  port: number;
}

/**
 * Builds the policy from `config.outbound.allow`. Each entry is a hostname, an IP or a CIDR, with an
 * optional port: `hooks.internal`, `127.0.0.1:3201`, `[::1]:8080`, `10.0.0.0/8:443`, `[fd00::]/8:443`.
 * A bare IPv6 address (`::1`, `fd00::/8`) takes no port: write it in brackets to add one.
 */
export function createAddressPolicy(allow: readonly string[] = [], ownApi?: OwnApiAddress): AddressPolicy {
  return {
    allowed: allow
      .map((raw) => raw.trim())
      .filter(Boolean)
      .map(parseAllowEntry),
    ownApi: ownApi && {
      ranges: ownApi.ranges.map((text) =>
        parseCidrOrThrow(text.includes('/') ? text : `${text}/${isIP(text) === 6 ? 128 : 32}`),
      ),
      port: ownApi.port,
    },
  };
}

function parseAllowEntry(raw: string): AllowEntry {
  const fail = (why: string): never => {
    throw new Error(`outbound allow-list: ${JSON.stringify(raw)} ${why}`);
  };
  let text = raw.toLowerCase();
  let port: number | undefined;
  // A port follows a bracketed IPv6, a CIDR's prefix length, or a name or IPv4 (no other colon).
  const withPort = /^(.*):(\d{1,5})$/.exec(text);
  if (withPort && (withPort[1]!.endsWith(']') || withPort[1]!.includes('/') || !withPort[1]!.includes(':'))) {
    port = Number(withPort[2]);
    if (port < 1 || port > 65535) fail('has a port outside 1-65535');
    text = withPort[1]!;
  }
  const host = text.replace(/[[\]]/g, '');
  if (host === '') fail('names no host');
  if (host.includes('/')) {
    const cidr = parseCidr(host);
    return cidr ? { kind: 'range', cidr, port } : fail('is not a valid CIDR');
  }
  const ip = parseIp(host);
  if (ip) return { kind: 'range', cidr: { ...ip, prefix: ip.family === 4 ? 32 : 128 }, port };
  if (!/^[a-z0-9_]([a-z0-9_.-]*[a-z0-9_.])?$/.test(host)) fail('is not a hostname, an IP or a CIDR');
  return { kind: 'host', host: normalizeHost(host), port };
}

export type AddressVerdict = { allowed: true } | { allowed: false; reason: string };

/** Where a connection would go: the address (an IP literal), the port, and the URL's name if it had one. */
export interface OutboundTarget {
  address: string;
  port: number;
  /** An allow-listed hostname allows whatever it resolves to. */
  hostname?: string | undefined;
}

/** Whether a connection to `target` may be made. */
export function checkAddress(policy: AddressPolicy, target: OutboundTarget): AddressVerdict {
  const ip = parseIp(target.address);
  if (!ip) return { allowed: false, reason: `${target.address} is not an IP address` };
  const host = target.hostname === undefined ? undefined : normalizeHost(target.hostname);
  const entries = policy.allowed.filter((entry) =>
    entry.kind === 'host' ? entry.host === host : contains(entry.cidr, ip),
  );
  const own = policy.ownApi;
  if (own && target.port === own.port && own.ranges.some((range) => contains(range, unmapped(ip)))) {
    // Only an entry that names this very port opens the service's own API.
    if (entries.some((entry) => entry.port === own.port)) return { allowed: true };
    return {
      allowed: false,
      reason: `${hostPort(target.address, target.port)} is where pixelshift's own API listens (allow-list it with its port to reach it)`,
    };
  }
  if (entries.some((entry) => entry.port === undefined || entry.port === target.port))
    return { allowed: true };
  const blocked = blockedReason(ip);
  if (blocked !== undefined) return { allowed: false, reason: `${target.address} is ${blocked}` };
  return { allowed: true };
}

/** True when the hostname itself is on the allow-list for this port (so it may resolve anywhere). */
export function isHostAllowed(policy: AddressPolicy, hostname: string, port: number): boolean {
  const host = normalizeHost(hostname);
  return policy.allowed.some(
    (entry) =>
      entry.kind === 'host' && entry.host === host && (entry.port === undefined || entry.port === port),
  );
}

/** `[::1]` → `::1`, lower case, no trailing dot. */
export function normalizeHost(hostname: string): string {
  return hostname
    .toLowerCase()
    .replace(/^\[|\]$/g, '')
    .replace(/\.$/, '');
}

/** The port a URL connects to. */
export function urlPort(url: URL): number {
  if (url.port) return Number(url.port);
  return url.protocol === 'https:' ? 443 : 80;
}

function hostPort(address: string, port: number): string {
  return address.includes(':') ? `[${address}]:${port}` : `${address}:${port}`;
}

/** "a loopback IPv4 address", or undefined for a public address. */
function blockedReason(ip: { family: 4 | 6; bits: bigint }): string | undefined {
  if (ip.family === 4) {
    const range = blockedV4.find((named) => contains(named.cidr, ip));
    return range && `${range.name} IPv4 address`;
  }
  // Exact IPv6 ranges first: `::` and `::1` also fall in the IPv4-compatible ::/96.
  const range = blockedV6.find((named) => contains(named.cidr, ip));
  if (range) return `${range.name} IPv6 address`;
  for (const prefix of embeddingV6) {
    if (contains(prefix, ip)) {
      const v4 = { family: 4 as const, bits: ip.bits & 0xffffffffn };
      const embedded = blockedReason(v4);
      return embedded && `an IPv6 form of ${v4Text(v4.bits)}, ${embedded}`;
    }
  }
  return undefined;
}

/** `::ffff:127.0.0.1` reaches 127.0.0.1: judge it as that. */
function unmapped(ip: { family: 4 | 6; bits: bigint }): { family: 4 | 6; bits: bigint } {
  return contains(ipv4Mapped, ip) ? { family: 4, bits: ip.bits & 0xffffffffn } : ip;
}

function v4Text(bits: bigint): string {
  return [24n, 16n, 8n, 0n].map((shift) => String((bits >> shift) & 0xffn)).join('.');
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
