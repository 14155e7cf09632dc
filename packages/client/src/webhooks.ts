/** Receiving the service's webhooks: Standard Webhooks signatures checked before the payload is trusted. */
import { Webhook } from 'standardwebhooks';
import { isRecord, PixelshiftWebhookError } from './errors.js';
import type { BatchCompletedEvent, GraphFailedEvent, GraphSucceededEvent } from './generated/types.js';

/** A verified webhook payload; switch on `type` to narrow `data`. */
export type WebhookEvent = GraphSucceededEvent | GraphFailedEvent | BatchCompletedEvent;

/** Request headers as Node (`req.headers`) or fetch (`Headers`) hand them over. */
export type WebhookHeaders = Headers | Record<string, string | string[] | undefined>;

const eventTypes: ReadonlySet<string> = new Set(['graph.succeeded', 'graph.failed', 'batch.completed']);
const signatureHeaders = ['webhook-id', 'webhook-timestamp', 'webhook-signature'] as const;

/**
 * Verifies a webhook the service sent and returns its typed payload. Pass the body exactly as received
 * (before any JSON parsing), the request headers and the endpoint's `whsec_…` secret. Throws
 * PixelshiftWebhookError when a header is missing, the timestamp is more than five minutes off, the
 * signature does not match (during a rotation either secret's signature matches), or the event is unknown.
 */
export function verifyWebhook(
  rawBody: string | Uint8Array,
  headers: WebhookHeaders,
  secret: string,
): WebhookEvent {
  const signed: Record<string, string> = {};
  for (const name of signatureHeaders) {
    const value = headerValue(headers, name);
    if (value === undefined) throw new PixelshiftWebhookError(`The ${name} header is missing`);
    signed[name] = value;
  }
  const body = typeof rawBody === 'string' ? rawBody : new TextDecoder().decode(rawBody);
  let payload: unknown;
  try {
    payload = new Webhook(secret).verify(body, signed);
  } catch (error) {
    throw new PixelshiftWebhookError(
      `The webhook does not verify: ${error instanceof Error ? error.message : String(error)}`,
      { cause: error },
    );
  }
  if (
    !isRecord(payload) ||
    typeof payload.type !== 'string' ||
    !eventTypes.has(payload.type) ||
    !isRecord(payload.data)
  ) {
    throw new PixelshiftWebhookError('The webhook is signed but is not a known pixelshift event');
  }
  return payload as unknown as WebhookEvent;
}

function headerValue(headers: WebhookHeaders, name: string): string | undefined {
  if (typeof Headers !== 'undefined' && headers instanceof Headers) return headers.get(name) ?? undefined;
  const record = headers as Record<string, string | string[] | undefined>;
  const value = record[name] ?? Object.entries(record).find(([key]) => key.toLowerCase() === name)?.[1];
  return Array.isArray(value) ? value.join(' ') : value;
}
