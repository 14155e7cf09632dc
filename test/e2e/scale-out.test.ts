/**
 * Scale-out, proven on one machine (docs/deploying.md, "Scaling out, as tested"): the production topology
 * as separate processes — one PostgreSQL database, the Temporal dev server, moto, two `pixelshift api`
 * processes on their own ports and two `pixelshift worker` processes — serving one account. Requests go
 * to the API processes only, through a client that tries the other API when one does not answer (as a
 * load balancer would); the stack's in-process API only set the account up. Who imaged a graph is read
 * from its workflow history (the worker identity, `pid@host`, of the completed imaging activity); the
 * throttle's slots from its reservations table. A one-line JSON summary of the figures is printed last.
 */
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { ListObjectsV2Command, PutObjectCommand } from '@aws-sdk/client-s3';
import type { temporal } from '@temporalio/proto';
import { postgresUnavailable } from '../../scripts/postgres.js';
import { maxInAnyWindow } from '../../src/core/throttle/throttle-schedule.js';
import type { BatchStatus, GraphOutcome } from '../../src/core/jobs/job-status.js';
import { listReservations } from '../../src/db/throttle-reservations.js';
import { freePort } from '../../src/tools/ports.js';
import { exitOf, startApiProcess } from '../support/api-process.js';
import { s3RecordsBody } from '../support/fake-ingest.js';
import { fixturePath } from '../support/fixtures.js';
import { freshPostgresDatabase } from '../support/postgres.js';
import { callApi, exchangeToken, readBatch, startStack, type Stack } from '../support/stack.js';
import { waitFor } from '../support/wait.js';
import { startWorkerProcess } from '../support/worker-process.js';

type HistoryEvent = temporal.api.history.v1.IHistoryEvent;
type Answer = Awaited<ReturnType<typeof callApi>>;

/** The smallest JPEG of the fixtures (290×442, 23 KB): the test is about processes, not imaging. */
const photo = 'jpeg-icc-adobe-rgb.jpg';
/** 9 megapixels: imaging it into a 2400-pixel WebP keeps a worker busy long enough to be killed at it. */
const largePhoto = 'jpeg-large-4608x1976-phone.jpg';
const windowMs = 4000;
const eventsToken = 'scale-out-events-token-0123456789abcdef01234';
const unavailable = process.env.PIXELSHIFT_TEST_DATABASE_URL
  ? undefined
  : postgresUnavailable()?.replace(/^/, 'needs a PostgreSQL server shared by the processes: ');

describe('scale-out: two APIs and two workers, one database, one Temporal', { skip: unavailable }, () => {
  let database: Awaited<ReturnType<typeof freshPostgresDatabase>>;
  let stack: Stack;
  let sourceKey: string;
  let largeKey: string;
  const apiUrls: string[] = [];
  const apis: (ChildProcess | undefined)[] = [];
  const workers: (ChildProcess | undefined)[] = [];
  const started: ChildProcess[] = [];
  /** Worker pid → its name: worker1 and worker2, and worker1#2 for the second process in that place. */
  const workerNames = new Map<number, string>();
  const generations = [0, 0];
  const figures: Record<string, unknown> = {};
  let token: string | undefined;
  let failovers = 0;

  async function startApi(place: number): Promise<void> {
    const api = await startApiProcess({ ...stack.workerEnv, PORT: new URL(apiUrls[place]!).port });
    started.push(api.child);
    apis[place] = api.child;
    await waitFor(`api${place + 1} ready`, async () => {
      const ready = await fetch(`${apiUrls[place]}/readyz`).catch(() => undefined);
      await ready?.body?.cancel();
      return ready?.status === 200;
    });
  }

  async function startWorker(place: number): Promise<void> {
    const worker = await startWorkerProcess({
      ...stack.workerEnv,
      PIXELSHIFT_IMAGING_SLOTS: '1',
      PIXELSHIFT_WORKER_DRAIN: '30s',
    });
    started.push(worker);
    workers[place] = worker;
    generations[place]! += 1;
    const generation = generations[place]!;
    workerNames.set(worker.pid!, `worker${place + 1}${generation > 1 ? `#${generation}` : ''}`);
  }

  /**
   * A request through the API processes, as a client behind a load balancer makes it: to `prefer` first,
   * and to the other API when the connection fails or the answer is 503, until one answers.
   */
  async function call(pathname: string, init: RequestInit = {}, prefer = 0): Promise<Answer> {
    const deadline = Date.now() + 60_000;
    for (let attempt = 0; ; attempt++) {
      const url = apiUrls[(prefer + attempt) % apiUrls.length]!;
      try {
        token ??= await exchangeToken(url, stack.account.keyId, stack.account.secret);
        const answer = await callApi(
          url,
          () => Promise.resolve(token!),
          pathname,
          init,
          stack.openApiDocument,
        );
        if (answer.status !== 503) return answer;
      } catch (error) {
        // fetch rejects with a TypeError when the connection is refused or cut; anything else is a bug.
        if (!(error instanceof TypeError)) throw error;
      }
      failovers += 1;
      if (Date.now() > deadline) throw new Error(`no API answered ${pathname}`);
      if (attempt % 2 === 1) await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }

  /** A small image made smaller; `large` instead takes seconds, so a kill can catch it in the middle. */
  const graph = (out: string, large = false) => ({
    transformUnits: [
      { type: 'StorageSource', bucket: stack.buckets.input, key: large ? largeKey : sourceKey },
      { type: 'Resize', width: large ? 2400 : 64 },
      { type: 'ImageFormat', format: 'webp' },
      { type: 'StorageSink', bucket: stack.buckets.output, key: out },
    ],
  });

  /** A batch of `count` graphs writing under `prefix/`; the prefix is its Idempotency-Key, so retries are safe. */
  async function submit(prefix: string, count: number, prefer = 0, large = false): Promise<string> {
    const graphs = Array.from({ length: count }, (_, i) => graph(`${prefix}/${i}.webp`, large));
    const answer = await call(
      '/v1/batches',
      { method: 'POST', body: JSON.stringify({ graphs }), headers: { 'idempotency-key': prefix } },
      prefer,
    );
    assert.equal(answer.status, 201, JSON.stringify(answer.body));
    return (answer.body as { batchId: string }).batchId;
  }

  async function setLimit(transformsPerHour: number, prefer = 0): Promise<void> {
    const answer = await call(
      '/v1/account/throttle',
      { method: 'PUT', body: JSON.stringify({ transformsPerHour }) },
      prefer,
    );
    assert.equal(answer.status, 200, JSON.stringify(answer.body));
  }

  async function succeeded(batchId: string, prefer = 0): Promise<number> {
    const answer = await call(`/v1/batches/${batchId}`, {}, prefer);
    assert.equal(answer.status, 200, JSON.stringify(answer.body));
    return (answer.body as BatchStatus).counts.succeeded;
  }

  async function settled(batchId: string, prefer = 0, timeoutMs = 120_000): Promise<BatchStatus> {
    await waitFor(
      `batch ${batchId} settled`,
      async () => {
        const answer = await call(`/v1/batches/${batchId}`, {}, prefer);
        return (answer.body as BatchStatus).state !== 'running';
      },
      { timeoutMs, intervalMs: 250 },
    );
    return readBatch((pathname) => call(pathname, {}, prefer), batchId);
  }

  async function history(workflowId: string): Promise<HistoryEvent[]> {
    return (await stack.temporal.client.workflow.getHandle(workflowId).fetchHistory()).events ?? [];
  }

  const nameOf = (identity: string | null | undefined): string =>
    workerNames.get(Number(/^(\d+)@/.exec(identity ?? '')?.[1])) ?? `unknown (${identity})`;

  /**
   * The worker whose imaging activity completed, how many imaging activities completed (must be 1), and
   * the attempt that completed (above 1 when a worker died with it or it failed transiently).
   */
  async function imagedBy(
    workflowId: string,
  ): Promise<{ worker: string; completions: number; attempt: number }> {
    const events = await history(workflowId);
    const imaging = new Set(
      events
        .filter((event) => event.activityTaskScheduledEventAttributes?.activityType?.name === 'runGraph')
        .map((event) => Number(event.eventId)),
    );
    const completed = events.filter((event) =>
      imaging.has(Number(event.activityTaskCompletedEventAttributes?.scheduledEventId ?? -1)),
    );
    const startedId = Number(completed[0]?.activityTaskCompletedEventAttributes?.startedEventId ?? -1);
    const started = events.find((event) => Number(event.eventId) === startedId);
    return {
      worker: nameOf(completed[0]?.activityTaskCompletedEventAttributes?.identity),
      completions: completed.length,
      attempt: started?.activityTaskStartedEventAttributes?.attempt ?? 0,
    };
  }

  /** A graph of the batch whose imaging activity the worker with this pid is running now, if any. */
  async function imagingOn(batchId: string, pid: number): Promise<string | undefined> {
    const status = await readBatch((pathname) => call(pathname), batchId);
    for (const g of status.graphs) {
      if (['succeeded', 'queued'].includes(g.state)) continue;
      const description = await stack.temporal.client.workflow
        .getHandle(g.workflowId)
        .describe()
        .catch(() => undefined);
      const running = (description?.raw.pendingActivities ?? []).some(
        (activity) =>
          activity.activityType?.name === 'runGraph' &&
          Number(activity.state) === 2 &&
          activity.lastWorkerIdentity?.startsWith(`${pid}@`),
      );
      if (running) return g.workflowId;
    }
    return undefined;
  }

  /** The workers that ran any task of the workflow (workflow tasks and activities). */
  async function workersIn(workflowId: string): Promise<Set<string>> {
    const names = new Set<string>();
    for (const event of await history(workflowId)) {
      const identity =
        event.workflowTaskStartedEventAttributes?.identity ??
        event.workflowTaskCompletedEventAttributes?.identity ??
        event.activityTaskStartedEventAttributes?.identity ??
        event.activityTaskCompletedEventAttributes?.identity;
      if (identity) names.add(nameOf(identity));
    }
    return names;
  }

  /**
   * Every graph of the batch succeeded once: one row each in the read model, one completed imaging
   * activity each, and exactly its output in the bucket with the reported size. Answers graphs per
   * worker, and how many were imaged on a later attempt than the first.
   */
  async function assertEveryGraphOnce(status: BatchStatus, prefix: string, count: number) {
    assert.equal(status.state, 'succeeded', JSON.stringify(status.counts));
    assert.equal(status.graphs.length, count);
    assert.equal(new Set(status.graphs.map((g) => g.workflowId)).size, count, 'no graph listed twice');
    const listed = await stack.s3.send(
      new ListObjectsV2Command({ Bucket: stack.buckets.output, Prefix: `${prefix}/` }),
    );
    const stored = new Map((listed.Contents ?? []).map((object) => [object.Key!, object.Size!]));
    assert.equal(stored.size, count, 'exactly one output per graph, nothing extra');
    const perWorker: Record<string, number> = {};
    let retried = 0;
    for (const g of status.graphs) {
      assert.equal(g.state, 'succeeded');
      assert.equal(g.sinks.length, 1);
      assert.equal(stored.get(g.sinks[0]!.key), g.sinks[0]!.bytes, `${g.sinks[0]!.key} as reported`);
      const { worker, completions, attempt } = await imagedBy(g.workflowId);
      assert.equal(completions, 1, `${g.workflowId} imaged once`);
      perWorker[worker] = (perWorker[worker] ?? 0) + 1;
      if (attempt > 1) retried += 1;
    }
    return { perWorker, retried };
  }

  before(async () => {
    database = await freshPostgresDatabase();
    stack = await startStack({
      databaseUrl: database.url,
      inProcessWorkers: false,
      eventsToken,
      env: { PIXELSHIFT_THROTTLE_WINDOW: `${windowMs / 1000}s` },
    });
    for (let place = 0; place < 2; place++) apiUrls.push(`http://127.0.0.1:${await freePort()}`);
    await Promise.all([startApi(0), startApi(1), startWorker(0), startWorker(1)]);
    sourceKey = await stack.uploadFixture(photo, `in/${photo}`);
    largeKey = await stack.uploadFixture(largePhoto, `in/${largePhoto}`);
  });
  after(async () => {
    console.log(JSON.stringify({ scaleOut: figures }));
    for (const child of started) child.kill('SIGKILL');
    await stack?.close();
    await database?.drop();
  });

  test('when a batch is submitted to one API and read from the other, then both workers image its graphs and it completes', async () => {
    const batchId = await submit('spread', 8, 0);
    const status = await settled(batchId, 1);
    const { perWorker } = await assertEveryGraphOnce(status, 'spread', 8);
    assert.ok(perWorker.worker1 && perWorker.worker2, `both workers imaged: ${JSON.stringify(perWorker)}`);
    figures.spread = { graphs: 8, perWorker };
  });

  test('when both APIs take batches of one account and both workers run them, then no throttle window holds more slots than the limit', async () => {
    const limit = 3;
    await setLimit(limit, 1);
    // Reservations are purged once a window old, so the table is read all along and every row kept.
    const slots = new Map<string, number>();
    let watching = true;
    const watcher = (async () => {
      while (watching) {
        for (const row of await listReservations(stack.database.db, stack.account.accountId))
          slots.set(row.graphKey, row.slotAt.getTime());
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    })();
    const batchIds: string[] = [];
    for (let i = 0; i < 4; i++) batchIds.push(await submit(`throttle-${i}`, 2, i % 2));
    const statuses: BatchStatus[] = [];
    for (const [i, batchId] of batchIds.entries()) statuses.push(await settled(batchId, (i + 1) % 2));
    watching = false;
    await watcher;
    await setLimit(1000);

    const perWorker: Record<string, number> = {};
    for (const [i, status] of statuses.entries()) {
      const once = await assertEveryGraphOnce(status, `throttle-${i}`, 2);
      for (const [worker, n] of Object.entries(once.perWorker))
        perWorker[worker] = (perWorker[worker] ?? 0) + n;
    }
    const graphIds = statuses.flatMap((status) => status.graphs.map((g) => g.workflowId));
    const times = graphIds.map((id) => slots.get(id));
    assert.ok(
      times.every((slot) => slot !== undefined),
      'every graph held a slot, seen in the reservations table',
    );
    const most = maxInAnyWindow(times, windowMs);
    assert.ok(most <= limit, `at most ${limit} slots in any ${windowMs} ms window, saw ${most}`);
    // 8 graphs at 3 per window need three windows: the throttle held graphs back, not only counted them.
    const span = Math.max(...times) - Math.min(...times);
    assert.ok(span >= 2 * windowMs, `slots span ${span} ms`);
    assert.ok(perWorker.worker1 && perWorker.worker2, `both workers imaged: ${JSON.stringify(perWorker)}`);
    figures.throttle = {
      limit,
      windowMs,
      graphs: graphIds.length,
      maxSlotsInAnyWindow: most,
      spanMs: span,
      perWorker,
    };
  });

  test('when the same bucket event is delivered to both APIs at once, then exactly one run starts and completes', async () => {
    const rule = await call('/v1/rules', {
      method: 'POST',
      body: JSON.stringify({
        bucket: stack.buckets.input,
        prefix: 'events/',
        template: {
          transformUnits: [
            { type: 'Resize', width: 64 },
            { type: 'ImageFormat', format: 'webp' },
            { type: 'StorageSink', bucket: stack.buckets.output, key: 'events-out/{name}.webp' },
          ],
        },
      }),
    });
    assert.equal(rule.status, 201, JSON.stringify(rule.body));
    const body = readFileSync(fixturePath(photo));
    const put = await stack.s3.send(
      new PutObjectCommand({ Bucket: stack.buckets.input, Key: 'events/upload.jpg', Body: body }),
    );
    const event = s3RecordsBody(stack.buckets.input, ['events/upload.jpg'], '01', {
      size: body.length,
      eTag: put.ETag!.replace(/"/g, ''),
    });
    const answers = await Promise.all(
      apiUrls.map((url) =>
        callApi(
          url,
          () => Promise.resolve(eventsToken),
          '/v1/events/s3',
          { method: 'POST', body: JSON.stringify(event) },
          stack.openApiDocument,
        ),
      ),
    );
    const results = answers.map((answer) => {
      assert.equal(answer.status, 200, JSON.stringify(answer.body));
      return answer.body as {
        started: number;
        duplicates: number;
        runs: { workflowId: string; statusUrl: string }[];
      };
    });
    assert.deepEqual(
      results.map((r) => r.started + r.duplicates),
      [1, 1],
    );
    assert.equal(results[0]!.started + results[1]!.started, 1, 'one API started the run');
    const [run] = results[0]!.runs;
    assert.equal(results[1]!.runs[0]!.workflowId, run!.workflowId);

    let outcome: GraphOutcome | undefined;
    await waitFor('the run finished', async () => {
      outcome = (await call(run!.statusUrl)).body as GraphOutcome;
      return !['queued', 'throttled', 'running'].includes(outcome.state);
    });
    assert.equal(outcome!.state, 'succeeded', JSON.stringify(outcome));
    // Temporal holds one execution under the run's workflow ID, however many APIs were told.
    const executions = async () => {
      const found = [];
      for await (const execution of stack.temporal.client.workflow.list({
        query: `WorkflowId = '${run!.workflowId}'`,
      }))
        found.push(execution);
      return found;
    };
    await waitFor('the run listed as closed', async () =>
      (await executions()).some((execution) => execution.status.name === 'COMPLETED'),
    );
    assert.equal((await executions()).length, 1);
    const outputs = await stack.s3.send(
      new ListObjectsV2Command({ Bucket: stack.buckets.output, Prefix: 'events-out/' }),
    );
    assert.deepEqual(
      (outputs.Contents ?? []).map((object) => object.Key),
      ['events-out/upload.webp'],
    );
    figures.bucketEvent = {
      deliveredTo: 2,
      started: results.map((r) => r.started),
      duplicates: results.map((r) => r.duplicates),
      executions: 1,
    };
  });

  test('when one worker and one API are killed with SIGKILL mid-batch, then clients carry on through the other API and every graph completes once', async () => {
    // Two graphs start per window, so the kill lands before the last ones start.
    await setLimit(2, 1);
    const first = await submit('kill-a', 8, 0, true);
    const killedWorker = workerNames.get(workers[0]!.pid!)!;
    // The kill lands while worker1 is imaging one of the graphs.
    let caught: string | undefined;
    await waitFor(
      'an imaging activity running on worker1',
      async () => {
        caught = await imagingOn(first, workers[0]!.pid!);
        return caught !== undefined;
      },
      { timeoutMs: 120_000, intervalMs: 50 },
    );
    // A second batch is on its way to api1 as api1 dies; the client sends it again to api2, same key.
    const failoversBefore = failovers;
    const second = submit('kill-b', 2, 0);
    const killed = [apis[0]!, workers[0]!];
    for (const child of killed) child.kill('SIGKILL');
    await Promise.all(killed.map(exitOf));
    const succeededAtKill = await succeeded(first, 1);
    assert.ok(succeededAtKill < 8, 'the kill lands mid-batch');
    const secondId = await second;
    const secondFailedOver = failovers > failoversBefore;

    const firstStatus = await settled(first, 0);
    const secondStatus = await settled(secondId, 0);
    const { perWorker, retried } = await assertEveryGraphOnce(firstStatus, 'kill-a', 8);
    await assertEveryGraphOnce(secondStatus, 'kill-b', 2);
    // One batch per submission, however many APIs saw it: spread, four throttle batches and these two.
    const list = await call('/v1/batches?pageSize=100');
    assert.equal((list.body as { batches: unknown[] }).batches.length, 7, JSON.stringify(list.body));
    // The killed worker had part of the batch in hand: workflows it ran tasks of finished elsewhere.
    let handedOver = 0;
    for (const workflowId of [firstStatus.workflowId, ...firstStatus.graphs.map((g) => g.workflowId)]) {
      if ((await workersIn(workflowId)).has(killedWorker)) handedOver += 1;
    }
    assert.ok(handedOver >= 1, 'the killed worker had run tasks of the batch');
    // The graph worker1 was imaging ran again, on a later attempt, after the heartbeat timeout.
    const rerun = await imagedBy(caught!);
    assert.ok(rerun.attempt >= 2, `the graph in flight at the kill ran again: ${JSON.stringify(rerun)}`);
    figures.kill = {
      graphs: 10,
      succeededAtKill,
      inFlightAtKill: { attempt: rerun.attempt, finishedBy: rerun.worker },
      workflowsTouchedByKilledWorker: handedOver,
      imagingRetried: retried,
      perWorker,
      resubmittedToOtherApi: secondFailedOver,
      batchesListed: 7,
    };

    await Promise.all([startApi(0), startWorker(0)]);
    await setLimit(1000);
  });

  test('when all four processes are restarted one at a time with a batch in flight, then every graph completes once', async () => {
    // One graph per window: the batch outlasts the restarts, until the limit is raised at the end.
    await setLimit(1, 0);
    // 30 slots span two minutes: longer than four restarts take on a loaded machine.
    const graphs = 30;
    const batchId = await submit('rolling', graphs, 1);
    await waitFor('the first graph imaged', async () => (await succeeded(batchId)) >= 1);
    // A client reading the batch all along, through whichever API answers.
    let reading = true;
    let reads = 0;
    let readError: unknown;
    const reader = (async () => {
      while (reading) {
        await succeeded(batchId, reads++ % 2);
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
    })().catch((error: unknown) => (readError = error));
    const failoversBefore = failovers;
    const steps: { process: string; exitCode: number | null; succeededAfter: number }[] = [];
    for (const [kind, place] of [
      ['api', 0],
      ['api', 1],
      ['worker', 0],
      ['worker', 1],
    ] as const) {
      const child = (kind === 'api' ? apis : workers)[place]!;
      child.kill('SIGTERM');
      const exitCode = await exitOf(child);
      await (kind === 'api' ? startApi(place) : startWorker(place));
      steps.push({ process: `${kind}${place + 1}`, exitCode, succeededAfter: await succeeded(batchId) });
    }
    reading = false;
    await reader;
    assert.equal(readError, undefined, 'every read was answered by one API or the other');
    for (const step of steps) assert.equal(step.exitCode, 0, `${step.process} exited 0 on SIGTERM`);
    const afterRestarts = steps.at(-1)!.succeededAfter;
    assert.ok(
      afterRestarts < graphs,
      `graphs still waited for their slots after the restarts: ${JSON.stringify(steps)}`,
    );

    await setLimit(1000);
    const status = await settled(batchId);
    const { perWorker, retried } = await assertEveryGraphOnce(status, 'rolling', graphs);
    // The account's usage counts each graph of the file once, started and finished: 8 + 8 + the bucket
    // event's run + 10 + 30.
    type Totals = { graphs: { succeeded: number }; transforms: number };
    let totals: Totals | undefined;
    await waitFor('usage recorded', async () => {
      totals = ((await call('/v1/account/usage')).body as { totals: Totals }).totals;
      return totals.graphs.succeeded >= 57;
    });
    assert.deepEqual([totals!.graphs.succeeded, totals!.transforms], [57, 57], JSON.stringify(totals));
    figures.rollingRestart = {
      graphs,
      steps,
      reads,
      readsFailedOver: failovers - failoversBefore,
      perWorker,
      imagingRetried: retried,
    };
    figures.usage = { graphsSucceeded: totals!.graphs.succeeded, transforms: totals!.transforms };
  });
});
