/**
 * Webhook subscriptions of an account (`/v1/webhooks`, docs/architecture.md §11): CRUD, secret rotation, the delivery
 * log and redelivery. Signing secrets are shown once and stored sealed (src/auth/secret-box.ts).
 */
import { randomBytes } from 'node:crypto';
import type { z } from 'zod';
import {
  generateSigningSecret,
  openSecret,
  sealSecret,
  type SecretsKey,
} from '../../core/auth/secret-box.js';
import type { Config } from '../../core/config.js';
import type { Db } from '../../db/database.js';
import type { WebhookSubscriptionRow } from '../../db/schema.js';
import {
  callbackSecret,
  countDeliveries,
  deleteSubscription,
  getDelivery,
  getEvent,
  getSubscription,
  insertDelivery,
  insertEvent,
  insertSubscription,
  listDeliveries,
  listSubscriptions,
  updateSubscription,
  type DeliveryPageCursor,
  type SubscriptionPatch,
} from '../../db/webhook-subscriptions.js';
import { OUTBOUND_ADDRESS_REFUSED } from '../../core/net/address-policy.js';
import { outboundAddressPolicy } from '../../core/net/own-api-address.js';
import type { DeliveryStarter } from '../../core/jobs/orchestrator-ports.js';
import {
  deliveryIdFor,
  deliveryIdPattern,
  deliveryWorkflowIdFor,
  newSubscriptionId,
  subscriptionIdPattern,
} from '../../core/webhooks/webhook-ids.js';
import { refusedOutboundUrl } from '../../core/webhooks/webhook-url-policy.js';
import { webhookTestEventType, type WebhookTestEventData } from '../../core/webhooks/webhook-events.js';
import { ApiError, parseRequestBody, notFound, type ApiIssue } from '../../api/api-error.js';
import { encodeDeliveryPageToken } from './delivery-page-token.js';
import {
  DEFAULT_DELIVERY_PAGE_SIZE,
  type CreateWebhookRequest,
  type DeliveryResponse,
  type UpdateWebhookRequest,
  type WebhookResponse,
} from './webhooks.schemas.js';

/** How long the previous secret keeps signing after a rotation. */
export const secretRotationOverlapMs = 24 * 3_600_000;

export interface WebhookUseCaseDeps {
  db: Db;
  config: Pick<Config, 'outbound' | 'http'>;
  secretsKey: () => Promise<SecretsKey>;
  /** Starts redeliveries; absent when the API runs without the job engine (then 503). */
  deliveries?: DeliveryStarter | undefined;
  /** Temporal UI link of a workflow, when the UI's base URL is configured. */
  uiUrl?: ((workflowId: string) => string | undefined) | undefined;
}

/**
 * A subscription body: by its schema, then its URL by the outbound address policy (which also runs at
 * every delivery attempt, on the resolved address), the service's own API kept out.
 */
export function parseSubscriptionBody<T extends { url?: string | undefined }>(
  schema: z.ZodType<T>,
  body: unknown,
  config: WebhookUseCaseDeps['config'],
): T {
  const data = parseRequestBody(schema, body);
  const url = data.url;
  const refused = url === undefined ? undefined : refusedOutboundUrl(url, outboundAddressPolicy(config));
  if (refused !== undefined) {
    const issue: ApiIssue = { path: '/url', code: OUTBOUND_ADDRESS_REFUSED, message: `url: ${refused}` };
    throw new ApiError(422, 'invalid_body', 'The request body is invalid', [issue]);
  }
  return data;
}

async function ownSubscription(db: Db, accountId: string, id: string): Promise<WebhookSubscriptionRow> {
  const row = subscriptionIdPattern.test(id) ? await getSubscription(db, accountId, id) : undefined;
  if (!row) throw notFound(`Webhook ${JSON.stringify(id.slice(0, 64))}`);
  return row;
}

export async function createWebhook(
  deps: WebhookUseCaseDeps,
  accountId: string,
  input: CreateWebhookRequest,
): Promise<WebhookResponse & { secret: string }> {
  const key = await deps.secretsKey();
  const id = newSubscriptionId();
  const secret = generateSigningSecret();
  const row = await insertSubscription(deps.db, {
    id,
    accountId,
    url: input.url,
    events: input.events,
    enabled: input.enabled ?? true,
    secretSealed: sealSecret(key, secret, id),
  });
  return { ...toResponse(row), secret };
}

export async function listWebhooks(db: Db, accountId: string): Promise<{ webhooks: WebhookResponse[] }> {
  return { webhooks: (await listSubscriptions(db, accountId)).map(toResponse) };
}

export async function getWebhook(db: Db, accountId: string, id: string): Promise<WebhookResponse> {
  return toResponse(await ownSubscription(db, accountId, id));
}

export async function updateWebhook(
  deps: WebhookUseCaseDeps,
  accountId: string,
  id: string,
  input: UpdateWebhookRequest,
): Promise<WebhookResponse> {
  await ownSubscription(deps.db, accountId, id);
  const patch: SubscriptionPatch = {
    ...(input.url === undefined ? {} : { url: input.url }),
    ...(input.events === undefined ? {} : { events: input.events }),
    ...(input.enabled === undefined ? {} : { enabled: input.enabled }),
  };
  const row = await updateSubscription(deps.db, accountId, id, patch);
  if (!row) throw notFound(`Webhook ${JSON.stringify(id)}`);
  return toResponse(row);
}

export async function deleteWebhook(db: Db, accountId: string, id: string): Promise<void> {
  const deleted = subscriptionIdPattern.test(id) && (await deleteSubscription(db, accountId, id));
  if (!deleted) throw notFound(`Webhook ${JSON.stringify(id.slice(0, 64))}`);
}

/**
 * A new secret; the previous one keeps signing beside it for 24 h (Standard Webhooks allows several
 * signatures), so receivers can switch without losing a delivery. A second rotation inside the window
 * drops the oldest secret.
 */
export async function rotateWebhookSecret(
  deps: WebhookUseCaseDeps,
  accountId: string,
  id: string,
  now = new Date(),
): Promise<{ id: string; secret: string; previousSecretExpiresAt: string }> {
  const row = await ownSubscription(deps.db, accountId, id);
  const key = await deps.secretsKey();
  const secret = generateSigningSecret();
  const expires = new Date(now.getTime() + secretRotationOverlapMs);
  // Re-sealed so a value that fails to open (wrong key) is caught here, not at the next delivery.
  const previous = sealSecret(key, openSecret(key, row.secretSealed, id), id);
  await updateSubscription(deps.db, accountId, id, {
    secretSealed: sealSecret(key, secret, id),
    previousSecretSealed: previous,
    previousSecretExpiresAt: expires,
  });
  return { id, secret, previousSecretExpiresAt: expires.toISOString() };
}

/** The secret that signs deliveries to this account's batch callbackUrls (created on first use). */
export async function getCallbackSecret(
  deps: WebhookUseCaseDeps,
  accountId: string,
): Promise<{ secret: string }> {
  const key = await deps.secretsKey();
  const context = `callback:${accountId}`;
  const sealed = await callbackSecret(deps.db, accountId, () =>
    sealSecret(key, generateSigningSecret(), context),
  );
  return { secret: openSecret(key, sealed, context) };
}

export async function listWebhookDeliveries(
  deps: Pick<WebhookUseCaseDeps, 'db' | 'uiUrl'>,
  accountId: string,
  id: string,
  paging: { pageSize?: number | undefined; pageToken?: DeliveryPageCursor | undefined },
): Promise<{ deliveries: DeliveryResponse[]; nextPageToken: string | null }> {
  const { db } = deps;
  await ownSubscription(db, accountId, id);
  const pageSize = paging.pageSize ?? DEFAULT_DELIVERY_PAGE_SIZE;
  const rows = await listDeliveries(db, accountId, id, { limit: pageSize + 1, before: paging.pageToken });
  const page = rows.slice(0, pageSize);
  const last = page.at(-1);
  return {
    deliveries: page.map((row) => ({
      id: row.id,
      eventId: row.eventId,
      eventType: row.eventType as DeliveryResponse['eventType'],
      workflowId: row.workflowId,
      state: row.state,
      attempts: row.attempts,
      lastStatus: row.lastStatus,
      lastError: row.lastError,
      createdAt: row.createdAt.toISOString(),
      updatedAt: row.updatedAt.toISOString(),
      attemptLog: row.attemptLog.map((attempt) => ({
        number: attempt.number,
        at: attempt.at.toISOString(),
        status: attempt.status,
        latencyMs: attempt.latencyMs,
        error: attempt.error,
      })),
      ...uiLink(deps.uiUrl?.(row.workflowId)),
    })),
    nextPageToken:
      rows.length > pageSize && last
        ? encodeDeliveryPageToken({ createdAt: last.createdAt, id: last.id })
        : null,
  };
}

/**
 * Replays a delivery as a new delivery workflow (`…/redeliver-<n>`) with the same event, so the
 * receiver sees the same webhook-id and can deduplicate. The subscription must be enabled.
 */
export async function redeliver(
  deps: WebhookUseCaseDeps,
  accountId: string,
  id: string,
  deliveryId: string,
): Promise<{ deliveryId: string; workflowId: string }> {
  const subscription = await ownSubscription(deps.db, accountId, id);
  const original = deliveryIdPattern.test(deliveryId) ? await getDelivery(deps.db, deliveryId) : undefined;
  if (!original || original.accountId !== accountId || original.subscriptionId !== subscription.id) {
    throw notFound(`Delivery ${JSON.stringify(deliveryId.slice(0, 64))}`);
  }
  if (!subscription.enabled) {
    throw new ApiError(409, 'webhook_disabled', 'The webhook is disabled: enable it before redelivering');
  }
  if (!deps.deliveries)
    throw new ApiError(503, 'orchestrator_unavailable', 'The job engine is not available');
  const event = await getEvent(deps.db, original.eventId);
  const count = await countDeliveries(deps.db, original.eventId, subscription.id);
  return startSubscriptionDelivery(deps.deliveries, deps.db, {
    accountId,
    eventId: original.eventId,
    subscription,
    redelivery: count,
    summary: `${event?.type ?? 'event'} → ${new URL(subscription.url).host} (redelivery ${count})`,
    what: 'the redelivery',
  });
}

/**
 * Records one delivery of a stored event to a subscription and starts its delivery workflow (the path
 * every event takes); a start that fails is a 503, and the recorded delivery stays pending in the log.
 */
async function startSubscriptionDelivery(
  deliveries: DeliveryStarter,
  db: Db,
  input: {
    accountId: string;
    eventId: string;
    subscription: WebhookSubscriptionRow;
    redelivery?: number;
    summary: string;
    what: string;
  },
): Promise<{ deliveryId: string; workflowId: string }> {
  const { accountId, eventId, subscription } = input;
  const workflowId = deliveryWorkflowIdFor(eventId, subscription.id, input.redelivery);
  const row = await insertDelivery(db, {
    id: deliveryIdFor(workflowId),
    accountId,
    eventId,
    subscriptionId: subscription.id,
    workflowId,
  });
  try {
    await deliveries.startDelivery({ accountId, workflowId, deliveryId: row.id, summary: input.summary });
  } catch {
    throw new ApiError(503, 'orchestrator_unavailable', `The job engine could not start ${input.what}`);
  }
  return { deliveryId: row.id, workflowId };
}

/**
 * A `webhook.test` event to one subscription, through the delivery path every event takes: stored, then
 * sent by a delivery workflow (signed, retried, logged attempt by attempt), so what the receiver gets and
 * what the delivery log shows are what a real event would give. Each request is a new event.
 */
export async function sendTestEvent(
  deps: WebhookUseCaseDeps,
  accountId: string,
  id: string,
  now = new Date(),
): Promise<{ deliveryId: string; eventId: string; workflowId: string }> {
  const subscription = await ownSubscription(deps.db, accountId, id);
  if (!subscription.enabled) {
    throw new ApiError(
      409,
      'webhook_disabled',
      'The webhook is disabled: enable it before sending a test event',
    );
  }
  if (!deps.deliveries)
    throw new ApiError(503, 'orchestrator_unavailable', 'The job engine is not available');
  const eventId = `evt_${randomBytes(16).toString('hex')}`;
  const data: WebhookTestEventData = {
    accountId,
    webhookId: subscription.id,
    message: 'A test event sent on request; it needs no action.',
  };
  await insertEvent(deps.db, {
    id: eventId,
    accountId,
    type: webhookTestEventType,
    payload: { type: webhookTestEventType, timestamp: now.toISOString(), data },
  });
  const started = await startSubscriptionDelivery(deps.deliveries, deps.db, {
    accountId,
    eventId,
    subscription,
    summary: `${webhookTestEventType} → ${new URL(subscription.url).host}`,
    what: 'the test delivery',
  });
  return { deliveryId: started.deliveryId, eventId, workflowId: started.workflowId };
}

function uiLink(url: string | undefined): { temporalUiUrl?: string } {
  return url === undefined ? {} : { temporalUiUrl: url };
}

function toResponse(row: WebhookSubscriptionRow): WebhookResponse {
  const rotating =
    row.previousSecretExpiresAt && row.previousSecretExpiresAt.getTime() > Date.now()
      ? row.previousSecretExpiresAt.toISOString()
      : null;
  return {
    id: row.id,
    url: row.url,
    events: row.events as WebhookResponse['events'],
    enabled: row.enabled,
    disabledReason: row.disabledReason,
    previousSecretExpiresAt: rotating,
    createdAt: row.createdAt.toISOString(),
    updatedAt: row.updatedAt.toISOString(),
  };
}
