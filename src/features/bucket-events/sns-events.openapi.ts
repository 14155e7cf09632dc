/** OpenAPI registration of the SNS ingress; called once from openapi.ts. */
import {
  zodToOpenAPIRegistry,
  type OpenAPIRegistry,
  type ResponseConfig,
} from '@asteasolutions/zod-to-openapi';
import type { z } from 'zod';
import { errorResponseSchema } from '../../api/schemas.js';
import { snsMessageSchema, snsReceiptSchema } from './sns-events.schemas.js';

function error(description: string): ResponseConfig {
  return { description, content: { 'application/json': { schema: errorResponseSchema } } };
}

/** Names a schema as a component, the way openapi.ts names its own (no zod prototype extension needed). */
function nameComponent(schema: z.ZodType, refId: string): void {
  zodToOpenAPIRegistry.add(schema, { ...zodToOpenAPIRegistry.get(schema), _internal: { refId } });
}

export function registerSnsOpenApi(registry: OpenAPIRegistry): void {
  nameComponent(snsMessageSchema, 'SnsMessage');
  nameComponent(snsReceiptSchema, 'SnsReceipt');
  registry.registerPath({
    method: 'post',
    path: '/v1/events/sns',
    operationId: 'receiveSnsMessage',
    tags: ['events'],
    summary: 'Receive an Amazon SNS message carrying S3 bucket notifications',
    description:
      "Subscribe this URL (HTTPS) to an SNS topic that S3 publishes to, and list the topic ARN in `events.snsTopicArns` of the bucket's s3 connection. No bearer token: the SNS signature (versions 1 and 2) is verified with the certificate fetched from the `sns.<region>.amazonaws.com` host named in `SigningCertURL` before anything is done. A `SubscriptionConfirmation` is confirmed once; a `Notification` starts one graph run per matching rule and is answered 2xx only once the runs are durably started; `s3:TestEvent` is acknowledged.",
    security: [],
    request: {
      body: {
        required: true,
        content: {
          'text/plain': { schema: snsMessageSchema },
          'application/json': { schema: snsMessageSchema },
        },
      },
    },
    responses: {
      200: {
        description: 'Verified and done.',
        content: { 'application/json': { schema: snsReceiptSchema } },
      },
      400: error(
        'Not JSON (`invalid_json`), not an SNS message or a notification whose Message is not a bucket event (`invalid_sns_message`).',
      ),
      403: error(
        'Bad signature or certificate (`invalid_sns_signature`), certificate or SubscribeURL not on an SNS host (`sns_certificate_host_refused`), topic not configured (`sns_topic_not_allowed`), Timestamp outside the window (`sns_message_expired`).',
      ),
      409: error('A subscription confirmation already handled (`sns_message_replayed`).'),
      413: error('Body larger than 512 KiB (`payload_too_large`).'),
      415: error('Body is neither text/plain nor JSON (`unsupported_media_type`).'),
      502: error(
        'SNS did not accept the subscription confirmation (`sns_confirmation_failed`); SNS retries.',
      ),
      503: error(
        'The job engine (`orchestrator_unavailable`) or the signing certificate (`sns_certificate_unavailable`) is unavailable; SNS retries.',
      ),
    },
  });
}
