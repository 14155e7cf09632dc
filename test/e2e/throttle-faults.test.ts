/**
 * The throttle under faults: a worker process killed with SIGKILL in the middle of its reservations,
 * and storage that answers 503 SlowDown with a Retry-After hint.
 */
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { after, describe, test } from 'node:test';
import pg from 'pg';
import type { temporal } from '@temporalio/proto';
import { maxInAnyWindow } from '../../src/core/throttle/throttle-schedule.js';
import { listReservations } from '../../src/db/throttle-reservations.js';
import type { BatchStatus } from '../../src/core/jobs/job-status.js';
import { startHttpProxy } from '../support/http-proxy.js';
import { freshPostgresDatabase } from '../support/postgres.js';
import { s3Endpoint } from '../support/services.js';
import { startWorkerProcess } from '../support/worker-process.js';
import { startStack, type Stack } from '../support/stack.js';

type HistoryEvent = temporal.api.history.v1.IHistoryEvent;

const eventMs = (event: HistoryEvent | undefined): number =>
  event?.eventTime
    ? Number(event.eventTime.seconds) * 1000 + Math.round((event.eventTime.nanos ?? 0) / 1e6)
    : NaN;

async function until(condition: () => Promise<boolean>, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 100));
  }
}

function smallGraph(stack: Stack, key: string, out: string) {
  return {
    transformUnits: [
      { type: 'StorageSource', bucket: stack.buckets.input, key },
      { type: 'Resize', width: 32 },
      { type: 'ImageFormat', format: 'webp' },
      { type: 'StorageSink', bucket: stack.buckets.output, key: out },
    ],
  };
}

async function submit(stack: Stack, graphs: unknown[]): Promise<string> {
  const res = await stack.api('/v1/batches', { method: 'POST', body: JSON.stringify({ graphs }) });
  assert.equal(res.status, 201, JSON.stringify(res.body));
  return (res.body as { batchId: string }).batchId;
}

/** The account's throttle lock, as reserveSlot takes it (src/throttle/reservations.ts). */
const lockSql = 'select pg_advisory_lock(1885960307, hashtext($1))';
const unlockSql = 'select pg_advisory_unlock(1885960307, hashtext($1))';

describe('throttle under faults', () => {
  test('when the worker is killed with SIGKILL in the middle of its reservations and another starts, then the slots committed for the dead worker are used, every graph holds exactly one slot and completes', async () => {
    const database = await freshPostgresDatabase();
    const stack = await startStack({
      databaseUrl: database.url,
      inProcessWorkers: false,
      // A window longer than the test: reservations purge rows a window old, and on a loaded machine a
      // 4 s window let the replacement worker's reservations purge the orphaned rows this test inspects.
      env: { PIXELSHIFT_THROTTLE_WINDOW: '60s' },
    });
    const workers: ChildProcess[] = [];
    const blocker = new pg.Client({ connectionString: database.url });
    after(async () => {
      for (const worker of workers) worker.kill('SIGKILL');
      await blocker.end().catch(() => undefined);
      await stack.close();
      await database.drop();
    });
    const { accountId } = stack.account;
    const put = await stack.api('/v1/account/throttle', {
      method: 'PUT',
      body: JSON.stringify({ transformsPerHour: 5 }),
    });
    assert.equal(put.status, 200);
    const key = await stack.uploadFixture('png-palette-8bit.png', 'in/kill.png');

    // Hold the account's lock so that the worker's reservations stop inside their transactions.
    await blocker.connect();
    await blocker.query(lockSql, [accountId]);
    workers.push(await startWorkerProcess(stack.workerEnv));
    const batchId = await submit(
      stack,
      Array.from({ length: 5 }, (_, i) => smallGraph(stack, key, `kill/${i}.webp`)),
    );
    await until(async () => {
      const { rows } = await blocker.query<{ waiting: string }>(
        "select count(*) as waiting from pg_locks where locktype = 'advisory' and not granted",
      );
      return Number(rows[0]?.waiting) >= 3;
    });
    workers[0]!.kill('SIGKILL');
    await new Promise((resolve) => workers[0]!.once('exit', resolve));
    // The dead worker's reservations get the lock in turn and commit (each is one statement), but no
    // workflow ever hears of them: a crash after the commit.
    await blocker.query(unlockSql, [accountId]);
    let orphaned: Awaited<ReturnType<typeof listReservations>> = [];
    await until(async () => {
      orphaned = await listReservations(stack.database.db, accountId);
      return orphaned.length >= 3;
    });

    workers.push(await startWorkerProcess(stack.workerEnv));
    const status = await stack.waitForBatch(batchId, 120_000);
    assert.equal(status.state, 'succeeded', JSON.stringify(status.counts));

    const rows = await listReservations(stack.database.db, accountId);
    assert.deepEqual(
      rows.map((row) => row.graphKey).sort(),
      status.graphs.map((g) => g.workflowId).sort(),
      'exactly one reservation per graph: none counted twice, none lost',
    );
    const slotOf = new Map(rows.map((row) => [row.graphKey, row.slotAt.getTime()]));
    for (const row of orphaned) {
      assert.equal(
        slotOf.get(row.graphKey),
        row.slotAt.getTime(),
        `${row.graphKey} kept the slot committed for it`,
      );
    }
    assert.ok(
      maxInAnyWindow(
        rows.map((row) => row.slotAt.getTime()),
        60_000,
      ) <= 5,
    );

    // The reservations in flight at the kill ran inside workflow tasks of the dead worker: those tasks
    // timed out and the new worker ran the reservations again (one row each, as checked above).
    let retried = 0;
    for (const graph of status.graphs) {
      const history = await stack.temporal.client.workflow.getHandle(graph.workflowId).fetchHistory();
      const events = history.events ?? [];
      const lost = events.some((event) => event.workflowTaskTimedOutEventAttributes);
      const reserved = events.some(
        (event) => event.markerRecordedEventAttributes?.markerName === 'core_local_activity',
      );
      if (lost && reserved) retried += 1;
    }
    assert.ok(retried >= 3, `reservations run again after the kill: ${retried}`);
  });

  test('when storage answers 503 SlowDown with Retry-After twice, then the graph succeeds after the hinted delays, retried visibly by Temporal', async () => {
    const hintSeconds = 4;
    const sourceKey = 'in/slow/busy.png';
    const refusals: number[] = [];
    const proxy = await startHttpProxy(await s3Endpoint(), {
      intercept: (request) => {
        if (!request.url.includes(sourceKey) || refusals.length >= 2) return undefined;
        refusals.push(Date.now());
        return {
          status: 503,
          headers: { 'content-type': 'application/xml', 'retry-after': String(hintSeconds) },
          body: '<?xml version="1.0" encoding="UTF-8"?><Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>',
        };
      },
    });
    const stack = await startStack({ s3Endpoint: proxy.endpoint });
    after(async () => {
      await stack.close();
      await proxy.stop();
    });
    await stack.uploadFixture('png-palette-8bit.png', sourceKey);

    const batchId = await submit(stack, [smallGraph(stack, sourceKey, 'slow/out.webp')]);
    const status: BatchStatus = await stack.waitForBatch(batchId, 60_000);
    assert.equal(status.state, 'succeeded', JSON.stringify(status.graphs[0]?.error));
    assert.equal(refusals.length, 2);
    const served = proxy.requests.filter((request) => request.url.includes(sourceKey));
    assert.ok(served.length >= 3, 'the third attempt reached the object');

    const history = await stack.temporal.client.workflow
      .getHandle(status.graphs[0]!.workflowId)
      .fetchHistory();
    const events = history.events ?? [];
    const scheduled = events.find(
      (event) => event.activityTaskScheduledEventAttributes?.activityType?.name === 'runGraph',
    );
    const started = events.find(
      (event) =>
        Number(event.activityTaskStartedEventAttributes?.scheduledEventId ?? -1) ===
        Number(scheduled?.eventId),
    );
    const attributes = started?.activityTaskStartedEventAttributes;
    assert.equal(attributes?.attempt, 3, 'two retries, recorded in the history');
    // A HEAD answer has no body, so the S3 code is unknown: the status and the hint are what count.
    assert.match(attributes?.lastFailure?.message ?? '', /the storage service is busy or unavailable/);
    assert.equal(attributes?.lastFailure?.applicationFailureInfo?.type, 'transient');
    // The hint (4 s), not the policy's backoff (2 s, then 4 s), decided each wait.
    const waited = eventMs(started) - eventMs(scheduled);
    assert.ok(waited >= 2 * hintSeconds * 1000 - 250, `the retries waited ${waited} ms in all`);
    assert.ok(refusals[1]! - refusals[0]! >= hintSeconds * 1000 - 250, 'the second try came after the hint');
  });
});
