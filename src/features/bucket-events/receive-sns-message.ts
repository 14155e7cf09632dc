import type { Logger } from 'pino';
import { claimSnsMessage, releaseSnsMessage } from '../../db/sns-messages.js';
import type { Db } from '../../db/database.js';
import type { StorageConnections } from '../../core/storage/connections.js';
import type { EventBodyParser } from '../../core/triggers/bucket-notification.js';
import {
  CertificateUnavailableError,
  connectionsForTopic,
  parseSnsEnvelope,
  SNS_REPLAY_WINDOW_MS,
  SnsRefusal,
  verifySnsEnvelope,
  type CertificateFetcher,
  type SnsEnvelope,
  type SnsMessageType,
  type SnsRefusalCode,
  type SubscriptionConfirmer,
} from '../../core/triggers/sns-messages.js';
import type { EventIngest, IngestResult, ObjectCreatedEvent } from '../../core/triggers/trigger-types.js';
import { ApiError } from '../../api/api-error.js';
import { callOrchestrator } from '../../api/orchestrator-call.js';

export interface SnsIngressDeps {
  db: Db;
  connections: StorageConnections;
  ingest: EventIngest;
  parse: EventBodyParser;
  fetchCertificate: CertificateFetcher;
  confirmSubscription: SubscriptionConfirmer;
  logger?: Logger | undefined;
  now?: () => Date;
}

export type SnsOutcome = 'started' | 'test_event' | 'subscription_confirmed' | 'unsubscribe_noted';

export interface SnsReceipt {
  type: SnsMessageType;
  messageId: string;
  outcome: SnsOutcome;
  /** Notifications only: what the ingest did, summed over the topic's connections. */
  events?: number;
  started?: number;
  duplicates?: number;
  unmatched?: number;
}

const refusalStatus: Record<SnsRefusalCode, number> = {
  invalid_sns_message: 400,
  invalid_sns_signature: 403,
  sns_certificate_host_refused: 403,
  sns_topic_not_allowed: 403,
  sns_message_expired: 403,
  sns_message_replayed: 409,
};

function toApiError(refusal: SnsRefusal): ApiError {
  return new ApiError(refusalStatus[refusal.code], refusal.code, refusal.message);
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new ApiError(400, 'invalid_json', 'The request body is not valid JSON');
  }
}

/**
 * One SNS delivery: parse, verify (hosts, certificate, signature, Timestamp), check the topic against the
 * configured allow-list, and only then act — start the runs of a notification, confirm a subscription
 * once, or note an unsubscription. The answer is 2xx only once the action is done, so SNS retries
 * anything that failed.
 */
export async function receiveSnsMessage(
  deps: SnsIngressDeps,
  body: string,
  headerType?: string,
): Promise<SnsReceipt> {
  const now = deps.now?.() ?? new Date();
  let envelope: SnsEnvelope;
  let connections: string[];
  try {
    envelope = parseSnsEnvelope(parseJson(body));
    await verifySnsEnvelope(envelope, { fetchCertificate: deps.fetchCertificate, now });
    // After the signature: the header is outside what SNS signs, and agreeing with the body is a rule
    // between a header and a body that no schema can state, so only a genuine message is judged on it.
    if (headerType !== undefined && headerType !== envelope.type) {
      throw new SnsRefusal('invalid_sns_message', 'x-amz-sns-message-type does not match the body Type');
    }
    connections = connectionsForTopic(deps.connections, envelope.topicArn);
    if (connections.length === 0) {
      throw new SnsRefusal('sns_topic_not_allowed', 'The topic is not configured for any storage connection');
    }
  } catch (error) {
    if (error instanceof SnsRefusal) throw toApiError(error);
    if (error instanceof CertificateUnavailableError) {
      deps.logger?.warn({ err: error }, 'SNS signing certificate unavailable');
      throw new ApiError(
        503,
        'sns_certificate_unavailable',
        'The signing certificate could not be fetched; retry later',
        undefined,
        { 'Retry-After': '5' },
      );
    }
    throw error;
  }

  switch (envelope.type) {
    case 'SubscriptionConfirmation':
      return confirm(deps, envelope, now);
    case 'UnsubscribeConfirmation':
      // Re-subscribing is an operator's decision; the message is only acknowledged.
      deps.logger?.info({ topicArn: envelope.topicArn }, 'SNS unsubscribe confirmation received');
      return { type: envelope.type, messageId: envelope.messageId, outcome: 'unsubscribe_noted' };
    case 'Notification':
      return notify(deps, envelope, connections);
  }
}

async function confirm(deps: SnsIngressDeps, envelope: SnsEnvelope, now: Date): Promise<SnsReceipt> {
  const claim = { messageId: envelope.messageId, topicArn: envelope.topicArn, type: envelope.type };
  const purgeBefore = new Date(now.getTime() - 2 * SNS_REPLAY_WINDOW_MS);
  if (!(await claimSnsMessage(deps.db, claim, purgeBefore))) {
    throw new ApiError(409, 'sns_message_replayed', 'This subscription confirmation was already handled');
  }
  try {
    await deps.confirmSubscription(envelope.subscribeUrl!);
  } catch (error) {
    await releaseSnsMessage(deps.db, envelope.messageId);
    deps.logger?.warn({ err: error, topicArn: envelope.topicArn }, 'SNS subscription confirmation failed');
    throw new ApiError(
      502,
      'sns_confirmation_failed',
      'The subscription could not be confirmed; retry later',
    );
  }
  deps.logger?.info({ topicArn: envelope.topicArn }, 'SNS subscription confirmed');
  return { type: envelope.type, messageId: envelope.messageId, outcome: 'subscription_confirmed' };
}

async function notify(
  deps: SnsIngressDeps,
  envelope: SnsEnvelope,
  connections: string[],
): Promise<SnsReceipt> {
  let payload: unknown;
  try {
    payload = JSON.parse(envelope.message) as unknown;
  } catch {
    throw new ApiError(400, 'invalid_sns_message', 'The notification Message is not a JSON bucket event');
  }
  const events: ObjectCreatedEvent[] = [];
  let sawTest = false;
  for (const connection of connections) {
    const parsed = deps.parse(payload, connection);
    if (parsed.kind === 'invalid') {
      throw new ApiError(400, 'invalid_sns_message', `The notification Message is refused: ${parsed.reason}`);
    }
    if (parsed.kind === 'test') sawTest = true;
    else events.push(...parsed.events);
  }
  const receipt = { type: envelope.type, messageId: envelope.messageId };
  if (sawTest && events.length === 0) return { ...receipt, outcome: 'test_event' };
  const result: IngestResult = await callOrchestrator(
    'start the runs of this event',
    () => deps.ingest.ingest(events),
    deps.logger,
  );
  return {
    ...receipt,
    outcome: 'started',
    events: result.events,
    started: result.started,
    duplicates: result.duplicates,
    unmatched: result.unmatched,
  };
}
