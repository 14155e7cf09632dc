/** HTTP schemas of the SNS ingress (`POST /v1/events/sns`), for the OpenAPI document and response checks. */
import { z } from 'zod';
import { snsMessageTypes } from '../../core/triggers/sns-messages.js';

/**
 * For the document only: the route reads the envelope itself (src/core/triggers/sns-messages.ts), as SNS
 * sends it, and verifies its signature before anything else.
 */
export const snsMessageSchema = z
  .object({
    Type: z.enum(snsMessageTypes),
    MessageId: z.string(),
    TopicArn: z.string().describe('Must be listed in `events.snsTopicArns` of an s3 connection.'),
    Message: z.string().describe('For notifications: the S3 event JSON (AWS Records, EventBridge).'),
    Timestamp: z.string().describe('ISO 8601; messages outside a 65-minute window are refused.'),
    SignatureVersion: z.enum(['1', '2']).describe('1 = SHA1withRSA, 2 = SHA256withRSA.'),
    Signature: z.string().describe('Base64.'),
    SigningCertURL: z.string().describe('An https URL on an sns.<region>.amazonaws.com host.'),
    Subject: z.string().optional(),
    SubscribeURL: z.string().optional().describe('Confirmations: visited once, after verification.'),
    Token: z.string().optional(),
    UnsubscribeURL: z.string().optional(),
  })
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
