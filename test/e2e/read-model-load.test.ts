/**
 * The read model under load (docs/architecture.md §7.2), on the production shape: the API in this process,
 * one worker in its own process (two imaging slots), PostgreSQL, the throttle off. The account floods
 * the imaging queue with a 100-graph batch and 1000 bucket-event runs of a tiny image (started as the
 * event ingest starts them, test/support/flood.ts); while the flood is being processed:
 * - status reads, a batch's graph pages and run pages answer 200 every time, none hanging;
 * - paging `GET /v1/runs` and `GET /v1/events/s3/runs` from start to end, with runs changing state and
 *   new ones arriving, lists every run that existed when the pass began exactly once.
 *
 * No timing is asserted: a request "hangs" when it has no answer after 10 s, a bound far above any
 * answer and only there so that a hang is counted instead of stalling the test.
 */
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { after, before, describe, test } from 'node:test';
import { eq, sql } from 'drizzle-orm';
import { graphRuns } from '../../src/db/schema.js';
import type { GraphState } from '../../src/core/jobs/job-status.js';
import {
  startTriggeredRuns,
  terminateAccountWorkflows,
  tinyGraph,
  uploadTinyImage,
} from '../support/flood.js';
import { freshPostgresDatabase } from '../support/postgres.js';
import { startWorkerProcess } from '../support/worker-process.js';
import { startStack, type Stack } from '../support/stack.js';

const floodRuns = 1000;
const batchGraphs = 100;
/** Runs started while the paging passes go on: their rows arrive between pages. */
const lateRuns = 100;
const hangAfterMs = 10_000;
const finalStates: readonly GraphState[] = ['succeeded', 'partial', 'failed', 'cancelled', 'superseded'];

interface Answer {
  status: number | 'hung' | 'network error';
  body: unknown;
}

describe('read model under load: reads while the workers are saturated', () => {
  let stack: Stack;
  let database: Awaited<ReturnType<typeof freshPostgresDatabase>>;
  let worker: ChildProcess | undefined;
  let token: string;
  let batchId: string;
  const source = { bucket: '', key: 'flood/tiny.png' };
  /** Every run started, in order. */
  const started: string[] = [];

  before(async () => {
    database = await freshPostgresDatabase();
    stack = await startStack({
      databaseUrl: database.url,
      inProcessWorkers: false,
      // The throttle would space the flood out; this is about a full imaging queue.
      env: { PIXELSHIFT_THROTTLE: 'off' },
    });
    token = await stack.token();
    source.bucket = stack.buckets.input;
    await uploadTinyImage(stack.s3, source.bucket, source.key);
    const graphs = Array.from({ length: batchGraphs }, (_, i) =>
      tinyGraph(source, stack.buckets.output, `batch/${i}.png`),
    );
    const batch = await stack.api('/v1/batches', { method: 'POST', token, body: JSON.stringify({ graphs }) });
    assert.equal(batch.status, 201, JSON.stringify(batch.body));
    batchId = (batch.body as { batchId: string }).batchId;
    // The worker boots while the runs start.
    [worker] = await Promise.all([startWorkerProcess(stack.workerEnv), startRuns(floodRuns)]);
  });
  after(async () => {
    worker?.kill('SIGKILL');
    if (stack) await terminateAccountWorkflows(stack.temporal.client, stack.account.accountId);
    await stack?.close();
    await database?.drop();
  });

  /** Starts `count` more bucket-event runs of the tiny image, as the ingest starts them. */
  async function startRuns(count: number): Promise<void> {
    const first = started.length;
    const starts = Array.from({ length: count }, (_, i) => ({
      accountId: stack.account.accountId,
      workflowId: `load/${stack.account.accountId}/${first + i}`,
      trigger: 's3' as const,
      triggerId: 'rule_flood',
      graph: tinyGraph(source, stack.buckets.output, `runs/${first + i}.png`),
    }));
    started.push(
      ...(await startTriggeredRuns({ db: stack.database.db, orchestrator: stack.orchestrator }, starts)),
    );
  }

  /** Every answer `get` had, in order. */
  const answers: Answer[] = [];

  /** A GET as a client makes it, with a timeout that only a hang reaches. */
  async function get(pathname: string): Promise<Answer> {
    let answer: Answer;
    try {
      answer = await stack.api(pathname, { token, signal: AbortSignal.timeout(hangAfterMs) });
    } catch (error) {
      const hung = error instanceof DOMException && error.name === 'TimeoutError';
      answer = { status: hung ? 'hung' : 'network error', body: `${pathname}: ${String(error)}` };
    }
    answers.push(answer);
    return answer;
  }

  /** How many of the account's graphs are in each state, read straight from the table. */
  async function stateCounts(): Promise<Partial<Record<GraphState, number>>> {
    const rows = await stack.database.db
      .select({ state: graphRuns.state, count: sql<number>`count(*)::int` })
      .from(graphRuns)
      .where(eq(graphRuns.accountId, stack.account.accountId))
      .groupBy(graphRuns.state);
    return Object.fromEntries(rows.map((row) => [row.state, Number(row.count)]));
  }

  const finishedIn = (counts: Partial<Record<GraphState, number>>) =>
    finalStates.reduce((sum, state) => sum + (counts[state] ?? 0), 0);

  /** Every page of a listing, from the first to the last, and every answer that was not a 200. */
  async function pageThrough(
    firstPage: string,
    listOf: (body: unknown) => { ids: string[]; next: string | undefined },
    betweenPages: (page: number) => Promise<void> = () => Promise.resolve(),
  ): Promise<{ ids: string[]; pages: number; bad: Answer[] }> {
    const ids: string[] = [];
    const bad: Answer[] = [];
    let next: string | undefined;
    let pages = 0;
    do {
      const separator = firstPage.includes('?') ? '&' : '?';
      const answer = await get(next ? `${firstPage}${separator}pageToken=${next}` : firstPage);
      if (answer.status !== 200) {
        bad.push(answer);
        break;
      }
      const page = listOf(answer.body);
      ids.push(...page.ids);
      next = page.next;
      pages += 1;
      await betweenPages(pages);
    } while (next);
    return { ids, pages, bad };
  }

  const runsPage = (body: unknown) => {
    const page = body as { runs: { workflowId: string; state: GraphState }[]; nextPageToken?: string };
    return { ids: page.runs.map((run) => run.workflowId), next: page.nextPageToken, runs: page.runs };
  };
  const graphsPage = (body: unknown) => {
    const page = body as { graphs: { workflowId: string }[]; nextPageToken?: string };
    return { ids: page.graphs.map((graph) => graph.workflowId), next: page.nextPageToken };
  };

  test('when the worker is saturated by the flood, then batch status, the batch graph pages and run pages all answer 200 and none hangs', async (t) => {
    const before = await stateCounts();
    const firstAnswer = answers.length;
    // Three clients at once, each reading the same way again and again: 160 requests each.
    const rounds = 40;
    await Promise.all([
      (async () => {
        for (let i = 0; i < rounds * 4; i++) await get(`/v1/batches/${batchId}`);
      })(),
      (async () => {
        for (let i = 0; i < rounds; i++)
          await pageThrough(`/v1/batches/${batchId}/graphs?pageSize=25`, graphsPage);
      })(),
      (async () => {
        for (let i = 0; i < rounds * 4; i++) await get('/v1/runs?pageSize=50');
      })(),
    ]);
    const afterwards = await stateCounts();
    const reads = answers.slice(firstAnswer);
    t.diagnostic(JSON.stringify({ reads: reads.length, before, after: afterwards }));

    const failures = reads.filter((answer) => answer.status !== 200);
    assert.deepEqual(failures, [], `${failures.length} of ${reads.length} reads failed`);
    // The worker kept finishing graphs and never ran out of work: it was saturated throughout.
    assert.ok(finishedIn(afterwards) > finishedIn(before), 'graphs finished while the reads went on');
    assert.ok((afterwards.queued ?? 0) > 0, 'a backlog was still queued when the reads ended');
  });

  test(`when ${floodRuns} runs change state and more start while a client pages through the runs, then each pass lists every run that existed when it began exactly once`, async (t) => {
    const listings = [
      '/v1/runs?pageSize=25',
      '/v1/events/s3/runs?pageSize=25',
      '/v1/runs?pageSize=25',
      '/v1/events/s3/runs?pageSize=25',
    ];
    let late = lateRuns;
    const lastState = new Map<string, GraphState>();
    let runsThatMoved = 0;
    let nonFinalSeen = 0;
    for (const [pass, listing] of listings.entries()) {
      const existing = new Set(started);
      const seenInPass = new Map<string, number>();
      const states: { workflowId: string; state: GraphState }[] = [];
      // On the first two passes, ten more runs start every eight pages: rows inserted while paging.
      const { ids, bad } = await pageThrough(
        listing,
        (body) => {
          const page = runsPage(body);
          states.push(...page.runs);
          return page;
        },
        async (page) => {
          if (pass < 2 && page % 8 === 0 && late > 0) {
            late -= 10;
            await startRuns(10);
          }
        },
      );
      assert.deepEqual(bad, [], `pass ${pass} on ${listing}`);
      for (const id of ids) seenInPass.set(id, (seenInPass.get(id) ?? 0) + 1);
      const duplicates = [...seenInPass].filter(([, count]) => count > 1).map(([id]) => id);
      const missing = [...existing].filter((id) => !seenInPass.has(id));
      const known = new Set(started);
      const unknown = ids.filter((id) => !known.has(id));
      assert.deepEqual(
        { duplicates, missing, unknown },
        { duplicates: [], missing: [], unknown: [] },
        `pass ${pass} on ${listing}: ${ids.length} listed, ${existing.size} existed when it began`,
      );
      for (const { workflowId, state } of states) {
        const previous = lastState.get(workflowId);
        if (previous !== undefined && previous !== state) runsThatMoved += 1;
        if (!finalStates.includes(state)) nonFinalSeen += 1;
        lastState.set(workflowId, state);
      }
    }
    t.diagnostic(JSON.stringify({ runsThatMoved, nonFinalSeen, started: started.length }));
    assert.equal(started.length, floodRuns + lateRuns, 'the late runs started during the passes');
    // The passes proved something only if the runs really changed state under them.
    assert.ok(runsThatMoved > 0, 'some runs changed state between passes');
    assert.ok(nonFinalSeen > 0, 'the passes saw runs not yet finished');
  });
});
