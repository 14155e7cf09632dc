/**
 * The payloads we send (the OpenAPI 3.1 `webhooks` section): one entry per event type, with the
 * Standard Webhooks headers every delivery carries. The `/v1/webhooks` paths live beside their routes.
 */
import type { OpenAPIRegistry } from '@asteasolutions/zod-to-openapi';
import { z } from 'zod';
import {
  batchCompletedPayloadSchema,
  graphFailedPayloadSchema,
  graphSucceededPayloadSchema,
  webhookTestPayloadSchema,
} from './webhooks.schemas.js';

const signatureHeaders = z.object({
  'webhook-id': z.string().describe('The event id (evt_…): the same on every attempt and redelivery.'),
  'webhook-timestamp': z.string().describe('Unix seconds of this attempt.'),
  'webhook-signature': z
    .string()
    .describe(
      '`v1,<base64 HMAC-SHA256 of "<id>.<timestamp>.<body>">` keyed with the base64 bytes after `whsec_`; two space-separated signatures for 24 h after a secret rotation.',
    ),
});

const events = [
  ['graph.succeeded', graphSucceededPayloadSchema, 'A graph wrote every sink.'],
  [
    'graph.failed',
    graphFailedPayloadSchema,
    'A graph failed or wrote only some sinks (partial); errors carry codes.',
  ],
  [
    'batch.completed',
    batchCompletedPayloadSchema,
    'A batch finished (succeeded, partial, failed or cancelled).',
  ],
  [
    'webhook.test',
    webhookTestPayloadSchema,
    'A test event, sent to one subscription on request (POST /v1/webhooks/{id}/test), whatever events it subscribes to.',
  ],
] as const;

export function registerWebhookPayloads(registry: OpenAPIRegistry): void {
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
      request: {
        headers: signatureHeaders,
        body: { required: true, content: { 'application/json': { schema } } },
      },
      responses: { 200: { description: 'Acknowledged (any 2xx).' } },
    });
  }
}
