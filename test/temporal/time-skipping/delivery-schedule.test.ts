/**
 * Webhook deliveries on their real, three-day default schedule (docs/architecture.md §11), in Temporal's
 * time-skipping test environment: a test event goes to a subscription on a loopback receiver, and its
 * delivery workflow retries as it would in production, with the real activities (signed HTTP attempts, the
 * delivery log in PGlite). The receiver notes each request's time on the environment's clock; the workflow
 * history shows each wait. The short configured schedules of test/e2e/webhooks.test.ts test the same
 * workflow in real time, started by graph and batch events.
 *
 * Deliveries start here as top-level workflows (the test-event and redelivery path), not as the abandoned
 * children of a graph: when a child closes after its parent, the test server locks time until the parent
 * takes note, which a closed parent never does, and every later wait would then take real time.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test, type TestContext } from 'node:test';
import type { WorkflowHandle } from '@temporalio/client';
import { msOptionalToNumber, tsToMs } from '@temporalio/common/lib/time.js';
import protos from '@temporalio/proto';
import { generateSigningSecret, sealSecret } from '../../../src/core/auth/secret-box.js';
import { defaultRetryScheduleMs, maxRetryAfterMs } from '../../../src/core/webhooks/webhook-retry.js';
import { newSubscriptionId } from '../../../src/core/webhooks/webhook-ids.js';
import { loadConfig } from '../../../src/core/config.js';
import { insertSubscription, listDeliveries } from '../../../src/db/index.js';
import { sendTestEvent } from '../../../src/features/webhooks/webhooks.service.js';
import { TemporalDeliveryStarter } from '../../../src/temporal/client/delivery-starter.js';
import { deliveryAttemptActivityOptions } from '../../../src/temporal/workflows/definitions.js';
import type { deliveryWorkflow } from '../../../src/temporal/workflows/delivery.js';
import {
  startTimeSkippingEngine,
  timeSkippingTemporal,
  type TimeSkippingEngine,
  type TimeSkippingTemporal,
} from '../../support/time-skipping.js';
import {
  startWebhookReceiver,
  type Responder,
  type WebhookReceiver,
} from '../../support/webhook-receiver.js';

const { EventType } = protos.temporal.api.enums.v1;
const hour = 3_600_000;
const schedule = defaultRetryScheduleMs();
/** When attempt n (1-based) is due, counted from the first attempt, when every earlier one failed. */
const dueAfter = schedule.reduce<number[]>((due, delay) => [...due, due.at(-1)! + delay], [0]);
/**
 * What one attempt may add to the wait before the next: the environment's clock runs in real time while
 * an attempt is in flight, and the attempt's start-to-close timeout bounds that.
 */
const attemptAllowance = msOptionalToNumber(deliveryAttemptActivityOptions.startToCloseTimeout)!;

describe("webhook deliveries on the default three-day schedule, on the test server's skipping clock", () => {
  let temporal: TimeSkippingTemporal;
  let engine: TimeSkippingEngine;
  let receiver: WebhookReceiver;

  before(async () => {
    temporal = await timeSkippingTemporal();
    engine = await startTimeSkippingEngine(temporal);
    receiver = await startWebhookReceiver(0, { clock: temporal.now });
  });

  after(async () => {
    await engine?.close();
    await receiver?.close();
    await temporal?.teardown();
  });

  /**
   * A `webhook.test` event to a new subscription at `path` (answered by `responder`), sent as
   * `POST /v1/webhooks/{id}/test` sends it: stored, then delivered by its own delivery workflow.
   */
  async function sendTestEventTo(path: string, responder: Responder) {
    receiver.respond(path, responder);
    const accountId = await engine.newAccount();
    const subscriptionId = newSubscriptionId();
    await insertSubscription(engine.database.db, {
      id: subscriptionId,
      accountId,
      url: receiver.url(path),
      events: ['graph.succeeded'],
      enabled: true,
      secretSealed: sealSecret(engine.webhooks.secretsKey, generateSigningSecret(), subscriptionId),
    });
    const sent = await sendTestEvent(
      {
        db: engine.database.db,
        config: loadConfig({}),
        secretsKey: () => Promise.resolve(engine.webhooks.secretsKey),
        deliveries: new TemporalDeliveryStarter(temporal.client, temporal.config),
      },
      accountId,
      subscriptionId,
    );
    const handle: WorkflowHandle<typeof deliveryWorkflow> = temporal.client.workflow.getHandle(
      sent.workflowId,
    );
    return { handle, accountId, subscriptionId };
  }

  /** The delivery's durable waits as its history shows them: each timer's duration, and when it fired. */
  async function timersOf(handle: WorkflowHandle) {
    const history = await handle.fetchHistory();
    const started = new Map<string, { ms: number; at: number }>();
    const fired: { ms: number; waitedMs: number }[] = [];
    for (const event of history.events ?? []) {
      const at = tsToMs(event.eventTime);
      if (event.eventType === EventType.EVENT_TYPE_TIMER_STARTED) {
        const attributes = event.timerStartedEventAttributes!;
        started.set(attributes.timerId!, { ms: tsToMs(attributes.startToFireTimeout), at });
      }
      if (event.eventType === EventType.EVENT_TYPE_TIMER_FIRED) {
        const timer = started.get(event.timerFiredEventAttributes!.timerId!)!;
        fired.push({ ms: timer.ms, waitedMs: at - timer.at });
      }
    }
    return fired;
  }

  /**
   * A timer fires when due on the environment's clock: a skip lands on it exactly, and while time runs in
   * real time (before a test awaits the result) it fires a little later, never earlier.
   */
  function assertFiredWhenDue(timers: { ms: number; waitedMs: number }[]) {
    for (const [i, timer] of timers.entries()) {
      assert.ok(
        timer.waitedMs >= timer.ms && timer.waitedMs < timer.ms + attemptAllowance,
        `timer ${i + 1} of ${timer.ms} ms fired after ${timer.waitedMs} ms`,
      );
    }
  }

  function reportTime(t: TestContext, realStart: number, skippedMs: number) {
    t.diagnostic(
      `${(skippedMs / hour).toFixed(1)} h on the environment's clock in ${((Date.now() - realStart) / 1000).toFixed(1)} s of real time`,
    );
  }

  test('when every attempt of a delivery fails, then it is retried on the three-day default schedule and ends failed after the last attempt', async (t) => {
    const realStart = Date.now();
    const { handle, accountId, subscriptionId } = await sendTestEventTo('/always-500', () => ({
      status: 500,
    }));

    const result = await handle.result();

    // One attempt, then one more after each delay of the schedule.
    assert.deepEqual(result, { state: 'failed', attempts: schedule.length + 1, lastStatus: 500 });
    const requests = receiver.requests('/always-500');
    assert.equal(requests.length, schedule.length + 1);
    assert.ok(requests.every((r) => r.json.type === 'webhook.test' && r.answered === 500));
    // Each wait on the receiver's side is the scheduled delay, plus at most the time one attempt may take.
    schedule.forEach((delay, i) => {
      const gap = requests[i + 1]!.at - requests[i]!.at;
      assert.ok(
        gap >= delay && gap < delay + attemptAllowance,
        `wait ${i + 1}: ${gap} ms on the environment's clock, scheduled ${delay} ms`,
      );
    });
    // In the history, every wait is a durable timer of exactly the scheduled delay, and fired when due.
    const timers = await timersOf(handle);
    assert.deepEqual(
      timers.map((timer) => timer.ms),
      schedule,
    );
    assertFiredWhenDue(timers);
    // About three days in all.
    const total = requests.at(-1)!.at - requests[0]!.at;
    const scheduled = dueAfter.at(-1)!;
    assert.ok(scheduled > 71 * hour && scheduled <= 72 * hour, `the schedule totals ${scheduled} ms`);
    assert.ok(total >= scheduled && total < scheduled + requests.length * attemptAllowance, `${total} ms`);
    reportTime(t, realStart, total);

    // The delivery log shows every attempt, and the delivery failed.
    const [logged] = await listDeliveries(engine.database.db, accountId, subscriptionId, { limit: 10 });
    assert.equal(logged?.state, 'failed');
    assert.equal(logged?.attempts, schedule.length + 1);
    assert.deepEqual(
      logged?.attemptLog.map((attempt) => attempt.status),
      requests.map(() => 500),
    );
  });

  test('when the receiver recovers on day two, then the delivery succeeds at the next scheduled attempt', async (t) => {
    const realStart = Date.now();
    const recoversAfter = 36 * hour;
    let firstAt: number | undefined;
    const { handle, accountId, subscriptionId } = await sendTestEventTo('/recovers', (n, at) => {
      firstAt ??= at;
      return { status: at - firstAt >= recoversAfter ? 200 : 503 };
    });

    const result = await handle.result();

    // The first attempt due after the recovery: nothing between, nothing more after it.
    const expected = dueAfter.findIndex((due) => due >= recoversAfter) + 1;
    assert.ok(expected > 1 && expected <= schedule.length, `attempt ${expected}`);
    assert.deepEqual(result, { state: 'succeeded', attempts: expected, lastStatus: 200 });
    const requests = receiver.requests('/recovers');
    assert.deepEqual(
      requests.map((r) => r.answered),
      [...Array<number>(expected - 1).fill(503), 200],
    );
    const succeededAfter = requests.at(-1)!.at - requests[0]!.at;
    assert.ok(
      succeededAfter >= dueAfter[expected - 1]! &&
        succeededAfter < dueAfter[expected - 1]! + expected * attemptAllowance,
      `succeeded ${succeededAfter} ms after the first attempt`,
    );
    const timers = await timersOf(handle);
    assert.deepEqual(
      timers.map((timer) => timer.ms),
      schedule.slice(0, expected - 1),
    );
    assertFiredWhenDue(timers);
    reportTime(t, realStart, succeededAfter);

    const [logged] = await listDeliveries(engine.database.db, accountId, subscriptionId, { limit: 10 });
    assert.equal(logged?.state, 'succeeded');
    assert.equal(logged?.attempts, expected);
  });

  test('when the receiver asks for a week with Retry-After, then the next attempt waits the 24-hour cap instead of the schedule', async () => {
    const week = 7 * 24 * 3600;
    const { handle } = await sendTestEventTo('/retry-after-a-week', (n) =>
      n === 1 ? { status: 503, headers: { 'retry-after': String(week) } } : { status: 200 },
    );

    const result = await handle.result();

    assert.deepEqual(result, { state: 'succeeded', attempts: 2, lastStatus: 200 });
    const [first, second] = receiver.requests('/retry-after-a-week');
    const gap = second!.at - first!.at;
    assert.ok(gap >= maxRetryAfterMs && gap < maxRetryAfterMs + attemptAllowance, `${gap} ms`);
    const timers = await timersOf(handle);
    assert.deepEqual(
      timers.map((timer) => timer.ms),
      [maxRetryAfterMs],
    );
    assertFiredWhenDue(timers);
  });
});
