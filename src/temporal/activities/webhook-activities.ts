/**
 * Webhook activities (docs/architecture.md §11):
 * - `publishWebhookEvent` (orchestration queue): stores the event under a deterministic id, finds its
 *   targets (the account's enabled subscriptions to the type, and the batch's callbackUrl) and records
 *   one delivery each; the calling workflow then starts the delivery workflows.
 * - `attemptWebhookDelivery` (webhooks queue): one signed HTTP attempt through the SSRF-guarded client,
 *   logged. Secrets are opened here and never enter workflow history. A target the address policy
 *   refuses ends the delivery as `refused` and disables its subscription, with the reason, as 410 does.
 * - `graphEventsWanted` (orchestration queue, local): whether anyone would receive a batch's graph.*
 *   events (an enabled subscription to one, or the batch's callbackUrl); a batch asks once at its start
 *   and its graphs skip the publishing activity when nobody would.
 * - `webhookRetrySchedule` (webhooks queue, local): the configured delays between attempts, read once
 *   by each delivery workflow.
 */
import { performance } from 'node:perf_hooks';
import { Registry } from 'prom-client';
import { Webhook } from 'standardwebhooks';
import {
  openSecret,
  sealSecret,
  generateSigningSecret,
  type SecretsKey,
} from '../../core/auth/secret-box.js';
import type { Db } from '../../db/database.js';
import { getBatch } from '../../db/batches.js';
import {
  callbackSecret,
  disableSubscription,
  getDelivery,
  getEvent,
  getSubscriptionById,
  insertDelivery,
  insertEvent,
  recordAttempt,
  setDeliveryState,
  subscriptionsForEvent,
} from '../../db/webhook-subscriptions.js';
import { OUTBOUND_ADDRESS_REFUSED } from '../../core/net/address-policy.js';
import type { OutboundClient } from '../../core/net/outbound-http.js';
import { graphEventTypes, type WebhookEventType } from '../../core/webhooks/webhook-events.js';
import { deliveryIdFor, deliveryWorkflowIdFor, eventIdFor } from '../../core/webhooks/webhook-ids.js';
import { honoursRetryAfter, parseRetryAfter } from '../../core/webhooks/webhook-retry.js';
import { deliveryAttemptTimeoutMs } from '../workflows/definitions.js';
import { createActivityMetrics, type ActivityMetrics, type WebhookOutcome } from './activity-metrics.js';

export interface WebhookDeps {
  db: Db;
  secretsKey: SecretsKey;
  outbound: OutboundClient;
  /** Per-attempt HTTP timeout; `deliveryAttemptTimeoutMs` by default. */
  attemptTimeoutMs?: number | undefined;
  /** Delays between delivery attempts: `config.webhooks.retryScheduleMs`. */
  retryScheduleMs: readonly number[];
}

export interface PublishEventInput {
  accountId: string;
  type: WebhookEventType;
  /** The emitting workflow run: with the type, it makes the event id (a retry never duplicates). */
  workflowId: string;
  runId: string;
  /** The batch the event belongs to: its callbackUrl, if any, receives the event too. */
  batchId?: string;
  data: unknown;
}

export interface DeliveryToStart {
  deliveryId: string;
  workflowId: string;
  /** "graph.succeeded → https://host/…" for the Temporal UI. */
  summary: string;
}

export interface PublishEventResult {
  eventId: string;
  deliveries: DeliveryToStart[];
}

export interface AttemptInput {
  deliveryId: string;
  /** The schedule has no further attempt: a failure now fails the delivery. */
  final: boolean;
}

export interface AttemptResult {
  /**
   * `gone`: 410, the subscription is disabled; `stopped`: disabled or deleted before the attempt;
   * `refused`: the address policy refused the target at connect time, which no retry can change.
   */
  outcome: 'succeeded' | 'retry' | 'gone' | 'stopped' | 'refused';
  attempt?: number;
  status?: number;
  error?: string;
  retryAfterMs?: number;
}

/** The account's batch-callback secret, created sealed on first use. */
export async function openCallbackSecret(deps: Pick<WebhookDeps, 'db' | 'secretsKey'>, accountId: string) {
  const context = `callback:${accountId}`;
  const sealed = await callbackSecret(deps.db, accountId, () =>
    sealSecret(deps.secretsKey, generateSigningSecret(), context),
  );
  return openSecret(deps.secretsKey, sealed, context);
}

/** `https://host/path…` shortened for summaries (no query: it may carry a token). */
export function describeTarget(url: string): string {
  try {
    const parsed = new URL(url);
    const pathname = parsed.pathname.length > 24 ? `${parsed.pathname.slice(0, 24)}…` : parsed.pathname;
    return `${parsed.protocol}//${parsed.host}${pathname}`;
  } catch {
    return 'an invalid URL';
  }
}

/** An attempt's outcome as metrics name it, and the delivery's when the attempt ended it. */
function countedOutcomes(
  result: AttemptResult,
  final: boolean,
): { attempt: WebhookOutcome; delivery: WebhookOutcome | undefined } {
  if (result.outcome === 'retry') return { attempt: 'failed', delivery: final ? 'failed' : undefined };
  return { attempt: result.outcome, delivery: result.outcome };
}

/** `metrics`: where attempts and ended deliveries are counted (a registry of their own when omitted). */
export function createWebhookActivities(
  deps: WebhookDeps,
  metrics: ActivityMetrics = createActivityMetrics(new Registry()),
) {
  const attempt = async (input: AttemptInput): Promise<AttemptResult> => {
    const started = performance.now();
    const result = await attemptDelivery(deps, input);
    const counted = countedOutcomes(result, input.final);
    metrics.webhookAttempt(counted.attempt, (performance.now() - started) / 1000);
    if (counted.delivery) metrics.webhookDelivered(counted.delivery);
    return result;
  };
  return {
    graphEventsWanted: async (input: { accountId: string; batchId: string }): Promise<boolean> => {
      for (const type of graphEventTypes) {
        if ((await subscriptionsForEvent(deps.db, input.accountId, type)).length > 0) return true;
      }
      return Boolean((await getBatch(deps.db, input.accountId, input.batchId))?.callbackUrl);
    },
    publishWebhookEvent: async (input: PublishEventInput): Promise<PublishEventResult> => {
      const eventId = eventIdFor(input.workflowId, input.runId, input.type);
      const { db } = deps;
      const subscriptions = await subscriptionsForEvent(db, input.accountId, input.type);
      const callbackUrl = input.batchId
        ? (await getBatch(db, input.accountId, input.batchId))?.callbackUrl
        : undefined;
      if (subscriptions.length === 0 && !callbackUrl) return { eventId, deliveries: [] };

      // The envelope's timestamp is the first emission's: a retry stores nothing new.
      await insertEvent(db, {
        id: eventId,
        accountId: input.accountId,
        type: input.type,
        payload: { type: input.type, timestamp: new Date().toISOString(), data: input.data },
      });
      const targets = [
        ...subscriptions.map((s) => ({ key: s.id, subscriptionId: s.id, url: s.url })),
        ...(callbackUrl ? [{ key: 'callback', callbackUrl, url: callbackUrl }] : []),
      ];
      const deliveries: DeliveryToStart[] = [];
      for (const target of targets) {
        const workflowId = deliveryWorkflowIdFor(eventId, target.key);
        const row = await insertDelivery(db, {
          id: deliveryIdFor(workflowId),
          accountId: input.accountId,
          eventId,
          subscriptionId: 'subscriptionId' in target ? target.subscriptionId : undefined,
          callbackUrl: 'callbackUrl' in target ? target.callbackUrl : undefined,
          workflowId,
        });
        deliveries.push({
          deliveryId: row.id,
          workflowId: row.workflowId,
          summary: `${input.type} → ${describeTarget(target.url)}`,
        });
      }
      return { eventId, deliveries };
    },

    attemptWebhookDelivery: attempt,

    /** This worker's retry schedule; recorded in the delivery's history, so a later change of config leaves it be. */
    webhookRetrySchedule: async (): Promise<number[]> => Promise.resolve([...deps.retryScheduleMs]),

    /** The schedule ended on a failed activity (no attempt could record it): mark the delivery failed. */
    failWebhookDelivery: async (input: { deliveryId: string }): Promise<void> => {
      await setDeliveryState(deps.db, input.deliveryId, 'failed');
      metrics.webhookDelivered('failed');
    },
  };
}

/** One signed attempt, recorded in the delivery log. */
async function attemptDelivery(deps: WebhookDeps, input: AttemptInput): Promise<AttemptResult> {
  const { db } = deps;
  const delivery = await getDelivery(db, input.deliveryId);
  if (!delivery) return { outcome: 'stopped', error: 'the delivery no longer exists' };
  const event = await getEvent(db, delivery.eventId);
  if (!event) return { outcome: 'stopped', error: 'the event no longer exists' };

  let url: string;
  let secrets: string[];
  let subscriptionId: string | undefined;
  if (delivery.subscriptionId) {
    const subscription = await getSubscriptionById(db, delivery.subscriptionId);
    // Disabled or deleted while this delivery waited: stop without sending.
    if (!subscription || !subscription.enabled) {
      await setDeliveryState(db, delivery.id, 'disabled');
      return { outcome: 'stopped', error: 'the subscription is disabled or deleted' };
    }
    subscriptionId = subscription.id;
    url = subscription.url;
    secrets = [openSecret(deps.secretsKey, subscription.secretSealed, subscription.id)];
    const previous = subscription.previousSecretSealed;
    const expires = subscription.previousSecretExpiresAt;
    if (previous && expires && expires.getTime() > Date.now()) {
      secrets.push(openSecret(deps.secretsKey, previous, subscription.id));
    }
  } else {
    url = delivery.callbackUrl!;
    secrets = [await openCallbackSecret(deps, delivery.accountId)];
  }

  const body = JSON.stringify(event.payload);
  const now = new Date();
  // Several space-separated signatures are allowed: during a rotation, old and new both sign.
  const signature = secrets.map((secret) => new Webhook(secret).sign(event.id, now, body)).join(' ');
  const result = await deps.outbound.post({
    url,
    body,
    timeoutMs: deps.attemptTimeoutMs ?? deliveryAttemptTimeoutMs,
    headers: {
      'content-type': 'application/json',
      'user-agent': 'pixelshift-webhooks',
      'webhook-id': event.id,
      'webhook-timestamp': String(Math.floor(now.getTime() / 1000)),
      'webhook-signature': signature,
    },
  });

  if (result.kind === 'error' && result.code === OUTBOUND_ADDRESS_REFUSED) {
    // The policy answers the same on every attempt: retrying for three days would change nothing.
    const error = `${result.code}: ${result.message}`;
    if (subscriptionId) {
      await disableSubscription(
        db,
        subscriptionId,
        `${error} (delivery ${delivery.id} at ${now.toISOString()})`,
      );
    }
    const attempt = await recordAttempt(db, delivery.id, {
      status: null,
      latencyMs: result.latencyMs,
      error,
      state: 'refused',
    });
    return { outcome: 'refused', attempt, error };
  }
  if (result.kind === 'error') {
    const error = `${result.code}: ${result.message}`;
    const attempt = await recordAttempt(db, delivery.id, {
      status: null,
      latencyMs: result.latencyMs,
      error,
      state: input.final ? 'failed' : 'pending',
    });
    return { outcome: 'retry', attempt, error };
  }
  const { status } = result;
  if (status >= 200 && status < 300) {
    const attempt = await recordAttempt(db, delivery.id, {
      status,
      latencyMs: result.latencyMs,
      error: null,
      state: 'succeeded',
    });
    return { outcome: 'succeeded', attempt, status };
  }
  if (status === 410) {
    if (subscriptionId)
      await disableSubscription(db, subscriptionId, `the receiver answered 410 Gone at ${now.toISOString()}`);
    const attempt = await recordAttempt(db, delivery.id, {
      status,
      latencyMs: result.latencyMs,
      error: 'gone: the receiver answered 410 Gone',
      state: 'disabled',
    });
    return { outcome: 'gone', attempt, status };
  }
  const error = result.redirect
    ? `redirect_not_followed: Location ${result.redirect.location}` +
      (result.redirect.refused ? ` (outbound_address_refused: ${result.redirect.refused})` : '')
    : `http_status: the receiver answered ${status}`;
  const retryAfterMs = honoursRetryAfter(status)
    ? parseRetryAfter(result.headers['retry-after'], now)
    : undefined;
  const attempt = await recordAttempt(db, delivery.id, {
    status,
    latencyMs: result.latencyMs,
    error,
    state: input.final ? 'failed' : 'pending',
  });
  return {
    outcome: 'retry',
    attempt,
    status,
    error,
    ...(retryAfterMs === undefined ? {} : { retryAfterMs }),
  };
}
