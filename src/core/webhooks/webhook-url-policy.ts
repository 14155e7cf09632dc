/**
 * What the API refuses up front in URLs it stores for outbound requests (subscription URLs, batch
 * callbackUrls): anything but http(s), embedded credentials, and hosts that are plainly internal (a
 * literal non-public IP, `localhost`, the address and port of pixelshift's own API), unless allow-listed.
 * Names that merely resolve to internal addresses are caught at connect time by
 * src/core/net/outbound-http.ts, on every attempt.
 */
import {
  checkAddress,
  isHostAllowed,
  normalizeHost,
  parseIp,
  urlPort,
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
  const port = urlPort(url);
  if (isHostAllowed(policy, host, port)) return undefined;
  if (parseIp(host)) {
    const verdict = checkAddress(policy, { address: host, port });
    return verdict.allowed ? undefined : verdict.reason;
  }
  if (host === 'localhost' || host.endsWith('.localhost')) {
    // Either loopback address will do: at connect time only an allowed one is used.
    const verdicts = ['127.0.0.1', '::1'].map((address) => checkAddress(policy, { address, port }));
    if (verdicts.some((verdict) => verdict.allowed)) return undefined;
    const reason = (verdicts[0] as { reason: string }).reason;
    return `${host} is a loopback name (${reason})`;
  }
  return undefined;
}
