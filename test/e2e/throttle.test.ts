/**
 * The throttle end to end (docs/architecture.md §9): the real API, Temporal dev server, workers, PostgreSQL and moto,
 * with a 4-second window so that "per hour" takes seconds. Times are read from the reservations table
 * (the slots) and from the workflow histories (when the imaging activity was scheduled and started).
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { temporal } from '@temporalio/proto';
import { openDatabase, type Database } from '../../src/db/index.js';
import { createApp } from '../../src/app/http-app.js';
import { startHttpServer } from '../../src/api/http-server.js';
import { TemporalJobEngine } from '../../src/temporal/client/temporal-orchestrator.js';
import { maxInAnyWindow } from '../../src/core/throttle/throttle-schedule.js';
import { listReservations } from '../../src/db/throttle-reservations.js';
import { graphStatusQuery } from '../../src/temporal/workflows/definitions.js';
import type { BatchStatus, GraphOutcome } from '../../src/core/jobs/job-status.js';
import { freshPostgresDatabase } from '../support/postgres.js';
import { callApi, readBatch, startStack, type Stack } from '../support/stack.js';
import { readUntil } from '../support/wait.js';

const W = 4000;
/** Observed activity starts follow their slot by a scheduling delay; this much of it is tolerated. */
const LATENCY_MS = 1000;

type Api = Stack['api'];
type HistoryEvent = temporal.api.history.v1.IHistoryEvent;

const eventMs = (event: HistoryEvent | undefined): number =>
  event?.eventTime
    ? Number(event.eventTime.seconds) * 1000 + Math.round((event.eventTime.nanos ?? 0) / 1e6)
    : NaN;

const until = <T>(read: () => Promise<T>, done: (value: T) => boolean, timeoutMs = 60_000) =>
  readUntil(read, done, timeoutMs);

describe('throttle end to end (window 4 s)', () => {
  let stack: Stack;
  let pg: Awaited<ReturnType<typeof freshPostgresDatabase>>;
  let sourceKey: string;

  before(async () => {
    pg = await freshPostgresDatabase();
    stack = await startStack({
      databaseUrl: pg.url,
      env: { PIXELSHIFT_THROTTLE_WINDOW: '4s', PIXELSHIFT_IMAGING_SLOTS: '4' },
    });
    sourceKey = await stack.uploadFixture('png-palette-8bit.png', 'in/small.png');
  });
  after(async () => {
    await stack?.close();
    await pg?.drop();
  });

  const graph = (out: string) => ({
    transformUnits: [
      { type: 'StorageSource', bucket: stack.buckets.input, key: sourceKey },
      { type: 'Resize', width: 32 },
      { type: 'ImageFormat', format: 'webp' },
      { type: 'StorageSink', bucket: stack.buckets.output, key: out },
    ],
  });

  async function setLimit(api: Api, transformsPerHour: number): Promise<void> {
    const res = await api('/v1/account/throttle', {
      method: 'PUT',
      body: JSON.stringify({ transformsPerHour }),
    });
    assert.equal(res.status, 200, JSON.stringify(res.body));
  }

  async function submit(api: Api, prefix: string, count: number) {
    const graphs = Array.from({ length: count }, (_, i) => graph(`${prefix}/${i}.webp`));
    const res = await api('/v1/batches', { method: 'POST', body: JSON.stringify({ graphs }) });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    return res.body as {
      batchId: string;
      throttle: { expectedLastStartAt: string; transformsPerHour: number };
    };
  }

  const status = async (api: Api, batchId: string) =>
    (await readBatch(api, batchId)) as BatchStatus & {
      throttle?: { expectedLastStartAt: string };
    };

  const finished = (api: Api, batchId: string, timeoutMs = 90_000) =>
    until(
      () => status(api, batchId),
      (s) => s.state !== 'running',
      timeoutMs,
    );

  /** When the graph's imaging activity was scheduled (the graph started) and when a worker picked it up. */
  async function imaging(workflowId: string) {
    const history = await stack.temporal.client.workflow.getHandle(workflowId).fetchHistory();
    const events = history.events ?? [];
    const scheduled = events.find(
      (event) => event.activityTaskScheduledEventAttributes?.activityType?.name === 'runGraph',
    );
    const started = events.find(
      (event) =>
        Number(event.activityTaskStartedEventAttributes?.scheduledEventId ?? -1) ===
        Number(scheduled?.eventId),
    );
    const timers = events.filter((event) => event.timerStartedEventAttributes).length;
    return { scheduled: eventMs(scheduled), started: eventMs(started), timers };
  }

  const slotsOf = async (accountId: string) =>
    new Map(
      (await listReservations(stack.database.db, accountId)).map((row) => [
        row.graphKey,
        row.slotAt.getTime(),
      ]),
    );

  test('when 8 graphs are submitted under 3 per window, then at most 3 start in any window, all 8 complete and none fails', async () => {
    const account = await stack.addAccount('three');
    await setLimit(account.api, 3);
    const submittedAt = Date.now();
    const report = await submit(account.api, 'three', 8);
    // Three now, three after one window, two after two windows.
    const expected = Date.parse(report.throttle.expectedLastStartAt) - submittedAt;
    assert.ok(expected > 2 * W - 1500 && expected < 2 * W + 1500, `expected last start in ${expected} ms`);

    const waiting = await until(
      () => status(account.api, report.batchId),
      (s) => s.counts.throttled > 0,
    );
    assert.ok(
      waiting.graphs.some((g) => g.state === 'throttled' && g.throttledUntil),
      'visible as throttled',
    );

    const done = await finished(account.api, report.batchId);
    assert.equal(done.state, 'succeeded', JSON.stringify(done.counts));
    assert.equal(done.counts.succeeded, 8);

    const slots = await slotsOf(account.accountId);
    assert.equal(slots.size, 8, 'one reservation per graph');
    assert.ok(maxInAnyWindow([...slots.values()], W) <= 3, 'the slots: at most 3 in any window');
    const span = Math.max(...slots.values()) - Math.min(...slots.values());
    assert.ok(span >= 2 * W, `the limit did bind: slots span ${span} ms`);

    const starts: number[] = [];
    for (const g of done.graphs) {
      const times = await imaging(g.workflowId);
      assert.ok(times.scheduled >= slots.get(g.workflowId)! - 20, `${g.workflowId} started before its slot`);
      starts.push(times.started);
    }
    assert.ok(
      maxInAnyWindow(starts, W - LATENCY_MS) <= 3,
      `observed imaging starts, at most 3 per window: ${starts.map((s) => s - Math.min(...starts)).join(', ')}`,
    );
  });

  test('when the limit is raised while graphs wait, then they start within a second or two, and waiting was visible to operators', async () => {
    const account = await stack.addAccount('raise');
    await setLimit(account.api, 1);
    const report = await submit(account.api, 'raise', 5);
    const waiting = await until(
      () => status(account.api, report.batchId),
      (s) => s.counts.throttled === 4,
    );

    // What an operator sees on a waiting graph: its query, its search attribute, its current details.
    const id = waiting.graphs.find((g) => g.state === 'throttled')!.workflowId;
    const handle = stack.temporal.client.workflow.getHandle(id);
    const outcome: GraphOutcome = await handle.query(graphStatusQuery);
    assert.equal(outcome.state, 'throttled');
    assert.ok(outcome.throttledUntil && Date.parse(outcome.throttledUntil) > Date.now());
    const described = await handle.describe();
    assert.deepEqual(described.searchAttributes.PixelshiftState, ['throttled']);
    const metadata = await handle.query<{ currentDetails?: string }>('__temporal_workflow_metadata');
    assert.match(metadata.currentDetails ?? '', /^waiting for throttle until \d\d:\d\d:\d\d UTC$/);

    const raisedAt = Date.now();
    await setLimit(account.api, 100);
    const done = await finished(account.api, report.batchId);
    assert.equal(done.state, 'succeeded');
    const originalLast = Date.parse(report.throttle.expectedLastStartAt);
    for (const g of waiting.graphs.filter((w) => w.state === 'throttled')) {
      const { scheduled } = await imaging(g.workflowId);
      assert.ok(
        scheduled - raisedAt < 2500,
        `${g.workflowId} started ${scheduled - raisedAt} ms after the raise`,
      );
    }
    assert.ok(originalLast - raisedAt > 3 * W, 'without the raise the last would have waited three windows');
  });

  test('when the limit is lowered while graphs wait, then the waiting graphs start under the lower limit', async () => {
    const account = await stack.addAccount('lower');
    await setLimit(account.api, 2);
    const report = await submit(account.api, 'lower', 4);
    const waiting = await until(
      () => status(account.api, report.batchId),
      (s) => s.counts.throttled === 2,
    );
    const before = await slotsOf(account.accountId);
    await setLimit(account.api, 1);
    const done = await finished(account.api, report.batchId);
    assert.equal(done.state, 'succeeded');

    const after = await slotsOf(account.accountId);
    const waited = waiting.graphs.filter((g) => g.state === 'throttled').map((g) => g.workflowId);
    const [first, second] = waited.map((key) => after.get(key)!).sort((a, b) => a - b);
    assert.ok(second! - first! >= W, 'the two waiting graphs now start a window apart');
    assert.ok(second! > Math.max(...waited.map((key) => before.get(key)!)), 'the last one moved later');
    for (const key of waited) {
      const { scheduled } = await imaging(key);
      assert.ok(scheduled >= after.get(key)! - 20, `${key} started before its moved slot`);
    }
  });

  test('when two API replicas take a batch each at the same moment, then the limit holds across both', async () => {
    const account = await stack.addAccount('replicas');
    await setLimit(account.api, 3);
    // A second replica: its own app and its own connection pool onto the same database.
    const secondDatabase: Database = await openDatabase(stack.config.database);
    const app = createApp({
      db: secondDatabase.db,
      orchestrator: new TemporalJobEngine(stack.temporal.client, stack.config),
      config: stack.config,
      jwtSecret: new TextEncoder().encode(stack.config.auth.jwtSecret),
    });
    const replica = await startHttpServer(app, { host: '127.0.0.1', port: 0 });
    try {
      const token = await account.token();
      const viaReplica: Api = (pathname, init = {}) =>
        callApi(replica.url, () => account.token(), pathname, init, stack.openApiDocument);
      const [a, b] = await Promise.all([
        submit((p, init = {}) => account.api(p, { ...init, token }), 'replicas-a', 4),
        submit(viaReplica, 'replicas-b', 4),
      ]);
      const [doneA, doneB] = await Promise.all([
        finished(account.api, a.batchId),
        finished(viaReplica, b.batchId),
      ]);
      assert.equal(doneA.state, 'succeeded');
      assert.equal(doneB.state, 'succeeded');
      const slots = [...(await slotsOf(account.accountId)).values()];
      assert.equal(slots.length, 8);
      assert.ok(maxInAnyWindow(slots, W) <= 3, 'at most 3 starts in any window across both batches');
      assert.ok(Math.max(...slots) - Math.min(...slots) >= 2 * W, 'and the limit did bind');
    } finally {
      await replica.close();
      await secondDatabase.close();
    }
  });

  test('when one account has a backlog of waiting graphs, then another account’s graphs start at once', async () => {
    const busy = await stack.addAccount('busy');
    const other = await stack.addAccount('other');
    await setLimit(busy.api, 1);
    const backlog = await submit(busy.api, 'busy', 30);
    await until(
      () => status(busy.api, backlog.batchId),
      (s) => s.counts.throttled >= 25,
    );

    const submittedAt = Date.now();
    const quick = await submit(other.api, 'other', 3);
    const done = await finished(other.api, quick.batchId, 30_000);
    assert.equal(done.state, 'succeeded');
    for (const g of done.graphs) {
      const { scheduled, timers } = await imaging(g.workflowId);
      assert.equal(timers, 0, `${g.workflowId} never waited`);
      assert.ok(
        scheduled - submittedAt < 5000,
        `${g.workflowId} started ${scheduled - submittedAt} ms after submit`,
      );
    }
    assert.ok(
      (await status(busy.api, backlog.batchId)).counts.throttled >= 20,
      'the backlog is still waiting',
    );

    // Cancelling the backlog gives every waiting slot back.
    assert.equal((await busy.api(`/v1/batches/${backlog.batchId}/cancel`, { method: 'POST' })).status, 202);
    const cancelled = await finished(busy.api, backlog.batchId);
    assert.equal(cancelled.state, 'cancelled');
    const left = await slotsOf(busy.accountId);
    const now = Date.now();
    assert.deepEqual(
      [...left.values()].filter((slot) => slot > now),
      [],
      'no waiting reservation is left behind',
    );
    assert.ok(left.size <= 2, `only started graphs keep their slot (${left.size})`);
  });
});
