/**
 * The page token of a delivery log: where the previous page ended (its last delivery's time and id),
 * base64url-encoded. Opaque to clients; the query schema refuses any other value at the edge.
 */
import type { DeliveryPageCursor } from '../../db/webhook-subscriptions.js';
import { deliveryIdPattern } from '../../core/webhooks/webhook-ids.js';

/** What a token looks like (its content is checked by decoding it). */
export const deliveryPageTokenPattern = /^[A-Za-z0-9_-]{1,200}$/;

export function encodeDeliveryPageToken(cursor: DeliveryPageCursor): string {
  return Buffer.from(JSON.stringify([cursor.createdAt.toISOString(), cursor.id])).toString('base64url');
}

/** The cursor a token holds, or undefined when this API did not issue it. */
export function decodeDeliveryPageToken(token: string): DeliveryPageCursor | undefined {
  try {
    const [at, id] = JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as [unknown, unknown];
    const createdAt = new Date(String(at));
    if (typeof id === 'string' && deliveryIdPattern.test(id) && !Number.isNaN(createdAt.getTime())) {
      return { createdAt, id };
    }
  } catch {
    // Not JSON (or not an array): not a token of ours.
  }
  return undefined;
}
