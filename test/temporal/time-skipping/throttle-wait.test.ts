/**
 * Graph runs waiting hours for their throttle slots (docs/architecture.md §9), in Temporal's time-skipping
 * test environment: the real graph workflow, reservation activity and imaging activity, with slots laid out
 * by the real slot rule (`nextSlot`) on the environment's clock. The database gate of production decides on
 * the database's clock, which cannot skip, so this file gives the workers a gate of its own that keeps the
 * account's slots in memory; the database gate itself is tested in test/db/ and test/temporal/workflows/.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { msOptionalToNumber } from '@temporalio/common/lib/time.js';
import type { GraphOutcome } from '../../../src/core/jobs/job-status.js';
import { nextSlot, type ThrottleRule } from '../../../src/core/throttle/throttle-schedule.js';
import type { ThrottleGate } from '../../../src/db/throttle-gate.js';
import { throttleReserveActivityOptions } from '../../../src/temporal/workflows/definitions.js';
import {
  startTimeSkippingEngine,
  timeSkippingTemporal,
  type TimeSkippingEngine,
  type TimeSkippingTemporal,
} from '../../support/time-skipping.js';

const hour = 3_600_000;
/**
 * How far from its slot a graph may start on the environment's clock: the slot is decided during one
 * reservation (a local activity), which this timeout bounds.
 */
const reservationAllowance = msOptionalToNumber(throttleReserveActivityOptions.startToCloseTimeout)!;

/** One account's slots by the real rule, on the environment's clock; each graph keeps the slot it got first. */
function throttleOnClock(now: () => Promise<number>, rule: ThrottleRule) {
  const slots: number[] = [];
  const held = new Map<string, number>();
  const gate: ThrottleGate = {
    async reserve(_accountId, graphKey) {
      const at = await now();
      const kept = held.get(graphKey);
      if (kept !== undefined) return { slotAt: new Date(kept), now: new Date(at), created: false };
      const slot = nextSlot(slots, rule, at);
      slots.push(slot);
      held.set(graphKey, slot);
      return { slotAt: new Date(slot), now: new Date(at), created: true };
    },
    release: (_accountId, graphKey) => Promise.resolve(held.delete(graphKey)),
  };
  return { gate, held };
}

describe("graph runs waiting for their throttle slots, on the test server's skipping clock", () => {
  const rule: ThrottleRule = { limit: 2, windowMs: hour };
  let temporal: TimeSkippingTemporal;
  let engine: TimeSkippingEngine;
  let throttle: ReturnType<typeof throttleOnClock>;

  before(async () => {
    temporal = await timeSkippingTemporal();
    throttle = throttleOnClock(temporal.now, rule);
    engine = await startTimeSkippingEngine(temporal, { throttle: () => throttle.gate });
  });

  after(async () => {
    await engine?.close();
    await temporal?.teardown();
  });

  test('when an account allowed two runs an hour gets five at once, then they start two an hour on their slots, waiting throttled, and all succeed', async (t) => {
    const realStart = Date.now();
    const accountId = await engine.newAccount();
    const submittedAt = await temporal.now();
    const workflowIds: string[] = [];
    for (let i = 0; i < 5; i++) {
      const workflowId = `s3/default/photos/photo.png/${randomUUID()}/rule-1`;
      await engine.orchestrator.startGraphRun({
        accountId,
        workflowId,
        trigger: 's3',
        triggerId: 'rule-1',
        graph: engine.thumbnail(`throttled-${i}`),
      });
      workflowIds.push(workflowId);
    }

    // Before any time skips: three runs hold slots an hour or more ahead and say so.
    const throttled = await waitFor(async () => {
      const runs = await Promise.all(workflowIds.map((id) => engine.orchestrator.getGraphRun(accountId, id)));
      return runs.filter((run) => run?.state === 'throttled').length === 3 ? runs : undefined;
    });
    for (const run of throttled.filter((r) => r?.state === 'throttled')) {
      const slot = throttle.held.get(run!.workflowId)!;
      assert.ok(slot >= submittedAt + hour, `a waiting run's slot is ${slot - submittedAt} ms ahead`);
      assert.equal(run!.throttledUntil, new Date(slot).toISOString());
    }

    // One at a time: the environment's clock is shared, and awaiting a result is what lets it skip.
    const outcomes: GraphOutcome[] = [];
    for (const id of workflowIds) {
      outcomes.push((await temporal.client.workflow.getHandle(id).result()) as GraphOutcome);
    }

    for (const outcome of outcomes) {
      assert.equal(outcome.state, 'succeeded', JSON.stringify(outcome));
      assert.equal(outcome.sinks.length, 1);
      // At its slot, to within the reservation's own time (a workflow's clock stands still during a task,
      // so a run that starts at once reads the time its task began, just before it reserved).
      const slot = throttle.held.get(outcome.workflowId)!;
      const started = Date.parse(outcome.startedAt!);
      assert.ok(
        Math.abs(started - slot) < reservationAllowance,
        `started ${started - slot} ms after its slot`,
      );
      // A run that waited never starts early.
      if (slot >= submittedAt + hour)
        assert.ok(started >= slot, `started ${slot - started} ms before its slot`);
    }
    // Two an hour: no hour holds a third slot, so the last run starts two hours after submission or later.
    const slots = [...throttle.held.values()].sort((a, b) => a - b);
    assert.equal(slots.length, 5);
    for (let i = 2; i < slots.length; i++) {
      assert.ok(slots[i]! - slots[i - 2]! >= hour, `slots ${i - 2} and ${i} are less than an hour apart`);
    }
    const lastStart = Math.max(...outcomes.map((outcome) => Date.parse(outcome.startedAt!)));
    assert.ok(lastStart - submittedAt >= 2 * hour, `the last run started ${lastStart - submittedAt} ms in`);
    t.diagnostic(
      `${((lastStart - submittedAt) / hour).toFixed(1)} h on the environment's clock in ${((Date.now() - realStart) / 1000).toFixed(1)} s of real time`,
    );
  });
});

/** Polls `read` (real time: nothing here waits on the environment's clock) until it gives a value. */
async function waitFor<T>(read: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const value = await read();
    if (value !== undefined) return value;
    if (Date.now() > deadline) assert.fail('not reached within a minute');
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
