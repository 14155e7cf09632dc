/**
 * The read path under load (issue 11, docs/architecture.md §7.2), measured in one run on this machine, on
 * the production shape: the API in this process, one worker in its own process (2 imaging slots),
 * PostgreSQL, a Temporal dev server with fairness on, moto; the throttle off.
 * - Reads: p50/p99 and non-2xx of `GET /v1/batches/{id}` (account B's batch) and of a `GET /v1/runs` page
 *   (account A's, 50 runs), each from one client reading back to back: once with A's flood stored but no
 *   worker running (idle), once while the worker processes it.
 * - Fairness: account B's one-graph batch, submit → done (the batch's own createdAt and finishedAt), alone
 *   and during A's flood, side by side in the same run; and how many of A's graphs finished while B
 *   waited, also in rounds of the imaging slots (docs/architecture.md §7.1 states a bound of 12).
 * A's flood is BENCH_FLOOD (1000) bucket-event runs of a tiny image, started as the event ingest starts
 * them (test/support/flood.ts), so the flood is all orchestration and the reads compete with it.
 */
import type { ChildProcess } from 'node:child_process';
import os from 'node:os';
import { and, eq, gt, lte, sql } from 'drizzle-orm';
import { startPostgres } from '../scripts/postgres.js';
import { graphRuns } from '../src/db/schema.js';
import { startMoto } from '../src/tools/moto.js';
import { startTemporalDevServer } from '../src/tools/temporal-cli.js';
import type { BatchStatus } from '../src/core/jobs/job-status.js';
import { startTriggeredRuns, tinyGraph, uploadTinyImage } from '../test/support/flood.js';
import { freshPostgresDatabase } from '../test/support/postgres.js';
import { readBatch, startStack, type Stack } from '../test/support/stack.js';
import { startWorkerProcess } from '../test/support/worker-process.js';
import { describeMachine, percentile, printTable, round1, writeResult } from './lib.js';

const floodSize = Number(process.env.BENCH_FLOOD ?? 1000);
/** B's one-graph batches alone, then as many during the flood. */
const bRuns = Number(process.env.BENCH_B_RUNS ?? 3);
/** Samples of each read, at least, in each condition. */
const readSamples = Number(process.env.BENCH_READS ?? 300);
const imagingSlots = 2;
/** A read with no answer after this long counts as a failure (a hang), not as a latency. */
const hangAfterMs = 10_000;
/** A's graphs finished before B submits: A's backlog is then queued on the imaging queue. */
const floodUnderwayAfter = 4 * imagingSlots;

const began = performance.now();
/** Progress on stderr: the bench takes minutes on a busy machine. */
function progress(line: string): void {
  process.stderr.write(`[${Math.round((performance.now() - began) / 1000)} s] ${line}\n`);
}

type Caller = Pick<Stack, 'api'> & { token(): Promise<string> };

interface ReadFigures {
  samples: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  non2xx: number;
  statuses: Record<string, number>;
}

/** One client reading `pathname` back to back until `enough()`; latency as the client sees it. */
async function readContinually(
  caller: Caller,
  pathname: () => string,
  enough: () => boolean,
): Promise<ReadFigures> {
  const token = await caller.token();
  const ms: number[] = [];
  const statuses: Record<string, number> = {};
  while (!enough() || ms.length < readSamples) {
    const began = performance.now();
    const status = await caller
      .api(pathname(), { token, signal: AbortSignal.timeout(hangAfterMs) })
      .then((answer) => String(answer.status))
      .catch((error: unknown) =>
        error instanceof DOMException && error.name === 'TimeoutError' ? 'hung' : 'network error',
      );
    ms.push(performance.now() - began);
    statuses[status] = (statuses[status] ?? 0) + 1;
  }
  return {
    samples: ms.length,
    p50Ms: round1(percentile(ms, 50)),
    p99Ms: round1(percentile(ms, 99)),
    maxMs: round1(Math.max(...ms)),
    non2xx: Object.entries(statuses)
      .filter(([status]) => !status.startsWith('2'))
      .reduce((sum, [, count]) => sum + count, 0),
    statuses,
  };
}

export async function run(): Promise<void> {
  const loadBefore = os.loadavg();
  // The services are the bench's own, stopped when it ends (the test helpers would keep them to the exit).
  const moto = await startMoto();
  const temporal = await startTemporalDevServer({ headless: true });
  const postgres = await startPostgres();
  process.env.PIXELSHIFT_TEST_S3_ENDPOINT = moto.endpoint;
  process.env.PIXELSHIFT_TEST_TEMPORAL_ADDRESS = temporal.address;
  process.env.PIXELSHIFT_TEST_DATABASE_URL = postgres.url;
  const database = await freshPostgresDatabase();
  const stack = await startStack({
    databaseUrl: database.url,
    inProcessWorkers: false,
    env: { PIXELSHIFT_THROTTLE: 'off', PIXELSHIFT_IMAGING_SLOTS: String(imagingSlots) },
  });
  let worker: ChildProcess | undefined;
  try {
    const source = { bucket: stack.buckets.input, key: 'flood/tiny.png' };
    await uploadTinyImage(stack.s3, source.bucket, source.key);
    const a: Caller = stack;
    const b: Caller = await stack.addAccount('bench-b');

    /** B's batch the status reads read: the latest one submitted. */
    let latestBBatch = '';
    /** B's one-graph batch, submitted and read until done; its figures from the read model's own stamps. */
    async function bBatch(label: string) {
      const token = await b.token();
      const graphs = [tinyGraph(source, stack.buckets.output, `b/${label}.png`)];
      const submitted = await b.api('/v1/batches', {
        method: 'POST',
        token,
        body: JSON.stringify({ graphs }),
      });
      if (submitted.status !== 201) throw new Error(`B's batch refused: ${JSON.stringify(submitted.body)}`);
      const { batchId } = submitted.body as { batchId: string };
      latestBBatch = batchId;
      const deadline = Date.now() + 600_000;
      for (;;) {
        const status = await b.api(`/v1/batches/${batchId}`, { token });
        if (status.status === 200 && (status.body as BatchStatus).state !== 'running') break;
        if (Date.now() > deadline) throw new Error(`B's batch ${batchId} still running`);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      const batch = await readBatch((pathname) => b.api(pathname, { token }), batchId);
      if (batch.state !== 'succeeded') throw new Error(`B's batch ${batchId} ended ${batch.state}`);
      const submittedAt = new Date(batch.createdAt);
      const graphDone = new Date(batch.graphs[0]!.finishedAt!);
      const [row] = await stack.database.db
        .select({ count: sql<number>`count(*)::int` })
        .from(graphRuns)
        .where(
          and(
            eq(graphRuns.accountId, stack.account.accountId),
            gt(graphRuns.finishedAt, submittedAt),
            lte(graphRuns.finishedAt, graphDone),
          ),
        );
      const aFinished = Number(row?.count ?? 0);
      return {
        completionMs: new Date(batch.finishedAt!).getTime() - submittedAt.getTime(),
        aFinishedWhileBWaited: aFinished,
        imagingRounds: round1(aFinished / imagingSlots),
      };
    }
    // ---- B alone: an idle worker.
    progress('stack up');
    worker = await startWorkerProcess(stack.workerEnv);
    progress('worker polling; B alone');
    await bBatch('warm-up');
    const alone = [];
    for (let i = 0; i < bRuns; i++) alone.push(await bBatch(`alone-${i}`));

    // ---- A's flood, stored and started with no worker polling: the reads on idle workers.
    progress("worker stopping; A's flood starting");
    worker.kill('SIGTERM');
    await new Promise((resolve) => worker!.once('exit', resolve));
    const starts = Array.from({ length: floodSize }, (_, i) => ({
      accountId: stack.account.accountId,
      workflowId: `bench/${stack.account.accountId}/${i}`,
      trigger: 's3' as const,
      triggerId: 'rule_bench',
      graph: tinyGraph(source, stack.buckets.output, `a/${i}.png`),
    }));
    const floodStartBegan = performance.now();
    await startTriggeredRuns({ db: stack.database.db, orchestrator: stack.orchestrator }, starts);
    const floodStartSeconds = (performance.now() - floodStartBegan) / 1000;
    progress(`flood of ${floodSize} started in ${round1(floodStartSeconds)} s; reads on idle workers`);
    const idleReads = await Promise.all([
      readContinually(
        b,
        () => `/v1/batches/${latestBBatch}`,
        () => true,
      ),
      readContinually(
        a,
        () => '/v1/runs?pageSize=50',
        () => true,
      ),
    ]);

    // ---- The worker takes the flood on; once it is underway, B submits, one batch after another.
    worker = await startWorkerProcess(stack.workerEnv);
    progress('worker polling again; the flood is being processed');
    const aDone = async () => {
      const [row] = await stack.database.db
        .select({ count: sql<number>`count(*)::int` })
        .from(graphRuns)
        .where(and(eq(graphRuns.accountId, stack.account.accountId), sql`${graphRuns.stateRank} = 3`));
      return Number(row?.count ?? 0);
    };
    while ((await aDone()) < floodUnderwayAfter) await new Promise((resolve) => setTimeout(resolve, 200));
    const aDoneAtStart = await aDone();
    progress(`${aDoneAtStart} of A's graphs done; B submits during the flood, reads go on`);
    let bFinished = false;
    const floodReadsRunning = Promise.all([
      readContinually(
        b,
        () => `/v1/batches/${latestBBatch}`,
        () => bFinished,
      ),
      readContinually(
        a,
        () => '/v1/runs?pageSize=50',
        () => bFinished,
      ),
    ]);
    const during = [];
    for (let i = 0; i < bRuns; i++) during.push(await bBatch(`flood-${i}`));
    bFinished = true;
    const floodReads = await floodReadsRunning;
    const aDoneAtEnd = await aDone();

    const median = (values: number[]) => round1(percentile(values, 50));
    const result = {
      reads: {
        idle: { batchStatus: idleReads[0], runsPage: idleReads[1] },
        flood: { batchStatus: floodReads[0], runsPage: floodReads[1] },
      },
      b: {
        aloneMedianMs: median(alone.map((run) => run.completionMs)),
        floodMedianMs: median(during.map((run) => run.completionMs)),
        alone,
        flood: during,
        boundInImagingRounds: 12,
      },
      flood: {
        runs: floodSize,
        startSeconds: round1(floodStartSeconds),
        finishedWhileMeasuring: aDoneAtEnd - aDoneAtStart,
        stillQueuedAtEnd: floodSize - aDoneAtEnd,
      },
      imagingSlots,
      loadAverage: { before: loadBefore.map(round1), after: os.loadavg().map(round1) },
      machine: describeMachine(),
    };
    const file = await writeResult('readpath', result);
    const reads = (figures: ReadFigures) =>
      `${figures.p50Ms} / ${figures.p99Ms} (max ${figures.maxMs}), ${figures.non2xx} non-2xx of ${figures.samples}`;
    const rounds = (runs: { imagingRounds: number; aFinishedWhileBWaited: number }[]) =>
      runs.map((run) => `${run.imagingRounds} (${run.aFinishedWhileBWaited})`).join(', ');
    printTable([
      ['measure', 'idle / alone', `during A's flood of ${floodSize} runs`],
      [
        'GET /v1/batches/{id}: p50 / p99 ms',
        reads(result.reads.idle.batchStatus),
        reads(result.reads.flood.batchStatus),
      ],
      [
        'GET /v1/runs?pageSize=50: p50 / p99 ms',
        reads(result.reads.idle.runsPage),
        reads(result.reads.flood.runsPage),
      ],
      ["B's one-graph batch, submit → done, median ms", result.b.aloneMedianMs, result.b.floodMedianMs],
      ["  each run's imaging-slot rounds (A's graphs) B waited", rounds(alone), rounds(during)],
    ]);
    console.log(
      `\nflood: ${result.flood.finishedWhileMeasuring} of A's graphs finished while measuring, ` +
        `${result.flood.stillQueuedAtEnd} still to do; load average ${result.loadAverage.before.join(' ')} → ` +
        `${result.loadAverage.after.join(' ')} on ${result.machine.cpuCount} CPUs`,
    );
    console.log(`written to ${file}`);
  } finally {
    worker?.kill('SIGKILL');
    await stack.close();
    await database.drop();
    await postgres.stop();
    await temporal.stop();
    await moto.stop();
  }
}
