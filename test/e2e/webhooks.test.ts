/**
 * Outbound webhooks end to end (docs/architecture.md §11): real API, Temporal, workers and moto, delivering to a real
 * HTTP receiver on loopback (allow-listed in the stack's config), with a short retry schedule. Each test
 * uses its own account, so one test's events never reach another test's subscriptions.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { insertDelivery, insertEvent, updateSubscription } from '../../src/db/webhook-subscriptions.js';
import type { TransformGraph } from '../../src/core/graph/index.js';
import { accountIdKey } from '../../src/temporal/search-attributes.js';
import { deliveryIdFor, deliveryWorkflowIdFor } from '../../src/core/webhooks/webhook-ids.js';
import { deliveryWorkflow } from '../../src/temporal/workflows/delivery.js';
import { activityDeps } from '../../src/app/wiring.js';
import type { Config } from '../../src/core/config.js';
import { createObjectStores } from '../../src/core/storage/connections.js';
import { createWorkers } from '../../src/temporal/worker/worker.js';
import { startStack, type Stack } from '../support/stack.js';
import {
  hasValidSignature,
  startWebhookReceiver,
  type ReceivedRequest,
  type WebhookReceiver,
} from '../support/webhook-receiver.js';

type Api = Stack['api'];

interface Delivery {
  id: string;
  workflowId: string;
  eventId: string;
  eventType: string;
  state: string;
  attempts: number;
  attemptLog: {
    number: number;
    status: number | null;
    latencyMs: number;
    error: string | null;
    at: string;
  }[];
}

async function poll<T>(
  what: string,
  read: () => Promise<T>,
  done: (value: T) => boolean,
  timeoutMs = 90_000,
) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (done(value)) return value;
    if (Date.now() > deadline)
      throw new Error(`${what}: not reached after ${timeoutMs} ms: ${JSON.stringify(value)}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

describe('outbound webhooks end to end', () => {
  let stack: Stack;
  let receiver: WebhookReceiver;

  const graph = (file: string, out: string): TransformGraph => ({
    transformUnits: [
      { type: 'StorageSource', bucket: stack.buckets.input, key: `in/${file}` },
      { type: 'Resize', width: 32 },
    ],
    outputs: [
      {
        transformUnits: [
          { type: 'ImageFormat', format: 'webp' },
          { type: 'StorageSink', bucket: stack.buckets.output, key: `webhooks/${out}.webp` },
        ],
      },
    ],
  });

  async function subscribe(api: Api, path: string, events: string[]) {
    const created = await api('/v1/webhooks', {
      method: 'POST',
      body: JSON.stringify({ url: receiver.url(path), events }),
    });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    return created.body as { id: string; secret: string };
  }

  async function submit(api: Api, graphs: TransformGraph[], callbackUrl?: string): Promise<string> {
    const submitted = await api('/v1/batches', {
      method: 'POST',
      body: JSON.stringify({ graphs, ...(callbackUrl ? { callbackUrl } : {}) }),
    });
    assert.equal(submitted.status, 201, JSON.stringify(submitted.body));
    return (submitted.body as { batchId: string }).batchId;
  }

  async function deliveries(api: Api, subscriptionId: string): Promise<Delivery[]> {
    const listed = await api(`/v1/webhooks/${subscriptionId}/deliveries`);
    assert.equal(listed.status, 200, JSON.stringify(listed.body));
    return (listed.body as { deliveries: Delivery[] }).deliveries;
  }

  before(async () => {
    stack = await startStack({
      webhookRetryScheduleMs: [300, 500, 1000, 1000, 2000, 2000, 3000, 3000, 5000, 5000],
    });
    receiver = await startWebhookReceiver();
    await stack.uploadFixture('webp-lossy.webp');
    await stack.uploadFixture('bad-truncated.jpg');
  });
  after(async () => {
    await receiver?.close();
    await stack?.close();
  });

  test('when a batch completes, then subscribers and its callbackUrl receive graph.* and batch.completed, signed per Standard Webhooks', async () => {
    const account = await stack.addAccount('wh-events');
    const subscription = await subscribe(account.api, '/events', [
      'graph.succeeded',
      'graph.failed',
      'batch.completed',
    ]);
    assert.match(subscription.secret, /^whsec_/);
    const batchId = await submit(
      account.api,
      [graph('webp-lossy.webp', 'ok'), graph('bad-truncated.jpg', 'bad')],
      receiver.url('/callback'),
    );

    const types = (requests: ReceivedRequest[]) => requests.map((r) => r.json.type).sort();
    const expected = ['batch.completed', 'graph.failed', 'graph.succeeded'];
    const events = await receiver.waitFor('/events', (r) => r.length >= 3);
    assert.deepEqual(types(events), expected);
    for (const request of events) {
      assert.ok(hasValidSignature(subscription.secret, request), `signature of ${request.json.type}`);
      assert.equal(request.headers['content-type'], 'application/json');
      assert.equal(request.headers['user-agent'], 'pixelshift-webhooks');
      assert.match(String(request.headers['webhook-id']), /^evt_[0-9a-f]{32}$/);
      assert.ok(Math.abs(Number(request.headers['webhook-timestamp']) * 1000 - request.at) < 60_000);
    }
    const succeeded = events.find((r) => r.json.type === 'graph.succeeded')!.json.data;
    assert.equal(succeeded.batchId, batchId);
    assert.equal(succeeded.state, 'succeeded');
    const sinks = succeeded.sinks as {
      key: string;
      format: string;
      width: number;
      bytes: number;
      etag: string;
    }[];
    assert.equal(sinks[0]?.key, 'webhooks/ok.webp');
    assert.equal(sinks[0]?.format, 'webp');
    assert.equal(sinks[0]?.width, 32);
    const failed = events.find((r) => r.json.type === 'graph.failed')!.json.data;
    assert.equal((failed.error as { code: string }).code, 'corrupt_input');
    const completed = events.find((r) => r.json.type === 'batch.completed')!.json.data;
    assert.equal(completed.batchId, batchId);
    assert.equal(completed.state, 'partial');
    assert.deepEqual(
      (completed.graphs as { index: number; state: string }[]).map((g) => [g.index, g.state]),
      [
        [0, 'succeeded'],
        [1, 'failed'],
      ],
    );

    // The batch's callbackUrl gets the same events, signed with the account's callback secret.
    const callbacks = await receiver.waitFor('/callback', (r) => r.length >= 3);
    assert.deepEqual(types(callbacks), expected);
    const callbackSecret = await account.api('/v1/webhooks/callback-secret');
    const secret = (callbackSecret.body as { secret: string }).secret;
    for (const request of callbacks) assert.ok(hasValidSignature(secret, request));
    assert.ok(!hasValidSignature(subscription.secret, callbacks[0]!));

    // Every delivery is logged; a redelivery replays the same event (same webhook-id) once more.
    const log = await poll(
      'three successful deliveries',
      () => deliveries(account.api, subscription.id),
      (list) => list.length === 3 && list.every((d) => d.state === 'succeeded'),
    );
    const first = log.find((d) => d.eventType === 'batch.completed')!;
    // Operators find deliveries by account in the Temporal UI, named by what they deliver where.
    const description = await stack.temporal.client.workflow.getHandle(first.workflowId).describe();
    assert.equal(description.typedSearchAttributes.get(accountIdKey), account.accountId);
    assert.match(
      (await description.staticSummary()) ?? '',
      /^batch\.completed → http:\/\/127\.0\.0\.1:\d+\/events$/,
    );
    const replay = await account.api(`/v1/webhooks/${subscription.id}/deliveries/${first.id}/redeliver`, {
      method: 'POST',
    });
    assert.equal(replay.status, 202, JSON.stringify(replay.body));
    const again = await receiver.waitFor('/events', (r) => r.length >= 4);
    assert.equal(again[3]!.headers['webhook-id'], first.eventId);
    assert.ok(hasValidSignature(subscription.secret, again[3]!));
  });

  test('when the receiver answers 500, 500, then 200, then there are three attempts with one webhook-id, each logged', async () => {
    const account = await stack.addAccount('wh-retry');
    receiver.respond('/flaky', (n) => ({ status: n <= 2 ? 500 : 200 }));
    const subscription = await subscribe(account.api, '/flaky', ['batch.completed']);
    await submit(account.api, [graph('webp-lossy.webp', 'retry')]);

    const requests = await receiver.waitFor('/flaky', (r) => r.some((x) => x.answered === 200));
    assert.deepEqual(
      requests.map((r) => r.answered),
      [500, 500, 200],
    );
    assert.equal(new Set(requests.map((r) => r.headers['webhook-id'])).size, 1);
    for (const request of requests) assert.ok(hasValidSignature(subscription.secret, request));

    const [delivery] = await poll(
      'the delivery logged as succeeded',
      () => deliveries(account.api, subscription.id),
      (list) => list[0]?.state === 'succeeded',
    );
    assert.equal(delivery!.attempts, 3);
    assert.deepEqual(
      delivery!.attemptLog.map((a) => [a.number, a.status]),
      [
        [1, 500],
        [2, 500],
        [3, 200],
      ],
    );
    assert.match(delivery!.attemptLog[0]!.error ?? '', /^http_status: /);
    assert.equal(delivery!.attemptLog[2]!.error, null);
    for (const attempt of delivery!.attemptLog) assert.ok(attempt.latencyMs >= 0 && attempt.at);
  });

  test('when the receiver answers 429 with Retry-After: 2, then the next attempt waits about two seconds', async () => {
    const account = await stack.addAccount('wh-429');
    receiver.respond('/busy', (n) =>
      n === 1 ? { status: 429, headers: { 'retry-after': '2' } } : { status: 200 },
    );
    await subscribe(account.api, '/busy', ['batch.completed']);
    await submit(account.api, [graph('webp-lossy.webp', 'busy')]);

    const [first, second] = await receiver.waitFor('/busy', (r) => r.length >= 2);
    // The schedule alone would retry after 300 ms; the receiver asked for 2 s.
    assert.ok(second!.at - first!.at >= 1_800, `gap was ${second!.at - first!.at} ms`);
    assert.equal(second!.answered, 200);
  });

  test('when the receiver answers 410 Gone, then the subscription is disabled and later events are not sent to it', async () => {
    const account = await stack.addAccount('wh-gone');
    receiver.respond('/gone', () => ({ status: 410 }));
    const gone = await subscribe(account.api, '/gone', ['batch.completed']);
    await subscribe(account.api, '/control', ['batch.completed']);

    await submit(account.api, [graph('webp-lossy.webp', 'gone-1')]);
    await receiver.waitFor('/gone', (r) => r.length >= 1);
    const disabled = await poll(
      'the subscription disabled',
      () => account.api(`/v1/webhooks/${gone.id}`),
      (response) => (response.body as { enabled: boolean }).enabled === false,
    );
    assert.match((disabled.body as { disabledReason: string }).disabledReason, /410/);

    // A second batch: the control subscription hears about it, the disabled one does not.
    await submit(account.api, [graph('webp-lossy.webp', 'gone-2')]);
    await receiver.waitFor('/control', (r) => r.length >= 2);
    assert.equal(receiver.requests('/gone').length, 1);
    const [delivery] = await deliveries(account.api, gone.id);
    assert.equal(delivery!.state, 'disabled');
  });

  test('when the receiver is down while the workers restart, then the event is delivered once it is back', async () => {
    const account = await stack.addAccount('wh-down');
    const flaky = await startWebhookReceiver();
    const port = flaky.port;
    const created = await account.api('/v1/webhooks', {
      method: 'POST',
      body: JSON.stringify({ url: flaky.url('/down'), events: ['batch.completed'] }),
    });
    const subscription = created.body as { id: string; secret: string };
    await flaky.close();

    await submit(account.api, [graph('webp-lossy.webp', 'down')]);
    await poll(
      'a failed attempt against the stopped receiver',
      () => deliveries(account.api, subscription.id),
      (list) => (list[0]?.attempts ?? 0) >= 1,
    );
    const [pending] = await deliveries(account.api, subscription.id);
    assert.match(pending!.attemptLog[0]!.error ?? '', /^connection_failed: /);

    await stack.workers!.shutdown();
    await stack.startWorkers();
    const back = await startWebhookReceiver(port);
    try {
      const requests = await back.waitFor('/down', (r) => r.length >= 1);
      const [delivery] = await poll(
        'the delivery logged as succeeded',
        () => deliveries(account.api, subscription.id),
        (list) => list[0]?.state === 'succeeded',
      );
      assert.equal(back.requests('/down').length, 1);
      assert.equal(requests[0]!.headers['webhook-id'], delivery!.eventId);
      assert.ok(hasValidSignature(subscription.secret, requests[0]!));
    } finally {
      await back.close();
    }
  });

  test('when a graph is started by a trigger instead of a batch, then its graph.* event reaches the account too', async () => {
    const account = await stack.addAccount('wh-trigger');
    await subscribe(account.api, '/triggered', ['graph.succeeded']);
    const workflowId = `s3/default/${stack.buckets.input}/in/webp-lossy.webp/${Date.now()}/rule-1`;
    await stack.orchestrator.startGraphRun({
      accountId: account.accountId,
      workflowId,
      trigger: 's3',
      triggerId: 'rule-1',
      graph: graph('webp-lossy.webp', 'triggered'),
    });
    const [request] = await receiver.waitFor('/triggered', (r) => r.length >= 1);
    assert.equal(request!.json.type, 'graph.succeeded');
    assert.equal(request!.json.data.workflowId, workflowId);
    assert.equal(request!.json.data.batchId, undefined);
  });

  test('when a stored URL points at a private address the API would refuse, then the worker refuses to connect, the delivery ends as refused at once and the subscription shows why', async () => {
    const account = await stack.addAccount('wh-ssrf');
    const subscription = await subscribe(account.api, '/never', ['batch.completed']);
    // As if the row predated the API check, or an operator edited it: the connect-time guard still holds.
    await updateSubscription(stack.database.db, account.accountId, subscription.id, {
      url: 'http://10.0.0.1:9/hook',
    });
    await submit(account.api, [graph('webp-lossy.webp', 'ssrf')]);
    const [delivery] = await poll(
      'the delivery to end',
      () => deliveries(account.api, subscription.id),
      (list) => list[0] !== undefined && list[0].state !== 'pending',
    );
    assert.equal(delivery!.state, 'refused');
    assert.equal(delivery!.attempts, 1, 'no retries: the policy answers the same every time');
    assert.equal(delivery!.attemptLog[0]!.status, null);
    assert.equal(
      delivery!.attemptLog[0]!.error,
      'outbound_address_refused: 10.0.0.1 is a private IPv4 address',
    );
    const result: unknown = await stack.temporal.client.workflow.getHandle(delivery!.workflowId).result();
    assert.deepEqual(result, { state: 'refused', attempts: 1 });
    const shown = await account.api(`/v1/webhooks/${subscription.id}`);
    const webhook = shown.body as { enabled: boolean; disabledReason: string | null };
    assert.equal(webhook.enabled, false);
    assert.match(
      webhook.disabledReason ?? '',
      /^outbound_address_refused: 10\.0\.0\.1 is a private IPv4 address/,
    );
    assert.equal(receiver.requests('/never').length, 0);
  });

  test('when the receiver keeps failing until the schedule ends, then the delivery gives up as failed after the last attempt', async () => {
    const account = await stack.addAccount('wh-giveup');
    receiver.respond('/broken', () => ({ status: 502 }));
    const subscription = await subscribe(account.api, '/broken', ['graph.succeeded']);
    const eventId = `evt_${'e'.repeat(32)}`;
    await insertEvent(stack.database.db, {
      id: eventId,
      accountId: account.accountId,
      type: 'graph.succeeded',
      payload: { type: 'graph.succeeded', timestamp: new Date().toISOString(), data: {} },
    });
    const workflowId = deliveryWorkflowIdFor(eventId, subscription.id);
    const delivery = await insertDelivery(stack.database.db, {
      id: deliveryIdFor(workflowId),
      accountId: account.accountId,
      eventId,
      subscriptionId: subscription.id,
      workflowId,
    });
    // Workers of their own, configured with a two-delay schedule, on task queues of their own.
    const prefix = `${stack.config.temporal.taskQueues.webhooks}-giveup`;
    const config: Config = {
      ...stack.config,
      temporal: {
        ...stack.config.temporal,
        taskQueues: {
          orchestration: `${prefix}-orchestration`,
          imaging: `${prefix}-imaging`,
          webhooks: `${prefix}-webhooks`,
        },
      },
      webhooks: { retryScheduleMs: [100, 100] },
    };
    const stores = createObjectStores(config.storage.connections);
    const workers = await createWorkers({
      config,
      deps: await activityDeps(config, stack.database, stores),
      bundle: stack.temporal.bundle,
      connection: stack.temporal.nativeConnection,
      shutdownGraceTime: '2 seconds',
    });
    const running = workers.run();
    const result = await stack.temporal.client.workflow
      .execute(deliveryWorkflow, {
        workflowId,
        taskQueue: config.temporal.taskQueues.webhooks,
        args: [{ deliveryId: delivery.id, summary: 'graph.succeeded → test' }],
      })
      .finally(async () => {
        await workers.shutdown();
        await running;
        stores.destroy();
      });
    assert.deepEqual(result, { state: 'failed', attempts: 3, lastStatus: 502 });
    assert.equal(receiver.requests('/broken').length, 3);
    const [logged] = await deliveries(account.api, subscription.id);
    assert.equal(logged!.state, 'failed');
    assert.deepEqual(
      logged!.attemptLog.map((a) => a.status),
      [502, 502, 502],
    );
  });
});
