/**
 * Request and response shapes of the webhook endpoints (`/v1/webhooks`) and the payloads we send
 * (documented in the OpenAPI document's `webhooks` section, webhooks.openapi.ts), named as components.
 */
import { z } from 'zod';
import type { DeliveryPageCursor } from '../../db/webhook-subscriptions.js';
import { deliveredEventTypes, webhookEventTypes } from '../../core/webhooks/webhook-events.js';
import { graphOutcomeSchema, sinkFailureSchema, sinkOutcomeSchema } from '../../api/schemas.js';
import { decodeDeliveryPageToken, deliveryPageTokenPattern } from './delivery-page-token.js';

/** Longest subscription or callback URL we store. */
export const maxWebhookUrlLength = 2048;

export const webhookEventTypeSchema = z.enum(webhookEventTypes);

const webhookUrl = z
  .url({ protocol: /^https?$/ })
  .max(maxWebhookUrlLength)
  .describe(
    'An http(s) URL. Private, loopback, link-local and metadata addresses are refused unless the operator allow-listed them; the check is repeated on the resolved address at every attempt.',
  );

// Refinement messages say what was expected; the issue translator writes "Expected … for <field>".
const eventList = z
  .array(webhookEventTypeSchema)
  .min(1)
  .max(webhookEventTypes.length)
  .refine((events) => new Set(events).size === events.length, 'each event type at most once')
  .meta({ uniqueItems: true })
  .describe('Event types to receive, each once.');

export const createWebhookRequestSchema = z
  .strictObject({
    url: webhookUrl,
    events: eventList,
    enabled: z.boolean().optional().describe('Default true.'),
  })
  .meta({ id: 'CreateWebhookRequest' });
export type CreateWebhookRequest = z.infer<typeof createWebhookRequestSchema>;

export const updateWebhookRequestSchema = z
  .strictObject({
    url: webhookUrl.optional(),
    events: eventList.optional(),
    enabled: z
      .boolean()
      .optional()
      .describe('true re-enables a disabled subscription and clears the reason.'),
  })
  .refine((patch) => Object.keys(patch).length > 0, 'at least one of url, events, enabled')
  .meta({ id: 'UpdateWebhookRequest', minProperties: 1 });
export type UpdateWebhookRequest = z.infer<typeof updateWebhookRequestSchema>;

export const webhookSchema = z
  .strictObject({
    id: z.string().describe('wh_…'),
    url: z.string(),
    events: z.array(webhookEventTypeSchema),
    enabled: z.boolean(),
    disabledReason: z
      .string()
      .nullable()
      .describe('Why it was disabled, e.g. the receiver answered 410 Gone.'),
    previousSecretExpiresAt: z
      .string()
      .nullable()
      .describe('After a rotation: until when the previous secret also signs.'),
    createdAt: z.string(),
    updatedAt: z.string(),
  })
  .meta({ id: 'Webhook' });
export type WebhookResponse = z.infer<typeof webhookSchema>;

export const createdWebhookSchema = webhookSchema
  .extend({ secret: z.string().describe('whsec_… signing secret. Shown in this response only.') })
  .meta({ id: 'CreatedWebhook' });
export const webhookListSchema = z.strictObject({ webhooks: z.array(webhookSchema) });

export const rotatedSecretSchema = z.strictObject({
  id: z.string(),
  secret: z.string().describe('The new whsec_… secret. Shown in this response only.'),
  previousSecretExpiresAt: z.string().describe('Until then deliveries carry signatures by both secrets.'),
});

export const callbackSecretSchema = z.strictObject({
  secret: z.string().describe('whsec_… secret that signs deliveries to batch callbackUrls of this account.'),
});

export const deliveryAttemptSchema = z.strictObject({
  number: z.number().int(),
  at: z.string(),
  status: z.number().int().nullable().describe('HTTP status, when the receiver answered.'),
  latencyMs: z.number().int(),
  error: z
    .string()
    .nullable()
    .describe('`<code>: <detail>`, e.g. `http_status: …`, `timeout: …`, `outbound_address_refused: …`.'),
});

export const deliverySchema = z.strictObject({
  id: z.string().describe('dlv_…'),
  eventId: z.string().describe('evt_…, also the webhook-id header of every attempt'),
  eventType: z.enum(deliveredEventTypes).describe('`webhook.test` for a test event sent on request.'),
  workflowId: z.string(),
  state: z
    .enum(['pending', 'succeeded', 'failed', 'disabled', 'refused'])
    .describe(
      '`refused`: the outbound address policy refused the target at connect time; the subscription is disabled with the reason.',
    ),
  attempts: z.number().int(),
  lastStatus: z.number().int().nullable(),
  lastError: z.string().nullable(),
  createdAt: z.string(),
  updatedAt: z.string(),
  attemptLog: z.array(deliveryAttemptSchema),
  temporalUiUrl: z.string().optional().describe('The delivery workflow in the Temporal UI, when configured.'),
});
export type DeliveryResponse = z.infer<typeof deliverySchema>;

export const deliveryListSchema = z
  .strictObject({
    deliveries: z.array(deliverySchema),
    nextPageToken: z.string().nullable(),
  })
  .meta({ id: 'WebhookDeliveryList' });

/** Decimal text becomes a number, so the integer and its bounds are checked (and reported) as one. */
const decimalText = /^-?\d+(?:\.\d+)?$/;
const fromDecimalText = (value: unknown) =>
  typeof value === 'string' && decimalText.test(value) ? Number(value) : value;

export const DEFAULT_DELIVERY_PAGE_SIZE = 20;
const MAX_DELIVERY_PAGE_SIZE = 100;

export const deliveryListQuerySchema = z.strictObject({
  pageSize: z
    .preprocess(fromDecimalText, z.int().min(1).max(MAX_DELIVERY_PAGE_SIZE))
    .optional()
    .describe(
      `Deliveries per page, 1–${MAX_DELIVERY_PAGE_SIZE}; ${DEFAULT_DELIVERY_PAGE_SIZE} when omitted.`,
    ),
  // Checked here, before anything is looked up: a token this API did not issue is a 400 at once.
  pageToken: z
    .string()
    .regex(deliveryPageTokenPattern)
    .transform((token, context): DeliveryPageCursor => {
      const cursor = decodeDeliveryPageToken(token);
      if (cursor) return cursor;
      context.addIssue({ code: 'custom', message: 'the nextPageToken of an earlier page', input: token });
      return z.NEVER;
    })
    .optional()
    .describe(
      'The nextPageToken of the previous page, as given (opaque); any other value is refused with 400.',
    ),
});

export const redeliveryResponseSchema = z.strictObject({
  deliveryId: z.string(),
  workflowId: z.string(),
});

export const testDeliveryResponseSchema = z
  .strictObject({
    deliveryId: z.string().describe('dlv_…: the delivery in GET /v1/webhooks/{id}/deliveries.'),
    eventId: z.string().describe('evt_…, the webhook-id header the receiver sees.'),
    workflowId: z.string(),
  })
  .meta({ id: 'WebhookTestDelivery' });

// ------------------------------------------------------------------ payloads we send

const graphEventDataSchema = z.strictObject({
  accountId: z.string(),
  workflowId: z.string(),
  batchId: z.string().optional().describe('Graphs of a batch only; S3-rule and inbound-hook runs have none.'),
  index: z.number().int().optional(),
  state: graphOutcomeSchema.shape.state,
  sinks: z.array(sinkOutcomeSchema).describe('Every sink written: bucket, key, bytes, format, size, etag.'),
  failures: z.array(sinkFailureSchema).describe('Sinks that failed, each with its error code.'),
  error: graphOutcomeSchema.shape.error,
  startedAt: z.string().optional(),
  finishedAt: z.string().optional(),
});

export const graphSucceededPayloadSchema = z
  .strictObject({
    type: z.literal('graph.succeeded'),
    timestamp: z.string(),
    data: graphEventDataSchema,
  })
  .meta({ id: 'GraphSucceededEvent' });

export const graphFailedPayloadSchema = z
  .strictObject({
    type: z.literal('graph.failed'),
    timestamp: z.string(),
    data: graphEventDataSchema.describe('state is failed or partial (some sinks written, see failures).'),
  })
  .meta({ id: 'GraphFailedEvent' });

export const batchCompletedPayloadSchema = z
  .strictObject({
    type: z.literal('batch.completed'),
    timestamp: z.string(),
    data: z.strictObject({
      accountId: z.string(),
      batchId: z.string(),
      workflowId: z.string(),
      state: z.enum(['succeeded', 'partial', 'failed', 'cancelled']),
      graphCount: z.number().int(),
      counts: z.record(graphOutcomeSchema.shape.state, z.number().int()),
      createdAt: z.string(),
      finishedAt: z.string().optional(),
      statusPath: z.string().describe('GET this (with a token) for every sink of every graph.'),
      detail: z
        .enum(['full', 'states'])
        .describe('full: graphs carry sinks and failures; states: the batch was too large, see statusPath.'),
      graphs: z.array(
        z.strictObject({
          index: z.number().int(),
          workflowId: z.string(),
          state: graphOutcomeSchema.shape.state,
          errorCode: z.string().optional(),
          sinks: z.array(sinkOutcomeSchema).optional(),
          failures: z.array(sinkFailureSchema).optional(),
        }),
      ),
    }),
  })
  .meta({ id: 'BatchCompletedEvent' });

export const webhookTestPayloadSchema = z
  .strictObject({
    type: z.literal('webhook.test'),
    timestamp: z.string(),
    data: z.strictObject({
      accountId: z.string(),
      webhookId: z.string().describe('The subscription (wh_…) the test was sent to.'),
      message: z.string(),
    }),
  })
  .meta({ id: 'WebhookTestEvent' });
