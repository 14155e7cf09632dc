/**
 * The webhook endpoints (`/v1/webhooks`) and the payloads we send (the OpenAPI 3.1 `webhooks` section),
 * registered from the zod schemas of schemas-webhooks.ts. Called once from openapi.ts.
 */
import {
  zodToOpenAPIRegistry,
  type OpenAPIRegistry,
  type ResponseConfig,
} from '@asteasolutions/zod-to-openapi';
import { z } from 'zod';
import {
  batchCompletedPayloadSchema,
  callbackSecretSchema,
  createdWebhookSchema,
  createWebhookRequestSchema,
  deliveryListQuerySchema,
  deliveryListSchema,
  graphFailedPayloadSchema,
  graphSucceededPayloadSchema,
  redeliveryResponseSchema,
  rotatedSecretSchema,
  updateWebhookRequestSchema,
  webhookListSchema,
  webhookSchema,
} from './webhooks.schemas.js';
import { errorResponseSchema } from '../../api/schemas.js';

const json = (schema: z.ZodType) => ({ 'application/json': { schema } });
const error = (description: string): ResponseConfig => ({ description, content: json(errorResponseSchema) });

const common = {
  401: error('Missing, expired, forged or revoked access token (`unauthorized`).'),
  500: error('Unexpected failure (`internal_error`).'),
};
const bodyErrors = {
  400: error('Malformed JSON (`invalid_json`).'),
  413: error('Body larger than the configured limit (`payload_too_large`).'),
  415: error('Body is not application/json (`unsupported_media_type`).'),
  422: error(
    'Invalid body (`invalid_body`): a URL that is not http(s), unknown event types or fields, or an internal address (issue code `outbound_address_refused`).',
  ),
};
const notFound = { 404: error('No such webhook for this account (`not_found`).') };
const idParam = z.object({ id: z.string().describe('Webhook id, wh_…') });

const signatureHeaders = z.object({
  'webhook-id': z.string().describe('The event id (evt_…): the same on every attempt and redelivery.'),
  'webhook-timestamp': z.string().describe('Unix seconds of this attempt.'),
  'webhook-signature': z
    .string()
    .describe(
      '`v1,<base64 HMAC-SHA256 of "<id>.<timestamp>.<body>">` keyed with the base64 bytes after `whsec_`; two space-separated signatures for 24 h after a secret rotation.',
    ),
});

/** Names a schema as a component, on the very instance the routes use (as openapi.ts does). */
function nameComponent(schema: z.ZodType, refId: string): void {
  zodToOpenAPIRegistry.add(schema, { ...zodToOpenAPIRegistry.get(schema), _internal: { refId } });
}

let componentsNamed = false;

export function registerWebhookOpenApi(registry: OpenAPIRegistry): void {
  const Webhook = webhookSchema;
  const CreatedWebhook = createdWebhookSchema;
  const CreateWebhook = createWebhookRequestSchema;
  const UpdateWebhook = updateWebhookRequestSchema;
  const Deliveries = deliveryListSchema;
  const GraphSucceeded = graphSucceededPayloadSchema;
  const GraphFailed = graphFailedPayloadSchema;
  const BatchCompleted = batchCompletedPayloadSchema;
  if (!componentsNamed) {
    componentsNamed = true;
    const named: [z.ZodType, string][] = [
      [Webhook, 'Webhook'],
      [CreatedWebhook, 'CreatedWebhook'],
      [CreateWebhook, 'CreateWebhookRequest'],
      [UpdateWebhook, 'UpdateWebhookRequest'],
      [Deliveries, 'WebhookDeliveryList'],
      [GraphSucceeded, 'GraphSucceededEvent'],
      [GraphFailed, 'GraphFailedEvent'],
      [BatchCompleted, 'BatchCompletedEvent'],
    ];
    for (const [schema, refId] of named) nameComponent(schema, refId);
  }

  const paths = [
    {
      method: 'get' as const,
      path: '/v1/webhooks',
      operationId: 'listWebhooks',
      summary: 'The account’s webhook subscriptions (never their secrets)',
      responses: { 200: { description: 'All subscriptions.', content: json(webhookListSchema) }, ...common },
    },
    {
      method: 'post' as const,
      path: '/v1/webhooks',
      operationId: 'createWebhook',
      summary: 'Subscribe a URL to events; the signing secret is shown in this response only',
      request: { body: { required: true, content: json(CreateWebhook) } },
      responses: {
        201: { description: 'Created.', content: json(CreatedWebhook) },
        ...bodyErrors,
        ...common,
      },
    },
    {
      method: 'get' as const,
      path: '/v1/webhooks/callback-secret',
      operationId: 'getCallbackSecret',
      summary: 'The secret that signs deliveries to this account’s batch callbackUrls',
      responses: { 200: { description: 'The secret.', content: json(callbackSecretSchema) }, ...common },
    },
    {
      method: 'get' as const,
      path: '/v1/webhooks/{id}',
      operationId: 'getWebhook',
      summary: 'One subscription',
      request: { params: idParam },
      responses: {
        200: { description: 'The subscription.', content: json(Webhook) },
        ...notFound,
        ...common,
      },
    },
    {
      method: 'patch' as const,
      path: '/v1/webhooks/{id}',
      operationId: 'updateWebhook',
      summary: 'Change url, events or enabled; enabling again clears the disabled reason',
      request: { params: idParam, body: { required: true, content: json(UpdateWebhook) } },
      responses: {
        200: { description: 'The updated subscription.', content: json(Webhook) },
        ...bodyErrors,
        ...notFound,
        ...common,
      },
    },
    {
      method: 'delete' as const,
      path: '/v1/webhooks/{id}',
      operationId: 'deleteWebhook',
      summary: 'Delete a subscription and its delivery log; waiting deliveries stop',
      request: { params: idParam },
      responses: { 204: { description: 'Deleted.' }, ...notFound, ...common },
    },
    {
      method: 'post' as const,
      path: '/v1/webhooks/{id}/rotate-secret',
      operationId: 'rotateWebhookSecret',
      summary: 'A new signing secret; the previous one keeps signing beside it for 24 hours',
      request: { params: idParam },
      responses: {
        200: { description: 'The new secret, shown once.', content: json(rotatedSecretSchema) },
        ...notFound,
        ...common,
      },
    },
    {
      method: 'get' as const,
      path: '/v1/webhooks/{id}/deliveries',
      operationId: 'listWebhookDeliveries',
      summary: 'Delivery log, newest first: each delivery with every attempt (time, status, latency, error)',
      request: { params: idParam, query: deliveryListQuerySchema },
      responses: {
        200: { description: 'One page.', content: json(Deliveries) },
        400: error('Bad pageSize or pageToken (`invalid_request`).'),
        ...notFound,
        ...common,
      },
    },
    {
      method: 'post' as const,
      path: '/v1/webhooks/{id}/deliveries/{deliveryId}/redeliver',
      operationId: 'redeliverWebhook',
      summary: 'Send a delivery’s event again (same webhook-id) as a new delivery',
      request: { params: idParam.extend({ deliveryId: z.string().describe('dlv_…') }) },
      responses: {
        202: { description: 'Redelivery started.', content: json(redeliveryResponseSchema) },
        ...notFound,
        409: error('The webhook is disabled (`webhook_disabled`).'),
        503: error('The job engine is unavailable (`orchestrator_unavailable`).'),
        ...common,
      },
    },
  ];
  for (const path of paths) registry.registerPath({ ...path, tags: ['webhooks'] });

  const events = [
    ['graph.succeeded', GraphSucceeded, 'A graph wrote every sink.'],
    ['graph.failed', GraphFailed, 'A graph failed or wrote only some sinks (partial); errors carry codes.'],
    ['batch.completed', BatchCompleted, 'A batch finished (succeeded, partial, failed or cancelled).'],
  ] as const;
  for (const [name, schema, summary] of events) {
    registry.registerWebhook({
      method: 'post',
      path: name,
      operationId: `${name.replace('.', '_')}_event`,
      summary,
      description:
        'Sent to each enabled subscription to this event type and, for events of a batch, to the batch’s callbackUrl (signed with the account’s callback secret). Answer 2xx to acknowledge; anything else is retried for about three days (429/503 Retry-After honoured); 410 Gone disables the subscription. Redirects are not followed.',
      tags: ['webhooks'],
      security: [],
      request: { headers: signatureHeaders, body: { required: true, content: json(schema) } },
      responses: { 200: { description: 'Acknowledged (any 2xx).' } },
    });
  }
}
