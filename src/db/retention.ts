/**
 * Retention for the bookkeeping rows that otherwise grow forever (`pixelshift purge`). Each table keeps
 * what a retry or a redelivery still needs; older rows only cost space:
 * - idempotency keys: a client retries a submission within minutes or hours, not weeks;
 * - hook messages: the `webhook-id` deduplication of inbound hooks (Temporal's workflow IDs still
 *   deduplicate while the namespace keeps the run);
 * - webhook events: with their deliveries and attempts (the delivery log), but never an event that
 *   still has a delivery waiting to be sent, so a slow receiver's retries never lose their payload.
 * - dashboard sessions, sign-in links and sign-in failure counters: as soon as they are of no use (ended
 *   or expired sessions, used or expired links, counters whose window has ended), whatever the retention.
 * Batches and their graphs are kept: they are the record of what was asked.
 */
import { and, eq, lt, notExists } from 'drizzle-orm';
import type { Db } from './database.js';
import { purgeDeadSessions } from './dashboard-sessions.js';
import { purgeEndedFailureWindows } from './sign-in-failures.js';
import { hookMessages, idempotencyKeys, webhookDeliveries, webhookEvents } from './schema.js';

/** Rows older than this are purged unless the operator says otherwise (deliveries retry for ~3 days). */
export const DEFAULT_RETENTION_MS = 30 * 86_400_000;

export interface PurgeReport {
  olderThan: string;
  idempotencyKeys: number;
  hookMessages: number;
  webhookEvents: number;
  dashboardSessions: number;
  signInLinks: number;
  signInFailureCounters: number;
}

export async function purgeExpiredRows(db: Db, olderThan: Date, now = new Date()): Promise<PurgeReport> {
  const keys = await db
    .delete(idempotencyKeys)
    .where(lt(idempotencyKeys.createdAt, olderThan))
    .returning({ key: idempotencyKeys.key });
  const messages = await db
    .delete(hookMessages)
    .where(lt(hookMessages.receivedAt, olderThan))
    .returning({ id: hookMessages.webhookId });
  const pending = db
    .select({ id: webhookDeliveries.id })
    .from(webhookDeliveries)
    .where(and(eq(webhookDeliveries.eventId, webhookEvents.id), eq(webhookDeliveries.state, 'pending')));
  // Deliveries and their attempts go with the event (ON DELETE CASCADE).
  const events = await db
    .delete(webhookEvents)
    .where(and(lt(webhookEvents.createdAt, olderThan), notExists(pending)))
    .returning({ id: webhookEvents.id });
  const dashboard = await purgeDeadSessions(db, now);
  const counters = await purgeEndedFailureWindows(db, now);
  return {
    olderThan: olderThan.toISOString(),
    idempotencyKeys: keys.length,
    hookMessages: messages.length,
    webhookEvents: events.length,
    dashboardSessions: dashboard.sessions,
    signInLinks: dashboard.links,
    signInFailureCounters: counters,
  };
}
