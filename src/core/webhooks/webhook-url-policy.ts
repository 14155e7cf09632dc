/**
 * What the API refuses up front in URLs it stores for outbound requests (subscription URLs, batch
 * callbackUrls): anything but http(s), embedded credentials, and hosts that are plainly internal (a
 * literal non-public IP, `localhost`), unless allow-listed. Names that merely resolve to internal
 * addresses are caught at connect time by src/net/outbound-http.ts, on every attempt.
 */
import {
  checkAddress,
  isHostAllowed,
  normalizeHost,
  parseIp,
  type AddressPolicy,
} from '../net/address-policy.js';

/** The reason the URL is refused, or undefined when it may be stored. */
export function refusedOutboundUrl(text: string, policy: AddressPolicy): string | undefined {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return 'not a valid URL';
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return 'only http and https URLs are allowed';
  if (url.username || url.password) return 'credentials in the URL are not allowed';
  const host = normalizeHost(url.hostname);
  if (isHostAllowed(policy, host)) return undefined;
  if (parseIp(host)) {
    const verdict = checkAddress(policy, host);
    return verdict.allowed ? undefined : verdict.reason;
  }
  if (host === 'localhost' || host.endsWith('.localhost')) {
    return checkAddress(policy, '127.0.0.1').allowed ? undefined : `${host} is a loopback name`;
  }
  return undefined;
}
