import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import type { SQSClient } from '@aws-sdk/client-sqs';
import {
  CreateQueueCommand,
  DeleteQueueCommand,
  GetQueueAttributesCommand,
  SendMessageCommand,
} from '@aws-sdk/client-sqs';
import {
  createSqsClientFor,
  startSqsPoller,
  triageSqsBody,
  type SqsPoller,
} from '../../../src/features/bucket-events/sqs-poller.js';
import { FakeIngest, fakeS3Parser, s3RecordsBody } from '../../support/fake-ingest.js';
import { testS3Credentials, testS3Region } from '../../support/s3-buckets.js';

const endpoint = process.env.PIXELSHIFT_TEST_S3_ENDPOINT!;
let sqs: SQSClient;
const queues: string[] = [];

before(() => {
  sqs = createSqsClientFor({ kind: 's3', endpoint, region: testS3Region, credentials: testS3Credentials });
});
after(async () => {
  for (const queueUrl of queues)
    await sqs.send(new DeleteQueueCommand({ QueueUrl: queueUrl })).catch(() => undefined);
  sqs.destroy();
});

async function createQueue(visibilityTimeout = 30): Promise<string> {
  const output = await sqs.send(
    new CreateQueueCommand({
      QueueName: `poller-${randomBytes(5).toString('hex')}`,
      Attributes: { VisibilityTimeout: String(visibilityTimeout) },
    }),
  );
  queues.push(output.QueueUrl!);
  return output.QueueUrl!;
}

const send = (queueUrl: string, body: unknown) =>
  sqs.send(
    new SendMessageCommand({
      QueueUrl: queueUrl,
      MessageBody: typeof body === 'string' ? body : JSON.stringify(body),
    }),
  );

/** Messages still in the queue, visible or in flight. */
async function queued(queueUrl: string): Promise<number> {
  const { Attributes } = await sqs.send(
    new GetQueueAttributesCommand({
      QueueUrl: queueUrl,
      AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'],
    }),
  );
  return (
    Number(Attributes?.ApproximateNumberOfMessages ?? 0) +
    Number(Attributes?.ApproximateNumberOfMessagesNotVisible ?? 0)
  );
}

async function eventually(check: () => Promise<boolean>, what: string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) assert.fail(`timed out waiting until ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

function poll(queueUrl: string, ingest: FakeIngest, extra: { visibilityTimeout?: number } = {}): SqsPoller {
  return startSqsPoller({
    connectionName: 'aws',
    queueUrl,
    sqsClient: sqs,
    parse: fakeS3Parser,
    ingest,
    waitTimeSeconds: 1,
    errorBackoffMs: 100,
    ...extra,
  });
}

describe('SQS poller on a real queue', () => {
  test('when S3 notifications arrive, then their events reach the ingest for the connection and the messages are deleted', async () => {
    const queueUrl = await createQueue();
    const ingest = new FakeIngest();
    const poller = poll(queueUrl, ingest);
    try {
      await send(queueUrl, s3RecordsBody('uploads', ['a.jpg', 'dir/b c.jpg']));
      await ingest.waitForEvents(2);
      assert.deepEqual(
        ingest.events.map((event) => [event.connection, event.bucket, event.key]),
        [
          ['aws', 'uploads', 'a.jpg'],
          ['aws', 'uploads', 'dir/b c.jpg'],
        ],
      );
      await eventually(async () => (await queued(queueUrl)) === 0, 'the message is deleted');
    } finally {
      await poller.stop();
    }
  });

  test('when the ingest has not resolved yet, then the message is still in the queue; once it resolves, it is deleted', async () => {
    const queueUrl = await createQueue();
    const ingest = new FakeIngest();
    let release!: () => void;
    ingest.gate = new Promise((resolve) => (release = resolve));
    const poller = poll(queueUrl, ingest);
    try {
      await send(queueUrl, s3RecordsBody('uploads', ['slow.jpg']));
      // Received (in flight) but not deleted while the runs are still being started.
      await eventually(async () => {
        const { Attributes } = await sqs.send(
          new GetQueueAttributesCommand({
            QueueUrl: queueUrl,
            AttributeNames: ['ApproximateNumberOfMessagesNotVisible'],
          }),
        );
        return Attributes?.ApproximateNumberOfMessagesNotVisible === '1';
      }, 'the message is received');
      assert.equal(ingest.calls.length, 0);
      assert.equal(await queued(queueUrl), 1, 'not deleted before the ingest resolved');
      release();
      await ingest.waitForEvents(1);
      await eventually(async () => (await queued(queueUrl)) === 0, 'the message is deleted');
    } finally {
      release();
      await poller.stop();
    }
  });

  test('when the ingest fails, then the message is redelivered after its visibility timeout and processed then', async () => {
    const queueUrl = await createQueue(1);
    const ingest = new FakeIngest();
    ingest.failNext = 1;
    const poller = poll(queueUrl, ingest);
    try {
      await send(queueUrl, s3RecordsBody('uploads', ['retry.jpg']));
      await ingest.waitForEvents(1);
      assert.equal(ingest.failedCalls.length, 1, 'the first delivery failed');
      assert.deepEqual(
        ingest.failedCalls[0]!.map((event) => event.key),
        ['retry.jpg'],
      );
      assert.deepEqual(
        ingest.events.map((event) => event.key),
        ['retry.jpg'],
      );
      await eventually(async () => (await queued(queueUrl)) === 0, 'the message is deleted');
    } finally {
      await poller.stop();
    }
  });

  test('when the poller stops while an ingest is failing, then the message is not lost: the next poller processes it', async () => {
    const queueUrl = await createQueue(1);
    const failing = new FakeIngest();
    failing.failNext = 1_000;
    const first = poll(queueUrl, failing);
    await send(queueUrl, s3RecordsBody('uploads', ['survivor.jpg']));
    await eventually(() => Promise.resolve(failing.failedCalls.length > 0), 'the first poller tried');
    await first.stop();
    const ingest = new FakeIngest();
    const second = poll(queueUrl, ingest);
    try {
      await ingest.waitForEvents(1);
      assert.deepEqual(
        ingest.events.map((event) => event.key),
        ['survivor.jpg'],
      );
    } finally {
      await second.stop();
    }
  });

  test('when the poller stops while a received message is still being ingested, then the message is visible again at once for the next poller', async () => {
    // Ten minutes: without the release on stop, the next poller would not see the message in this test.
    const queueUrl = await createQueue(600);
    const stuck = new FakeIngest();
    let release!: () => void;
    stuck.gate = new Promise((resolve) => (release = resolve));
    const first = poll(queueUrl, stuck);
    await send(queueUrl, s3RecordsBody('uploads', ['handed-back.jpg']));
    await eventually(async () => {
      const { Attributes } = await sqs.send(
        new GetQueueAttributesCommand({
          QueueUrl: queueUrl,
          AttributeNames: ['ApproximateNumberOfMessagesNotVisible'],
        }),
      );
      return Attributes?.ApproximateNumberOfMessagesNotVisible === '1';
    }, 'the first poller holds the message');
    const stopping = first.stop();
    const ingest = new FakeIngest();
    const second = poll(queueUrl, ingest);
    try {
      await ingest.waitForEvents(1);
      assert.deepEqual(
        ingest.events.map((event) => event.key),
        ['handed-back.jpg'],
      );
      release();
      await stopping;
      await eventually(async () => (await queued(queueUrl)) === 0, 'the next poller deleted it');
    } finally {
      release();
      await second.stop();
    }
  });

  test('when the same body is delivered twice, then both reach the ingest (deduplication is the ingest workflow IDs)', async () => {
    const queueUrl = await createQueue();
    const ingest = new FakeIngest();
    const poller = poll(queueUrl, ingest);
    try {
      const body = s3RecordsBody('uploads', ['twice.jpg'], '00AABBCC');
      await send(queueUrl, body);
      await send(queueUrl, body);
      await ingest.waitForEvents(2);
      assert.deepEqual(
        ingest.events.map((event) => event.sequencer),
        ['00AABBCC', '00AABBCC'],
      );
    } finally {
      await poller.stop();
    }
  });

  test('when poison messages sit among good ones, then the good ones are ingested and the poison ones deleted', async () => {
    const queueUrl = await createQueue(1);
    const ingest = new FakeIngest();
    const poller = poll(queueUrl, ingest);
    try {
      await send(queueUrl, 'not json at all');
      await send(queueUrl, { hello: 'world' });
      await send(queueUrl, '[1,2,3]');
      await send(queueUrl, s3RecordsBody('uploads', ['good.jpg']));
      await ingest.waitForEvents(1);
      await eventually(async () => (await queued(queueUrl)) === 0, 'every message is deleted');
      assert.deepEqual(
        ingest.events.map((event) => event.key),
        ['good.jpg'],
      );
    } finally {
      await poller.stop();
    }
  });

  test('when S3 sends its test event, then it is deleted and nothing is ingested', async () => {
    const queueUrl = await createQueue();
    const ingest = new FakeIngest();
    const poller = poll(queueUrl, ingest);
    try {
      await send(queueUrl, { Service: 'Amazon S3', Event: 's3:TestEvent', Bucket: 'uploads' });
      await eventually(async () => (await queued(queueUrl)) === 0, 'the test event is deleted');
      assert.equal(ingest.calls.length, 0);
    } finally {
      await poller.stop();
    }
  });

  test('when the notification comes wrapped in an SNS envelope, then its Message is unwrapped and ingested', async () => {
    const queueUrl = await createQueue();
    const ingest = new FakeIngest();
    const poller = poll(queueUrl, ingest);
    try {
      await send(queueUrl, {
        Type: 'Notification',
        MessageId: 'm-1',
        TopicArn: 'arn:aws:sns:us-east-1:123456789012:uploads',
        Message: JSON.stringify(s3RecordsBody('uploads', ['wrapped.jpg'])),
      });
      await ingest.waitForEvents(1);
      assert.deepEqual(
        ingest.events.map((event) => event.key),
        ['wrapped.jpg'],
      );
    } finally {
      await poller.stop();
    }
  });

  test('when stopped during a long poll, then stop resolves without waiting for the poll to end', async () => {
    const queueUrl = await createQueue();
    const poller = startSqsPoller({
      connectionName: 'aws',
      queueUrl,
      sqsClient: sqs,
      parse: fakeS3Parser,
      ingest: new FakeIngest(),
      waitTimeSeconds: 20,
    });
    await new Promise((resolve) => setTimeout(resolve, 300));
    const outcome = await Promise.race([
      poller.stop().then(() => 'stopped'),
      new Promise((resolve) => setTimeout(() => resolve('still polling'), 15_000)),
    ]);
    assert.equal(outcome, 'stopped');
  });

  test('when the queue does not exist, then the poller keeps retrying and still stops cleanly', async () => {
    const poller = poll(
      `${endpoint}/123456789012/missing-${randomBytes(4).toString('hex')}`,
      new FakeIngest(),
    );
    await new Promise((resolve) => setTimeout(resolve, 300));
    await poller.stop();
  });
});

describe('SQS poller stopping while SQS answers (scripted client)', () => {
  /**
   * A client whose ReceiveMessage answers only when the test says so: the moment a real queue has marked
   * messages received for a long poll whose answer has not arrived yet.
   */
  function scriptedSqs() {
    type Command = { constructor: { name: string }; input: unknown };
    type ReceiveOutput = { Messages?: { Body: string; ReceiptHandle: string }[] };
    const calls: { name: string; input: unknown }[] = [];
    let answer!: (output: ReceiveOutput) => void;
    let receiveCalled!: () => void;
    const receiving = new Promise<void>((resolve) => (receiveCalled = resolve));
    const client = {
      calls,
      send(command: Command, options?: { abortSignal?: AbortSignal }): Promise<unknown> {
        calls.push({ name: command.constructor.name, input: command.input });
        if (command.constructor.name !== 'ReceiveMessageCommand') return Promise.resolve({});
        receiveCalled();
        return new Promise((resolve, reject) => {
          answer = resolve;
          // As the SDK does: an aborted request rejects, and its answer is never read.
          options?.abortSignal?.addEventListener('abort', () => reject(new Error('Request aborted')));
        });
      },
    };
    return { client, receiving, answer: (output: ReceiveOutput) => answer(output) };
  }

  test('when stop comes while a long poll is being answered, then the messages of that answer are handed back at once and never ingested', async () => {
    const sqs = scriptedSqs();
    const ingest = new FakeIngest();
    const poller = startSqsPoller({
      connectionName: 'aws',
      queueUrl: 'https://sqs.example/123456789012/uploads',
      sqsClient: sqs.client as unknown as SQSClient,
      parse: fakeS3Parser,
      ingest,
    });
    await sqs.receiving;
    const stopping = poller.stop();
    sqs.answer({
      Messages: [{ Body: JSON.stringify(s3RecordsBody('uploads', ['late.jpg'])), ReceiptHandle: 'late-1' }],
    });
    await stopping;
    const handedBack = sqs.client.calls.filter((call) => call.name === 'ChangeMessageVisibilityBatchCommand');
    assert.deepEqual(
      handedBack.map((call) => call.input),
      [
        {
          QueueUrl: 'https://sqs.example/123456789012/uploads',
          Entries: [{ Id: '0', ReceiptHandle: 'late-1', VisibilityTimeout: 0 }],
        },
      ],
    );
    assert.equal(sqs.client.calls.filter((call) => call.name === 'DeleteMessageBatchCommand').length, 0);
    assert.deepEqual(ingest.events, []);
  });

  test('when stop comes during an idle long poll, then stop resolves after its short grace and nothing is handed back', async () => {
    const sqs = scriptedSqs();
    const poller = startSqsPoller({
      connectionName: 'aws',
      queueUrl: 'https://sqs.example/123456789012/uploads',
      sqsClient: sqs.client as unknown as SQSClient,
      parse: fakeS3Parser,
      ingest: new FakeIngest(),
      stopGraceMs: 50,
    });
    await sqs.receiving;
    await poller.stop();
    assert.deepEqual(
      sqs.client.calls.map((call) => call.name),
      ['ReceiveMessageCommand'],
    );
  });
});

describe('SQS message triage', () => {
  test('when a body is not JSON, an SNS envelope with a broken Message, or no notification, then it is poison', () => {
    for (const body of [undefined, '', 'x', '{"Type":"Notification","Message":"{"}', '{"a":1}', 'null']) {
      assert.equal(triageSqsBody(body, 'aws', fakeS3Parser).kind, 'poison', String(body));
    }
  });
});
