/**
 * Where this process's own HTTP API can be reached, for the address policy (address-policy.ts): outbound
 * requests must not be pointed back at the service's own endpoints. A wildcard or named host may be
 * reached on any local interface and on loopback; a concrete IP only on itself.
 */
import { isIP } from 'node:net';
import os from 'node:os';
import type { Config } from '../config.js';
import { createAddressPolicy, type AddressPolicy, type OwnApiAddress } from './address-policy.js';

const loopbackRanges = ['127.0.0.0/8', '::1/128'];

export function ownApiAddress(
  http: Pick<Config['http'], 'host' | 'port'>,
  interfaces: () => string[] = localInterfaceAddresses,
): OwnApiAddress | undefined {
  // Port 0 asks the system for any free port: nothing is known to protect until it listens.
  if (http.port === 0) return undefined;
  const host = http.host.replace(/^\[|\]$/g, '');
  const wildcard = host === '0.0.0.0' || host === '::';
  if (isIP(host) && !wildcard) return { ranges: [host], port: http.port };
  return { ranges: [...loopbackRanges, ...interfaces()], port: http.port };
}

function localInterfaceAddresses(): string[] {
  return Object.values(os.networkInterfaces())
    .flat()
    .flatMap((entry) => (entry ? [entry.address.split('%')[0]!] : []));
}

/** The outbound address policy of a process: the operator's allow-list, and its own API kept out. */
export function outboundAddressPolicy(config: Pick<Config, 'outbound' | 'http'>): AddressPolicy {
  return createAddressPolicy(config.outbound.allow, ownApiAddress(config.http));
}
