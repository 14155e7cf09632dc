/**
 * The SQS feeder (docs/architecture.md §10): when an s3 connection names `events.sqsQueueUrl`, the worker long-polls
 * that queue and feeds each bucket notification to the same ingest path as the HTTP ingress.
 *
 * Delivery guarantee: a message is deleted only after the ingest resolved, i.e. after every run it asked
 * for is durably started (or found to exist). A crash or an ingest failure before that leaves the message
 * in the queue, which redelivers it once its visibility timeout ends — redelivery, never loss. Duplicates
 * are the ingest's business: its workflow IDs make a redelivered event find the run already started.
 *
 * Stopping: the poller stops waiting for its long poll, and every message received but not yet ingested
 * is made visible again at once (visibility timeout 0), so the next poller (a restarted worker, another
 * replica) takes it now instead of after the visibility timeout. An ingest already running still
 * finishes, but its message is left to that next poller. The long poll itself is not aborted: SQS may
 * already have handed it messages (marking them received) whose answer has not arrived yet, and an
 * aborted request would leave them invisible for the whole visibility timeout. Whatever it still answers
 * is handed back at once; `stop()` waits for it a short grace (`stopGraceMs`) so that an answer already
 * on its way is handed back before the caller closes the client. Only an answer that comes after the
 * client is closed (the process gone) still waits for the visibility timeout.
 */
import {
  ChangeMessageVisibilityBatchCommand,
  DeleteMessageBatchCommand,
  ReceiveMessageCommand,
  SQSClient,
  type Message,
} from '@aws-sdk/client-sqs';
import { SpanKind } from '@opentelemetry/api';
import type { Logger } from 'pino';
import { inSpan } from '../../core/telemetry/spans.js';
import type { S3Connection } from '../../core/storage/connections.js';
import { isPlainObject } from '../../core/plain-object.js';
import type { EventBodyParser } from '../../core/triggers/bucket-notification.js';
import type { EventIngest, ObjectCreatedEvent } from '../../core/triggers/trigger-types.js';

export interface SqsPollerOptions {
  connectionName: string;
  queueUrl: string;
  sqsClient: SQSClient;
  parse: EventBodyParser;
  ingest: EventIngest;
  logger?: Logger | undefined;
  /** Long-poll wait (SQS allows 0–20 s); 20 by default, shorter in tests. */
  waitTimeSeconds?: number;
  /** Overrides the queue's own visibility timeout for the messages this poller receives. */
  visibilityTimeout?: number;
  /** Pause after a failed ReceiveMessage, doubled up to 30 s while failures last. */
  errorBackoffMs?: number;
  /** How long `stop()` waits for a long poll still answering, to hand its messages back (500 ms). */
  stopGraceMs?: number;
}

export interface SqsPoller {
  /**
   * Stops polling, makes the messages not yet ingested visible again at once (and those of a long poll
   * that answers within the grace), waits for ingests already running, then resolves.
   */
  stop(): Promise<void>;
}

/** What one message turned out to be. */
type Triage =
  { kind: 'events'; events: ObjectCreatedEvent[] } | { kind: 'test' } | { kind: 'poison'; reason: string };

/**
 * A notification reaches the queue either as S3's event JSON itself, or — when the queue subscribes to
 * an SNS topic that S3 publishes to (without raw delivery) — wrapped in an SNS envelope whose Message is
 * that JSON. The envelope's signature is not checked here: only principals the queue policy allows can
 * send to an SQS queue and SQS authenticates every request, so the queue is already a trusted channel
 * (unlike the public HTTPS ingress, which must verify every message itself).
 */
export function triageSqsBody(body: string | undefined, connection: string, parse: EventBodyParser): Triage {
  let json: unknown;
  try {
    json = JSON.parse(body ?? '');
  } catch {
    return { kind: 'poison', reason: 'the body is not JSON' };
  }
  if (isPlainObject(json) && json.Type === 'Notification' && typeof json.Message === 'string') {
    try {
      json = JSON.parse(json.Message);
    } catch {
      return { kind: 'poison', reason: 'the SNS envelope Message is not JSON' };
    }
  }
  const parsed = parse(json, connection);
  if (parsed.kind === 'invalid') return { kind: 'poison', reason: parsed.reason };
  return parsed;
}

/** An SQS client for an s3 connection: same endpoint, region and credentials as its S3 client. */
export function createSqsClientFor(connection: S3Connection): SQSClient {
  return new SQSClient({
    region: connection.region,
    ...(connection.endpoint === undefined ? {} : { endpoint: connection.endpoint }),
    ...(connection.credentials === undefined ? {} : { credentials: connection.credentials }),
  });
}

const delay = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms).unref());

const sleep = (ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve) => {
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
    function done() {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
  });

export function startSqsPoller(options: SqsPollerOptions): SqsPoller {
  const { connectionName, queueUrl, sqsClient, parse, ingest, logger } = options;
  const log = logger?.child({ connection: connectionName, queueUrl });
  const stopping = new AbortController();
  const baseBackoffMs = options.errorBackoffMs ?? 1000;

  /**
   * Ingests one message; true when it may be deleted (done, or a poison message that never will be).
   * Each message is a trace of its own: the runs it starts join it.
   */
  function handle(message: Message): Promise<boolean> {
    const attributes = {
      'messaging.system': 'aws_sqs',
      'messaging.destination.name': queueUrl,
      ...(message.MessageId ? { 'messaging.message.id': message.MessageId } : {}),
      'pixelshift.storage.connection': connectionName,
    };
    return inSpan('bucket-event sqs message', attributes, () => handleMessage(message), {
      root: true,
      kind: SpanKind.CONSUMER,
    });
  }

  async function handleMessage(message: Message): Promise<boolean> {
    const triage = triageSqsBody(message.Body, connectionName, parse);
    switch (triage.kind) {
      case 'poison':
        // Parsing is pure, so a body that fails now fails on every redelivery: keeping it would only
        // cycle it through the queue (or its dead-letter queue) forever. It is logged and dropped.
        log?.error(
          { messageId: message.MessageId, reason: triage.reason },
          'SQS message is not a bucket notification; deleting it',
        );
        return true;
      case 'test':
        return true;
      case 'events':
        try {
          const result = await ingest.ingest(triage.events);
          log?.debug(
            { messageId: message.MessageId, ...result, workflowIds: undefined },
            'SQS message ingested',
          );
          return true;
        } catch (error) {
          log?.warn(
            { err: error, messageId: message.MessageId },
            'ingest failed; the message stays queued and is redelivered after its visibility timeout',
          );
          return false;
        }
    }
  }

  /** Received and not yet ingested: what a stop hands back to the queue. */
  const unfinished = new Set<Message>();
  /** Handed back: another poller may hold it by now, so it is no longer this one's to delete. */
  const released = new Set<Message>();

  async function release(messages: Message[]): Promise<void> {
    if (messages.length === 0) return;
    for (const message of messages) released.add(message);
    try {
      const output = await sqsClient.send(
        new ChangeMessageVisibilityBatchCommand({
          QueueUrl: queueUrl,
          Entries: messages.map((message, index) => ({
            Id: String(index),
            ReceiptHandle: message.ReceiptHandle,
            VisibilityTimeout: 0,
          })),
        }),
      );
      for (const failure of output.Failed ?? []) {
        log?.warn({ failure }, 'SQS message could not be released; it returns after its visibility timeout');
      }
    } catch (error) {
      log?.warn(
        { err: error },
        'SQS messages could not be released; they return after their visibility timeout',
      );
    }
  }

  async function deleteDone(messages: Message[]): Promise<void> {
    if (messages.length === 0) return;
    const output = await sqsClient.send(
      new DeleteMessageBatchCommand({
        QueueUrl: queueUrl,
        Entries: messages.map((message, index) => ({
          Id: String(index),
          ReceiptHandle: message.ReceiptHandle,
        })),
      }),
    );
    // A failed delete only means a redelivery, which the ingest deduplicates.
    for (const failure of output.Failed ?? []) {
      log?.warn({ failure }, 'SQS delete failed; the message will be redelivered');
    }
  }

  const stopped = new Promise<undefined>((resolve) =>
    stopping.signal.addEventListener('abort', () => resolve(undefined), { once: true }),
  );
  /** The hand-back of a long poll that was still waiting when stop() came. */
  let lateAnswer: Promise<void> | undefined;

  async function loop(): Promise<void> {
    let backoffMs = baseBackoffMs;
    while (!stopping.signal.aborted) {
      let messages: Message[];
      try {
        const receiving = sqsClient.send(
          new ReceiveMessageCommand({
            QueueUrl: queueUrl,
            MaxNumberOfMessages: 10,
            WaitTimeSeconds: options.waitTimeSeconds ?? 20,
            ...(options.visibilityTimeout === undefined
              ? {}
              : { VisibilityTimeout: options.visibilityTimeout }),
          }),
        );
        const output = await Promise.race([receiving, stopped]);
        if (output === undefined) {
          // Not aborted (see the header): whatever the poll still answers goes straight back.
          lateAnswer = receiving.then(
            (late) => release(late.Messages ?? []),
            () => undefined,
          );
          break;
        }
        messages = output.Messages ?? [];
        backoffMs = baseBackoffMs;
        if (stopping.signal.aborted) {
          // Answered just as the stop came: not ours to start any more.
          await release(messages);
          break;
        }
      } catch (error) {
        if (stopping.signal.aborted) break;
        log?.error({ err: error, retryInMs: backoffMs }, 'SQS receive failed');
        await sleep(backoffMs, stopping.signal);
        backoffMs = Math.min(backoffMs * 2, 30_000);
        continue;
      }
      for (const message of messages) unfinished.add(message);
      // An ingest running when stop() is called still finishes (its runs may be starting), but its message
      // was released by then and is left to the next poller.
      const handled = await Promise.all(
        messages.map(async (message) => {
          const done = await handle(message);
          unfinished.delete(message);
          return done && !released.has(message) ? message : undefined;
        }),
      );
      try {
        await deleteDone(handled.filter((message): message is Message => message !== undefined));
      } catch (error) {
        log?.warn({ err: error }, 'SQS delete failed; the messages will be redelivered');
      }
    }
  }

  const running = loop();
  log?.info('SQS poller started');
  return {
    async stop() {
      stopping.abort();
      await release([...unfinished].filter((message) => !released.has(message)));
      await running;
      if (lateAnswer) await Promise.race([lateAnswer, delay(options.stopGraceMs ?? 500)]);
      log?.info('SQS poller stopped');
    },
  };
}
