/**
 * Outbound webhooks in the database (docs/architecture.md §11): subscriptions (secrets sealed by the caller), emitted
 * events, deliveries and their attempts. Plain functions over the Drizzle handle; PGlite and PostgreSQL.
 */
import { and, asc, desc, eq, inArray, lt, or, sql } from 'drizzle-orm';
import type { Db } from './database.js';
import {
  webhookAttempts,
  webhookCallbackSecrets,
  webhookDeliveries,
  webhookEvents,
  webhookSubscriptions,
  type WebhookAttemptRow,
  type WebhookDeliveryRow,
  type WebhookSubscriptionRow,
} from './schema.js';

export type DeliveryState = WebhookDeliveryRow['state'];

export interface NewSubscription {
  id: string;
  accountId: string;
  url: string;
  events: string[];
  enabled: boolean;
  secretSealed: string;
}

export async function insertSubscription(db: Db, row: NewSubscription): Promise<WebhookSubscriptionRow> {
  const [inserted] = await db.insert(webhookSubscriptions).values(row).returning();
  return inserted!;
}

export async function listSubscriptions(db: Db, accountId: string): Promise<WebhookSubscriptionRow[]> {
  return db
    .select()
    .from(webhookSubscriptions)
    .where(eq(webhookSubscriptions.accountId, accountId))
    .orderBy(asc(webhookSubscriptions.createdAt), asc(webhookSubscriptions.id));
}

/** The subscription, only when it belongs to the account. */
export async function getSubscription(
  db: Db,
  accountId: string,
  id: string,
): Promise<WebhookSubscriptionRow | undefined> {
  const [row] = await db
    .select()
    .from(webhookSubscriptions)
    .where(and(eq(webhookSubscriptions.id, id), eq(webhookSubscriptions.accountId, accountId)))
    .limit(1);
  return row;
}

export interface SubscriptionPatch {
  url?: string;
  events?: string[];
  enabled?: boolean;
  secretSealed?: string;
  previousSecretSealed?: string | null;
  previousSecretExpiresAt?: Date | null;
}

/** Applies the patch; re-enabling clears the reason it was disabled. Undefined when not the account's. */
export async function updateSubscription(
  db: Db,
  accountId: string,
  id: string,
  patch: SubscriptionPatch,
): Promise<WebhookSubscriptionRow | undefined> {
  const [row] = await db
    .update(webhookSubscriptions)
    .set({
      ...patch,
      ...(patch.enabled === true ? { disabledReason: null } : {}),
      updatedAt: sql`now()`,
    })
    .where(and(eq(webhookSubscriptions.id, id), eq(webhookSubscriptions.accountId, accountId)))
    .returning();
  return row;
}

export async function deleteSubscription(db: Db, accountId: string, id: string): Promise<boolean> {
  const rows = await db
    .delete(webhookSubscriptions)
    .where(and(eq(webhookSubscriptions.id, id), eq(webhookSubscriptions.accountId, accountId)))
    .returning({ id: webhookSubscriptions.id });
  return rows.length > 0;
}

/** Disables a subscription (the receiver answered 410 Gone): no new deliveries, waiting ones stop. */
export async function disableSubscription(db: Db, id: string, reason: string): Promise<void> {
  await db
    .update(webhookSubscriptions)
    .set({ enabled: false, disabledReason: reason, updatedAt: sql`now()` })
    .where(eq(webhookSubscriptions.id, id));
}

export async function getSubscriptionById(db: Db, id: string): Promise<WebhookSubscriptionRow | undefined> {
  const [row] = await db.select().from(webhookSubscriptions).where(eq(webhookSubscriptions.id, id)).limit(1);
  return row;
}

/** The account's enabled subscriptions to one event type. */
export async function subscriptionsForEvent(
  db: Db,
  accountId: string,
  type: string,
): Promise<WebhookSubscriptionRow[]> {
  return db
    .select()
    .from(webhookSubscriptions)
    .where(
      and(
        eq(webhookSubscriptions.accountId, accountId),
        eq(webhookSubscriptions.enabled, true),
        sql`${webhookSubscriptions.events} @> ${JSON.stringify([type])}::jsonb`,
      ),
    )
    .orderBy(asc(webhookSubscriptions.createdAt), asc(webhookSubscriptions.id));
}

/** The account's callbackUrl signing secret (sealed), created by `seal` on first use; races keep one. */
export async function callbackSecret(db: Db, accountId: string, seal: () => string): Promise<string> {
  await db
    .insert(webhookCallbackSecrets)
    .values({ accountId, secretSealed: seal() })
    .onConflictDoNothing({ target: webhookCallbackSecrets.accountId });
  const [row] = await db
    .select()
    .from(webhookCallbackSecrets)
    .where(eq(webhookCallbackSecrets.accountId, accountId))
    .limit(1);
  return row!.secretSealed;
}

export async function insertEvent(
  db: Db,
  event: { id: string; accountId: string; type: string; payload: Record<string, unknown> },
): Promise<void> {
  await db.insert(webhookEvents).values(event).onConflictDoNothing({ target: webhookEvents.id });
}

export async function getEvent(db: Db, id: string) {
  const [row] = await db.select().from(webhookEvents).where(eq(webhookEvents.id, id)).limit(1);
  return row;
}

export interface NewDelivery {
  id: string;
  accountId: string;
  eventId: string;
  subscriptionId?: string | undefined;
  callbackUrl?: string | undefined;
  workflowId: string;
}

/** Idempotent by id: a retried emission returns the row it already made. */
export async function insertDelivery(db: Db, delivery: NewDelivery): Promise<WebhookDeliveryRow> {
  await db
    .insert(webhookDeliveries)
    .values({
      id: delivery.id,
      accountId: delivery.accountId,
      eventId: delivery.eventId,
      subscriptionId: delivery.subscriptionId ?? null,
      callbackUrl: delivery.callbackUrl ?? null,
      workflowId: delivery.workflowId,
    })
    .onConflictDoNothing({ target: webhookDeliveries.id });
  return (await getDelivery(db, delivery.id))!;
}

export async function getDelivery(db: Db, id: string): Promise<WebhookDeliveryRow | undefined> {
  const [row] = await db.select().from(webhookDeliveries).where(eq(webhookDeliveries.id, id)).limit(1);
  return row;
}

/** How many deliveries an (event, subscription) pair has had: numbers the next redelivery. */
export async function countDeliveries(db: Db, eventId: string, subscriptionId: string): Promise<number> {
  const [row] = await db
    .select({ count: sql<number>`count(*)::int` })
    .from(webhookDeliveries)
    .where(and(eq(webhookDeliveries.eventId, eventId), eq(webhookDeliveries.subscriptionId, subscriptionId)));
  return Number(row?.count ?? 0);
}

export interface AttemptRecord {
  status: number | null;
  latencyMs: number;
  error: string | null;
  /** The delivery's state after this attempt. */
  state: DeliveryState;
}

/** Logs one attempt and moves the delivery on, in one transaction; returns the attempt's number. */
export async function recordAttempt(db: Db, deliveryId: string, attempt: AttemptRecord): Promise<number> {
  return db.transaction(async (tx) => {
    const [row] = await tx
      .update(webhookDeliveries)
      .set({
        attempts: sql`${webhookDeliveries.attempts} + 1`,
        state: attempt.state,
        lastStatus: attempt.status,
        lastError: attempt.error,
        updatedAt: sql`now()`,
      })
      .where(eq(webhookDeliveries.id, deliveryId))
      .returning({ attempts: webhookDeliveries.attempts });
    if (!row) throw new Error(`delivery ${deliveryId} does not exist`);
    await tx.insert(webhookAttempts).values({
      deliveryId,
      number: row.attempts,
      status: attempt.status,
      latencyMs: attempt.latencyMs,
      error: attempt.error,
    });
    return row.attempts;
  });
}

export async function setDeliveryState(db: Db, deliveryId: string, state: DeliveryState): Promise<void> {
  await db
    .update(webhookDeliveries)
    .set({ state, updatedAt: sql`now()` })
    .where(eq(webhookDeliveries.id, deliveryId));
}

export interface DeliveryWithAttempts extends WebhookDeliveryRow {
  eventType: string;
  attemptLog: WebhookAttemptRow[];
}

export interface DeliveryPageCursor {
  createdAt: Date;
  id: string;
}

/** A subscription's deliveries, newest first, each with its attempts (oldest first). */
export async function listDeliveries(
  db: Db,
  accountId: string,
  subscriptionId: string,
  page: { limit: number; before?: DeliveryPageCursor | undefined },
): Promise<DeliveryWithAttempts[]> {
  const before = page.before;
  const rows = await db
    .select({ delivery: webhookDeliveries, eventType: webhookEvents.type })
    .from(webhookDeliveries)
    .innerJoin(webhookEvents, eq(webhookEvents.id, webhookDeliveries.eventId))
    .where(
      and(
        eq(webhookDeliveries.accountId, accountId),
        eq(webhookDeliveries.subscriptionId, subscriptionId),
        before
          ? or(
              lt(webhookDeliveries.createdAt, before.createdAt),
              and(eq(webhookDeliveries.createdAt, before.createdAt), lt(webhookDeliveries.id, before.id)),
            )
          : undefined,
      ),
    )
    .orderBy(desc(webhookDeliveries.createdAt), desc(webhookDeliveries.id))
    .limit(page.limit);
  if (rows.length === 0) return [];
  const attempts = await db
    .select()
    .from(webhookAttempts)
    .where(
      inArray(
        webhookAttempts.deliveryId,
        rows.map((row) => row.delivery.id),
      ),
    )
    .orderBy(asc(webhookAttempts.number));
  return rows.map(({ delivery, eventType }) => ({
    ...delivery,
    eventType,
    attemptLog: attempts.filter((attempt) => attempt.deliveryId === delivery.id),
  }));
}
