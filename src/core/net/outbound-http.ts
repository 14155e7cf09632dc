/**
 * Every outbound HTTP request the service makes (webhook deliveries, batch callbacks) goes through here,
 * behind the SSRF guard of docs/architecture.md §11:
 * - the host is resolved by our own `lookup`, every address is checked against the policy and the
 *   socket connects only to an allowed one, so a name that resolves (or re-resolves: DNS rebinding) to
 *   a private address fails at connect time;
 * - literal IP hosts never reach `lookup` in Node, so they are checked before connecting;
 * - redirects are never followed: a 3xx is a failed attempt with its Location recorded, and a Location
 *   that points at a refused address says so;
 * - one timeout covers the whole exchange, and the response body is read up to a cap and discarded.
 */
import dns from 'node:dns';
import http from 'node:http';
import https from 'node:https';
import type { LookupFunction } from 'node:net';
import {
  OUTBOUND_ADDRESS_REFUSED,
  checkAddress,
  isHostAllowed,
  normalizeHost,
  parseIp,
  urlPort,
  type AddressPolicy,
} from './address-policy.js';

export interface ResolvedAddress {
  address: string;
  family: number;
}

/** Resolves a hostname to all its addresses (injectable so tests can point names anywhere). */
export type Resolver = (hostname: string) => Promise<ResolvedAddress[]>;

export const systemResolver: Resolver = (hostname) =>
  dns.promises.lookup(hostname, { all: true, verbatim: true });

export interface OutboundClientOptions {
  policy: AddressPolicy;
  resolver?: Resolver;
  /** How much of a response body is read before the connection is dropped (the body is discarded). */
  maxResponseBytes?: number;
}

export interface OutboundPost {
  url: string;
  headers: Record<string, string>;
  body: string;
  timeoutMs: number;
}

export type OutboundErrorCode =
  typeof OUTBOUND_ADDRESS_REFUSED | 'invalid_url' | 'timeout' | 'connection_failed';

export type OutboundResult =
  | {
      kind: 'response';
      status: number;
      headers: http.IncomingHttpHeaders;
      latencyMs: number;
      /** For 3xx: where the receiver pointed (never followed), and why it would be refused. */
      redirect?: { location: string; refused?: string };
    }
  | { kind: 'error'; code: OutboundErrorCode; message: string; latencyMs: number };

export interface OutboundClient {
  post(request: OutboundPost): Promise<OutboundResult>;
}

const DEFAULT_MAX_RESPONSE_BYTES = 64 * 1024;

class RefusedAddressError extends Error {
  readonly code = OUTBOUND_ADDRESS_REFUSED;
}

export function createOutboundClient(options: OutboundClientOptions): OutboundClient {
  const resolver = options.resolver ?? systemResolver;
  const maxResponseBytes = options.maxResponseBytes ?? DEFAULT_MAX_RESPONSE_BYTES;
  const { policy } = options;

  /** Resolves a URL host and keeps the addresses allowed on `port`; the reason when none is. */
  async function allowedAddresses(
    hostname: string,
    port: number,
  ): Promise<{ addresses: ResolvedAddress[] } | { refused: string }> {
    const host = normalizeHost(hostname);
    const literal = parseIp(host);
    if (literal) {
      const verdict = checkAddress(policy, { address: host, port });
      return verdict.allowed
        ? { addresses: [{ address: host, family: literal.family }] }
        : { refused: verdict.reason };
    }
    const resolved = await resolver(host);
    const verdicts = resolved.map((entry) =>
      checkAddress(policy, { address: entry.address, port, hostname: host }),
    );
    const allowed = resolved.filter((_entry, index) => verdicts[index]!.allowed);
    if (allowed.length > 0) return { addresses: allowed };
    const first = verdicts[0] as { reason: string } | undefined;
    return { refused: `${host} resolves to ${first ? first.reason : 'no address'}` };
  }

  /** Node's connect-time hook for one port: only allowed addresses ever reach the socket. */
  const guardedLookup =
    (port: number): LookupFunction =>
    (hostname, lookupOptions, callback) => {
      allowedAddresses(hostname, port).then(
        (result) => {
          if ('refused' in result) {
            callback(new RefusedAddressError(result.refused), '', 4);
          } else if (lookupOptions.all) {
            (callback as unknown as (error: null, addresses: ResolvedAddress[]) => void)(
              null,
              result.addresses,
            );
          } else {
            const first = result.addresses[0]!;
            callback(null, first.address, first.family);
          }
        },
        (error: unknown) => callback(error as NodeJS.ErrnoException, '', 4),
      );
    };

  async function describeRedirect(
    location: string,
    base: URL,
  ): Promise<{ location: string; refused?: string }> {
    let target: URL;
    try {
      target = new URL(location, base);
    } catch {
      return { location };
    }
    const port = urlPort(target);
    if (isHostAllowed(policy, target.hostname, port)) return { location: target.href };
    const result = await allowedAddresses(target.hostname, port).catch(() => undefined);
    return result && 'refused' in result
      ? { location: target.href, refused: result.refused }
      : { location: target.href };
  }

  return {
    async post(request) {
      const started = performance.now();
      const elapsed = () => Math.round(performance.now() - started);
      let url: URL;
      try {
        url = new URL(request.url);
        if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error('not http(s)');
      } catch {
        return { kind: 'error', code: 'invalid_url', message: 'not an http(s) URL', latencyMs: elapsed() };
      }
      // Literal IPs skip `lookup` inside Node, so they are judged here.
      const host = normalizeHost(url.hostname);
      const port = urlPort(url);
      if (parseIp(host)) {
        const verdict = checkAddress(policy, { address: host, port });
        if (!verdict.allowed) {
          return { kind: 'error', code: OUTBOUND_ADDRESS_REFUSED, message: verdict.reason, latencyMs: 0 };
        }
      }
      const transport = url.protocol === 'https:' ? https : http;
      const body = Buffer.from(request.body, 'utf8');
      return new Promise<OutboundResult>((resolve) => {
        let settled = false;
        const finish = (result: OutboundResult) => {
          if (settled) return;
          settled = true;
          clearTimeout(timer);
          resolve(result);
        };
        const req = transport.request(url, {
          method: 'POST',
          headers: { ...request.headers, 'content-length': String(body.length) },
          lookup: guardedLookup(port),
          // No keep-alive pool: each attempt resolves and checks afresh.
          agent: false,
        });
        const timer = setTimeout(() => {
          finish({
            kind: 'error',
            code: 'timeout',
            message: `no complete response within ${request.timeoutMs} ms`,
            latencyMs: elapsed(),
          });
          req.destroy();
        }, request.timeoutMs);
        req.on('error', (error: Error & { code?: string }) => {
          if (error.code === OUTBOUND_ADDRESS_REFUSED) {
            finish({
              kind: 'error',
              code: OUTBOUND_ADDRESS_REFUSED,
              message: error.message,
              latencyMs: elapsed(),
            });
          } else {
            finish({
              kind: 'error',
              code: 'connection_failed',
              message: error.code ? `${error.code}: ${error.message}` : error.message,
              latencyMs: elapsed(),
            });
          }
        });
        req.on('response', (res) => {
          let read = 0;
          const done = () => {
            const status = res.statusCode ?? 0;
            const location = res.headers.location;
            if (status >= 300 && status < 400 && location) {
              void describeRedirect(location, url).then((redirect) =>
                finish({ kind: 'response', status, headers: res.headers, latencyMs: elapsed(), redirect }),
              );
            } else {
              finish({ kind: 'response', status, headers: res.headers, latencyMs: elapsed() });
            }
          };
          res.on('data', (chunk: Buffer) => {
            read += chunk.length;
            // The body is never used: past the cap, stop reading and answer with what we know.
            if (read > maxResponseBytes) {
              res.destroy();
              done();
            }
          });
          res.on('end', done);
          res.on('error', done);
        });
        req.end(body);
      });
    },
  };
}
