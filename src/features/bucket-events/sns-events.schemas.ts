/** HTTP schemas of the SNS ingress (`POST /v1/events/sns`), for the OpenAPI document and response checks. */
import { z } from 'zod';
import {
  base64Pattern,
  messageIdPattern,
  snsMessageTypes,
  timestampPattern,
  topicArnPattern,
} from '../../core/triggers/sns-messages.js';

/** SNS leaves out what it has no value for: a field that is present is never empty. */
const text = z.string().min(1);

const envelopeFields = {
  MessageId: z.string().regex(messageIdPattern),
  TopicArn: z
    .string()
    .regex(topicArnPattern)
    .describe('Must be listed in `events.snsTopicArns` of an s3 connection.'),
  Message: text.describe('For notifications: the S3 event JSON (AWS Records, EventBridge).'),
  Timestamp: z
    .string()
    .regex(timestampPattern)
    .meta({ format: 'date-time' })
    .describe('RFC 3339 UTC; messages outside a 65-minute window are refused.'),
  SignatureVersion: z.enum(['1', '2']).describe('1 = SHA1withRSA, 2 = SHA256withRSA.'),
  Signature: z.string().regex(base64Pattern).describe('Base64; it must verify with the certificate.'),
  SigningCertURL: text.describe('An https URL on an sns.<region>.amazonaws.com host.'),
};

/**
 * For the document only: the route reads the envelope itself (src/core/triggers/sns-messages.ts), as SNS
 * sends it, and verifies its signature before anything else.
 */
export const snsMessageSchema = z
  .discriminatedUnion('Type', [
    z.object({
      Type: z.literal('Notification'),
      ...envelopeFields,
      Subject: text.optional(),
      UnsubscribeURL: z.string().optional().describe('Sent by SNS; not read.'),
    }),
    z.object({
      Type: z.enum(['SubscriptionConfirmation', 'UnsubscribeConfirmation']),
      ...envelopeFields,
      SubscribeURL: text.describe(
        'An https URL on an sns.<region>.amazonaws.com host; visited once, after verification.',
      ),
      Token: text,
    }),
  ])
  .meta({
    id: 'SnsMessage',
    description: 'An Amazon SNS HTTP(S) message, sent by SNS as text/plain.',
  });

export const snsReceiptSchema = z
  .strictObject({
    type: z.enum(snsMessageTypes),
    messageId: z.string(),
    outcome: z
      .enum(['started', 'test_event', 'subscription_confirmed', 'unsubscribe_noted'])
      .describe(
        'What was done: runs started (or found), S3 test event acknowledged, subscription confirmed.',
      ),
    events: z.number().int().optional().describe('Notifications: ObjectCreated events read.'),
    started: z.number().int().optional().describe('Graph runs started by this delivery.'),
    duplicates: z.number().int().optional().describe('Runs that already existed (a redelivery).'),
    unmatched: z.number().int().optional().describe('Events no enabled rule matched.'),
  })
  .meta({ id: 'SnsReceipt' });

/** The header SNS sends with each message; when present it must agree with the body's `Type`. */
export const snsHeadersSchema = z.object({
  'x-amz-sns-message-type': z
    .enum(snsMessageTypes)
    .optional()
    .describe('Sent by SNS; a value that differs from the body’s `Type` is refused (`invalid_sns_message`).'),
});
