/**
 * `POST /v1/events/sns`: SNS cannot send an account token, so the message signature (verified in the
 * use-case before anything happens) is the authentication.
 */
import { ApiError } from '../../api/api-error.js';
import { defineRoute, ok, type ApiFeature } from '../../api/define-route.js';
import { errorResponse } from '../../api/openapi-builder.js';
import { receiveSnsMessage, type SnsIngressDeps } from './receive-sns-message.js';
import { snsHeadersSchema, snsMessageSchema, snsReceiptSchema } from './sns-events.schemas.js';

/** What the app's caller provides; the database, connections and logger come from the app itself. */
export type SnsRouteDeps = Omit<SnsIngressDeps, 'db' | 'connections' | 'logger'>;

/** SNS messages are at most 256 KiB; twice that leaves room for the envelope and JSON escaping. */
export const SNS_MAX_BODY_BYTES = 512 * 1024;

/** The body as sent: its exact text is what the signature covers, so it is parsed by the use-case. */
function snsBodyText(body: unknown): string {
  if (typeof body !== 'string' || body === '') {
    throw new ApiError(400, 'invalid_json', 'The request body is empty');
  }
  return body;
}

export function snsEventsFeature(deps: SnsIngressDeps): ApiFeature {
  return {
    routes: [
      defineRoute({
        operationId: 'receiveSnsMessage',
        method: 'post',
        path: '/v1/events/sns',
        tags: ['events'],
        auth: 'none',
        summary: 'Receive an Amazon SNS message carrying S3 bucket notifications',
        description:
          "Subscribe this URL (HTTPS) to an SNS topic that S3 publishes to, and list the topic ARN in `events.snsTopicArns` of the bucket's s3 connection. No bearer token: the SNS signature (versions 1 and 2) is verified with the certificate fetched from the `sns.<region>.amazonaws.com` host named in `SigningCertURL` before anything is done. A `SubscriptionConfirmation` is confirmed once; a `Notification` starts one graph run per matching rule and is answered 2xx only once the runs are durably started; `s3:TestEvent` is acknowledged.",
        request: {
          headers: snsHeadersSchema,
          body: {
            schema: snsMessageSchema,
            // SNS posts `text/plain; charset=UTF-8` (or JSON when a delivery policy says so).
            contentType: ['text/plain', 'application/json'],
            reader: 'text',
            maxBytes: SNS_MAX_BODY_BYTES,
            parse: snsBodyText,
          },
        },
        responses: {
          200: {
            description: 'Verified and done.',
            content: { 'application/json': { schema: snsReceiptSchema } },
          },
          400: errorResponse(
            'Empty or not JSON (`invalid_json`), not an SNS message, a `x-amz-sns-message-type` that differs from `Type`, or a notification whose Message is not a bucket event (`invalid_sns_message`); a header value that is not a message type (`invalid_request`).',
          ),
          403: errorResponse(
            'Bad signature or certificate (`invalid_sns_signature`), certificate or SubscribeURL not on an SNS host (`sns_certificate_host_refused`), topic not configured (`sns_topic_not_allowed`), Timestamp outside the window (`sns_message_expired`).',
          ),
          409: errorResponse('A subscription confirmation already handled (`sns_message_replayed`).'),
          413: errorResponse('Body larger than 512 KiB (`payload_too_large`).'),
          415: errorResponse('Body is neither text/plain nor JSON (`unsupported_media_type`).'),
          502: errorResponse(
            'SNS did not accept the subscription confirmation (`sns_confirmation_failed`); SNS retries.',
          ),
          503: errorResponse(
            'The job engine (`orchestrator_unavailable`) or the signing certificate (`sns_certificate_unavailable`) is unavailable; SNS retries.',
          ),
        },
        handler: async ({ body, headers }) =>
          ok(await receiveSnsMessage(deps, body, headers['x-amz-sns-message-type'])),
      }),
    ],
  };
}
