/**
 * Bucket notifications end to end on the real stack: moto sends S3 → SQS notifications, the poller feeds
 * the real ingest, Temporal runs the rule's graph, the output lands in moto.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import {
  HeadObjectCommand,
  PutBucketNotificationConfigurationCommand,
  PutObjectCommand,
} from '@aws-sdk/client-s3';
import {
  CreateQueueCommand,
  DeleteMessageCommand,
  DeleteQueueCommand,
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  SendMessageCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import {
  createObjectStores,
  type S3Connection,
  type StoreRegistry,
} from '../../src/core/storage/connections.js';
import { parseBucketNotification } from '../../src/core/triggers/bucket-notification.js';
import { createEventIngest } from '../../src/features/bucket-events/bucket-event-ingest.js';
import {
  createSqsClientFor,
  startSqsPoller,
  type SqsPoller,
} from '../../src/features/bucket-events/sqs-poller.js';
import { fixturePath } from '../support/fixtures.js';
import { startStack, type Stack } from '../support/stack.js';

let stack: Stack;
let sqs: SQSClient;
let stores: StoreRegistry;
let queueUrl: string;
let ruleId: string;
let poller: SqsPoller | undefined;
/** What the ingest reported, summed since the poller started. */
let ingested = { started: 0, duplicates: 0 };

const photo = readFileSync(fixturePath('jpeg-progressive-srgb-icc.jpg'));
const otherPhoto = readFileSync(fixturePath('jpeg-icc-adobe-rgb.jpg'));

function startPoller(): void {
  ingested = { started: 0, duplicates: 0 };
  const ingest = createEventIngest({
    db: stack.database.db,
    orchestrator: stack.orchestrator,
    stores,
    storage: stack.config.storage,
    onResult: (result) => {
      ingested.started += result.started;
      ingested.duplicates += result.duplicates;
    },
  });
  poller = startSqsPoller({
    connectionName: 'default',
    queueUrl,
    sqsClient: sqs,
    parse: parseBucketNotification,
    ingest,
    waitTimeSeconds: 1,
  });
}

async function stopPoller(): Promise<void> {
  await poller?.stop();
  poller = undefined;
}

async function eventually<T>(
  read: () => Promise<T | undefined>,
  what: string,
  timeoutMs = 90_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (value !== undefined) return value;
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

const outputExists = (key: string) =>
  stack.s3
    .send(new HeadObjectCommand({ Bucket: stack.buckets.output, Key: key }))
    .then((head) => head.ETag)
    .catch(() => undefined);

interface RunSummary {
  workflowId: string;
  state: string;
  /** `bucket/key` of the source. */
  source: string;
}

async function runsOf(key: string): Promise<RunSummary[]> {
  const { status, body } = await stack.api(`/v1/events/s3/runs?rule=${ruleId}`);
  assert.equal(status, 200, JSON.stringify(body));
  return (body as { runs: RunSummary[] }).runs.filter(
    (run) => run.source === `${stack.buckets.input}/${key}`,
  );
}

/** Waits until `count` runs of the key are listed and all finished. */
async function finishedRuns(key: string, count: number): Promise<RunSummary[]> {
  return eventually(async () => {
    const runs = await runsOf(key);
    return runs.length === count && runs.every((run) => run.state === 'succeeded') ? runs : undefined;
  }, `${count} finished runs of ${key}`);
}

async function queueIsEmpty(): Promise<true | undefined> {
  const { Attributes } = await sqs.send(
    new GetQueueAttributesCommand({
      QueueUrl: queueUrl,
      AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'],
    }),
  );
  const total =
    Number(Attributes?.ApproximateNumberOfMessages) +
    Number(Attributes?.ApproximateNumberOfMessagesNotVisible);
  return total === 0 ? true : undefined;
}

before(async () => {
  stack = await startStack();
  const connection = stack.config.storage.connections.default as S3Connection;
  sqs = createSqsClientFor(connection);
  stores = createObjectStores(stack.config.storage.connections);
  queueUrl = (
    await sqs.send(
      new CreateQueueCommand({
        QueueName: `e2e-events-${randomBytes(4).toString('hex')}`,
        Attributes: { VisibilityTimeout: '5' },
      }),
    )
  ).QueueUrl!;
  const { Attributes } = await sqs.send(
    new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['QueueArn'] }),
  );
  await stack.s3.send(
    new PutBucketNotificationConfigurationCommand({
      Bucket: stack.buckets.input,
      NotificationConfiguration: {
        QueueConfigurations: [{ QueueArn: Attributes!.QueueArn, Events: ['s3:ObjectCreated:*'] }],
      },
    }),
  );
  const rule = await stack.api('/v1/rules', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      name: 'e2e thumbnails',
      bucket: stack.buckets.input,
      prefix: 'uploads/',
      contentTypes: ['image/*'],
      template: {
        transformUnits: [
          { type: 'Resize', width: 64 },
          { type: 'ImageFormat', format: 'webp' },
          { type: 'StorageSink', bucket: stack.buckets.output, key: '{dir}/{name}.webp' },
        ],
      },
    }),
  });
  assert.equal(rule.status, 201, JSON.stringify(rule.body));
  ruleId = (rule.body as { ruleId: string }).ruleId;
});

after(async () => {
  await stopPoller();
  await sqs.send(new DeleteQueueCommand({ QueueUrl: queueUrl })).catch(() => undefined);
  sqs.destroy();
  stores.destroy();
  await stack.close();
});

describe('S3 → SQS → poller → graph', () => {
  test('when an image is uploaded with a real S3 client, then the poller starts the rule graph and the output appears', async () => {
    startPoller();
    try {
      await stack.s3.send(
        new PutObjectCommand({
          Bucket: stack.buckets.input,
          Key: 'uploads/2026/cat.jpg',
          Body: photo,
          ContentType: 'image/jpeg',
        }),
      );
      await eventually(() => outputExists('uploads/2026/cat.webp'), 'the thumbnail');
      const [run] = await finishedRuns('uploads/2026/cat.jpg', 1);
      assert.match(
        run!.workflowId,
        new RegExp(`^s3/default/${stack.buckets.input}/uploads/2026/cat\\.jpg/.+/${ruleId}$`),
      );
    } finally {
      await stopPoller();
    }
  });

  test('when the same key is uploaded twice, then two runs follow, one per upload', async () => {
    startPoller();
    try {
      const key = 'uploads/twice.jpg';
      await stack.s3.send(
        new PutObjectCommand({
          Bucket: stack.buckets.input,
          Key: key,
          Body: photo,
          ContentType: 'image/jpeg',
        }),
      );
      await finishedRuns(key, 1);
      // moto sends no sequencer, so an upload is told apart by its ETag: the second upload has other bytes.
      await stack.s3.send(
        new PutObjectCommand({
          Bucket: stack.buckets.input,
          Key: key,
          Body: otherPhoto,
          ContentType: 'image/jpeg',
        }),
      );
      const runs = await finishedRuns(key, 2);
      assert.notEqual(runs[0]!.workflowId, runs[1]!.workflowId);
    } finally {
      await stopPoller();
    }
  });

  test('when the same notification message is delivered twice, then exactly one run starts and both copies are deleted', async () => {
    // The poller is stopped: take moto's real notification off the queue and put it back twice.
    const key = 'uploads/duplicate.jpg';
    await stack.s3.send(
      new PutObjectCommand({ Bucket: stack.buckets.input, Key: key, Body: photo, ContentType: 'image/jpeg' }),
    );
    const body = await eventually(async () => {
      const { Messages } = await sqs.send(
        new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 1 }),
      );
      let found: string | undefined;
      for (const message of Messages ?? []) {
        if (message.Body?.includes('duplicate.jpg')) found = message.Body;
        await sqs.send(
          new DeleteMessageCommand({ QueueUrl: queueUrl, ReceiptHandle: message.ReceiptHandle }),
        );
      }
      return found;
    }, 'the notification of the upload');
    await sqs.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: body }));
    await sqs.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: body }));
    startPoller();
    try {
      await eventually(queueIsEmpty, 'both copies processed and deleted');
      assert.deepEqual(ingested, { started: 1, duplicates: 1 }, 'the second copy found the run of the first');
      const runs = await finishedRuns(key, 1);
      assert.equal(runs.length, 1);
      assert.ok(await outputExists('uploads/duplicate.webp'));
    } finally {
      await stopPoller();
    }
  });
});
