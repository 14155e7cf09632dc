/** `/v1/webhooks`: subscriptions, their secrets, delivery log and redelivery (docs/architecture.md). */
import { z } from 'zod';
import { defineRoute, noContent, noStore, ok, reply, type ApiFeature } from '../../api/define-route.js';
import { errorResponse } from '../../api/openapi-builder.js';
import { registerWebhookPayloads } from './webhooks.openapi.js';
import {
  callbackSecretSchema,
  createdWebhookSchema,
  createWebhookRequestSchema,
  deliveryListQuerySchema,
  deliveryListSchema,
  redeliveryResponseSchema,
  rotatedSecretSchema,
  testDeliveryResponseSchema,
  updateWebhookRequestSchema,
  webhookListSchema,
  webhookSchema,
} from './webhooks.schemas.js';
import {
  createWebhook,
  deleteWebhook,
  getCallbackSecret,
  getWebhook,
  listWebhookDeliveries,
  listWebhooks,
  parseSubscriptionBody,
  redeliver,
  rotateWebhookSecret,
  sendTestEvent,
  updateWebhook,
  type WebhookUseCaseDeps,
} from './webhooks.service.js';

const json = (schema: z.ZodType) => ({ 'application/json': { schema } });

const idParam = z.object({ id: z.string().describe('Webhook id, wh_…') });
const noSuchWebhook = errorResponse('No such webhook for this account (`not_found`).');
const invalidSubscription = errorResponse(
  'Invalid body (`invalid_body`): a URL that is not http(s), unknown, repeated or no event types, unknown fields, or an internal address, the API itself included (issue code `outbound_address_refused`).',
);

export function webhooksFeature(deps: WebhookUseCaseDeps): ApiFeature {
  // Checked by its schema, then its URL by the outbound address policy.
  const subscriptionBody = <T extends { url?: string | undefined }>(schema: z.ZodType<T>) => ({
    schema,
    contentType: 'application/json',
    parse: (body: unknown) => parseSubscriptionBody(schema, body, deps.config),
  });
  return {
    tags: [
      { name: 'webhooks', description: 'Outbound webhook subscriptions, their delivery log and payloads' },
    ],
    routes: [
      defineRoute({
        operationId: 'listWebhooks',
        method: 'get',
        path: '/v1/webhooks',
        tags: ['webhooks'],
        auth: 'bearer',
        summary: 'The account’s webhook subscriptions (never their secrets)',
        responses: { 200: { description: 'All subscriptions.', content: json(webhookListSchema) } },
        handler: async ({ principal }) => ok(await listWebhooks(deps.db, principal.accountId)),
      }),
      defineRoute({
        operationId: 'createWebhook',
        method: 'post',
        path: '/v1/webhooks',
        tags: ['webhooks'],
        auth: 'bearer',
        summary: 'Subscribe a URL to events; the signing secret is shown in this response only',
        request: { body: subscriptionBody(createWebhookRequestSchema) },
        responses: {
          201: { description: 'Created.', content: json(createdWebhookSchema) },
          422: invalidSubscription,
        },
        // The secret is in this response and nowhere else.
        handler: async ({ body, principal }) =>
          reply(201, await createWebhook(deps, principal.accountId, body), noStore),
      }),
      // Before /v1/webhooks/{id}, which would otherwise match it.
      defineRoute({
        operationId: 'getCallbackSecret',
        method: 'get',
        path: '/v1/webhooks/callback-secret',
        tags: ['webhooks'],
        auth: 'bearer',
        summary: 'The secret that signs deliveries to this account’s batch callbackUrls',
        responses: { 200: { description: 'The secret.', content: json(callbackSecretSchema) } },
        handler: async ({ principal }) => ok(await getCallbackSecret(deps, principal.accountId), noStore),
      }),
      defineRoute({
        operationId: 'getWebhook',
        method: 'get',
        path: '/v1/webhooks/{id}',
        tags: ['webhooks'],
        auth: 'bearer',
        summary: 'One subscription',
        request: { params: idParam },
        responses: {
          200: { description: 'The subscription.', content: json(webhookSchema) },
          404: noSuchWebhook,
        },
        handler: async ({ params, principal }) =>
          ok(await getWebhook(deps.db, principal.accountId, params.id)),
      }),
      defineRoute({
        operationId: 'updateWebhook',
        method: 'patch',
        path: '/v1/webhooks/{id}',
        tags: ['webhooks'],
        auth: 'bearer',
        summary: 'Change url, events or enabled; enabling again clears the disabled reason',
        request: {
          params: idParam,
          body: subscriptionBody(updateWebhookRequestSchema),
        },
        responses: {
          200: { description: 'The updated subscription.', content: json(webhookSchema) },
          404: noSuchWebhook,
          422: invalidSubscription,
        },
        handler: async ({ params, body, principal }) =>
          ok(await updateWebhook(deps, principal.accountId, params.id, body)),
      }),
      defineRoute({
        operationId: 'deleteWebhook',
        method: 'delete',
        path: '/v1/webhooks/{id}',
        tags: ['webhooks'],
        auth: 'bearer',
        summary: 'Delete a subscription and its delivery log; waiting deliveries stop',
        request: { params: idParam },
        responses: { 204: { description: 'Deleted.' }, 404: noSuchWebhook },
        handler: async ({ params, principal }) => {
          await deleteWebhook(deps.db, principal.accountId, params.id);
          return noContent;
        },
      }),
      defineRoute({
        operationId: 'rotateWebhookSecret',
        method: 'post',
        path: '/v1/webhooks/{id}/rotate-secret',
        tags: ['webhooks'],
        auth: 'bearer',
        summary: 'A new signing secret; the previous one keeps signing beside it for 24 hours',
        request: { params: idParam },
        responses: {
          200: { description: 'The new secret, shown once.', content: json(rotatedSecretSchema) },
          404: noSuchWebhook,
        },
        handler: async ({ params, principal }) =>
          ok(await rotateWebhookSecret(deps, principal.accountId, params.id), noStore),
      }),
      defineRoute({
        operationId: 'listWebhookDeliveries',
        method: 'get',
        path: '/v1/webhooks/{id}/deliveries',
        tags: ['webhooks'],
        auth: 'bearer',
        summary:
          'Delivery log, newest first: each delivery with every attempt (time, status, latency, error)',
        request: { params: idParam, query: deliveryListQuerySchema },
        responses: {
          200: { description: 'One page.', content: json(deliveryListSchema) },
          400: errorResponse(
            'A pageSize out of range, a pageToken this API did not issue, or an unknown parameter (`invalid_request`).',
          ),
          404: noSuchWebhook,
        },
        handler: async ({ params, query, principal }) =>
          ok(await listWebhookDeliveries(deps, principal.accountId, params.id, query)),
      }),
      defineRoute({
        operationId: 'redeliverWebhook',
        method: 'post',
        path: '/v1/webhooks/{id}/deliveries/{deliveryId}/redeliver',
        tags: ['webhooks'],
        auth: 'bearer',
        summary: 'Send a delivery’s event again (same webhook-id) as a new delivery',
        request: { params: idParam.extend({ deliveryId: z.string().describe('dlv_…') }) },
        responses: {
          202: { description: 'Redelivery started.', content: json(redeliveryResponseSchema) },
          404: errorResponse('No such webhook for this account, or no such delivery of it (`not_found`).'),
          409: errorResponse('The webhook is disabled (`webhook_disabled`).'),
          503: errorResponse('The job engine is unavailable (`orchestrator_unavailable`).'),
        },
        handler: async ({ params, principal }) =>
          reply(202, await redeliver(deps, principal.accountId, params.id, params.deliveryId)),
      }),
      defineRoute({
        operationId: 'sendWebhookTestEvent',
        method: 'post',
        path: '/v1/webhooks/{id}/test',
        tags: ['webhooks'],
        auth: 'bearer',
        summary: 'Send a `webhook.test` event to this subscription, signed and logged like any delivery',
        description:
          'Whatever events the subscription receives. The delivery appears in the delivery log at once and is retried like any other.',
        request: { params: idParam },
        responses: {
          202: { description: 'Test delivery started.', content: json(testDeliveryResponseSchema) },
          404: noSuchWebhook,
          409: errorResponse('The webhook is disabled (`webhook_disabled`).'),
          503: errorResponse('The job engine is unavailable (`orchestrator_unavailable`).'),
        },
        handler: async ({ params, principal }) =>
          reply(202, await sendTestEvent(deps, principal.accountId, params.id)),
      }),
    ],
    document: registerWebhookPayloads,
  };
}
