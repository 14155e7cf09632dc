import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { DefaultLogger } from '@temporalio/worker';
import { MockActivityEnvironment } from '@temporalio/testing';
import { Registry } from 'prom-client';
import { createActivityMetrics } from '../../../src/temporal/activities/activity-metrics.js';
import { parseExposition } from '../../support/prometheus-text.js';
import { createActivities } from '../../../src/temporal/activities/index.js';
import type { ThrottleSlot } from '../../../src/temporal/activities/types.js';
import { ensureAccount } from '../../../src/db/index.js';
import { databaseThrottleGate, type ThrottleGate } from '../../../src/db/throttle-gate.js';
import { databaseRunRecorder } from '../../../src/db/graph-runs.js';
import { listReservations, setLimit } from '../../../src/db/throttle-reservations.js';
import { webhookDepsFor } from '../../support/engine-deps.js';
import { MemoryGraphSource } from '../../support/memory-graphs.js';
import { databaseTargets, openMigrated, type TestDatabase } from '../../support/test-databases.js';

const windowMs = 60_000;
/** The simulated crash is expected: keep it out of the test log. */
const quiet = () => new MockActivityEnvironment({}, { logger: new DefaultLogger('ERROR', () => undefined) });

describe('throttle activities', () => {
  let database: TestDatabase;
  before(async () => {
    database = await openMigrated(databaseTargets()[0]!);
    await ensureAccount(database.db, { id: 'acme', name: 'Acme' });
    await setLimit(database.db, { accountId: 'acme', limit: 1, windowMs });
  });
  after(() => database.close());

  const activitiesWith = (throttle: ThrottleGate) =>
    createActivities({
      graphs: new MemoryGraphSource(),
      stores: { get: () => assert.fail('no storage'), has: () => false, names: () => [], destroy() {} },
      imaging: { maxInputPixels: 1, maxSourceBytes: 1 },
      throttle,
      webhooks: webhookDepsFor(database.db),
      runs: databaseRunRecorder(database.db),
    });

  test('when the worker dies after the reservation committed and the activity is retried, then the graph holds one slot, the one first given', async () => {
    const gate = databaseThrottleGate(database.db, { windowMs });
    let crashes = 1;
    const crashingAfterCommit: ThrottleGate = {
      async reserve(accountId, graphKey) {
        const slot = await gate.reserve(accountId, graphKey);
        if (graphKey.endsWith('/1') && crashes-- > 0)
          throw new Error('worker lost after the commit (simulated)');
        return slot;
      },
      release: (accountId, graphKey) => gate.release(accountId, graphKey),
    };
    const { reserveThrottleSlot } = activitiesWith(crashingAfterCommit);
    const env = quiet();
    const first: ThrottleSlot = await env.run(reserveThrottleSlot, {
      accountId: 'acme',
      graphKey: 'graph/acme/b/0',
    });
    assert.equal(first.waitMs, 0);
    const input = { accountId: 'acme', graphKey: 'graph/acme/b/1' };
    await assert.rejects(env.run(reserveThrottleSlot, input), /after the commit/);
    const stored = (await listReservations(database.db, 'acme')).find(
      (row) => row.graphKey === input.graphKey,
    );
    const retried: ThrottleSlot = await env.run(reserveThrottleSlot, input);
    const replayed: ThrottleSlot = await env.run(reserveThrottleSlot, input);
    assert.equal(retried.slotAt, stored?.slotAt.toISOString());
    assert.equal(replayed.slotAt, retried.slotAt);
    // Limit 1 per minute: the second graph waits about a window, and it is counted once.
    assert.ok(retried.waitMs > windowMs - 5_000 && retried.waitMs <= windowMs, String(retried.waitMs));
    assert.deepEqual(
      (await listReservations(database.db, 'acme')).map((row) => row.graphKey),
      ['graph/acme/b/0', 'graph/acme/b/1'],
    );
  });

  test('when a waiting graph is cancelled, then the release activity gives its slot back', async () => {
    const { reserveThrottleSlot, releaseThrottleSlot } = activitiesWith(
      databaseThrottleGate(database.db, { windowMs }),
    );
    const env = quiet();
    const input = { accountId: 'acme', graphKey: 'graph/acme/b/2' };
    const waiting: ThrottleSlot = await env.run(reserveThrottleSlot, input);
    assert.ok(waiting.waitMs > 0);
    assert.deepEqual(await env.run(releaseThrottleSlot, input), { released: true });
    assert.deepEqual(await env.run(releaseThrottleSlot, input), { released: false });
    assert.equal((await listReservations(database.db, 'acme')).length, 2);
  });

  test('when a reservation is retried and replayed and then released twice, then the metrics count one reservation, its wait and one release', async () => {
    const registry = new Registry();
    const { reserveThrottleSlot, releaseThrottleSlot } = createActivities({
      graphs: new MemoryGraphSource(),
      stores: { get: () => assert.fail('no storage'), has: () => false, names: () => [], destroy() {} },
      imaging: { maxInputPixels: 1, maxSourceBytes: 1 },
      throttle: databaseThrottleGate(database.db, { windowMs }),
      webhooks: webhookDepsFor(database.db),
      runs: databaseRunRecorder(database.db),
      metrics: createActivityMetrics(registry),
    });
    const env = quiet();
    const input = { accountId: 'acme', graphKey: 'graph/acme/counted/0' };
    const first: ThrottleSlot = await env.run(reserveThrottleSlot, input);
    await env.run(reserveThrottleSlot, input);
    await env.run(reserveThrottleSlot, input);
    await env.run(releaseThrottleSlot, input);
    await env.run(releaseThrottleSlot, input);

    const metrics = parseExposition(await registry.metrics());
    const account = { account: 'acme' };
    assert.equal(metrics.sum('pixelshift_throttle_reservations_total', account), 1);
    assert.equal(metrics.sum('pixelshift_throttle_wait_seconds_count', account), 1);
    assert.equal(metrics.sum('pixelshift_throttle_wait_seconds_sum', account), first.waitMs / 1000);
    assert.equal(metrics.sum('pixelshift_throttle_releases_total', account), 1);
  });
});
