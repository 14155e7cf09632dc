/**
 * The read model of graph runs and batches (docs/architecture.md §7, "Read model"): what every status read
 * and listing answers from, so that none of them needs a Temporal worker. Rows are inserted where work is
 * accepted (batch submission, event ingest, inbound hooks) and moved forward by `graph_run_advance`
 * (migration 0008), which ignores any write that would move a state backwards: activity retries and
 * workflow replays may repeat every write.
 */
import { and, asc, desc, eq, gt, gte, inArray, lt, ne, sql, type SQL } from 'drizzle-orm';
import type { ErrorCode } from '../core/errors.js';
import { graphSource, sourceLabel } from '../core/graph/summary.js';
import type { RunTrigger, StartGraphRunInput } from '../core/jobs/orchestrator-ports.js';
import {
  emptyCounts,
  finalGraphStates,
  type BatchState,
  type GraphOutcome,
  type GraphState,
  type SinkFailureOutcome,
  type SinkOutcome,
  type StateCounts,
} from '../core/jobs/job-status.js';
import { batchOfGraphWorkflowId } from '../core/jobs/workflow-ids.js';
import { queryRows, type Db } from './database.js';
import { subjectKey } from './progress-changes.js';
import { announceProgressChange, progressChannel } from './progress-signal.js';
import { graphRuns, usageHourly, type GraphRunRow } from './schema.js';

/** A graph run as accepted, before any state change. */
export interface NewGraphRun {
  workflowId: string;
  accountId: string;
  trigger: RunTrigger | 'api';
  triggerId?: string | undefined;
  batchId?: string | undefined;
  graphIndex?: number | undefined;
  /** `bucket/key` of the source image. */
  source: string;
  sourceVersion?: string | undefined;
  /** When the run was accepted; the database clock when absent (a rebuilt row passes its workflow's start). */
  createdAt?: Date | undefined;
}

/**
 * Runs inserted or read per statement: a 1000-graph batch is one insert. Inserts pass their rows as one
 * JSON parameter, so this bounds the message size, not a count of bind parameters.
 */
const RUNS_PER_STATEMENT = 1000;

/**
 * Inserts the rows of newly accepted runs; a row that exists already is kept as it is (a redelivered
 * event, a retried submission), so this never resets a run that has moved on. Returns how many rows were
 * new. The rows go as one JSON array, unpacked by the database (`jsonb_to_recordset`), in their order
 * (the order `seq` keeps): building a statement with nine parameters per row cost the API more than the
 * database's own work for a 1000-graph batch (docs/performance-log.md, "Accepting a batch").
 */
export async function insertGraphRuns(
  db: Pick<Db, 'execute'>,
  runs: readonly NewGraphRun[],
): Promise<number> {
  let inserted = 0;
  for (let start = 0; start < runs.length; start += RUNS_PER_STATEMENT) {
    const rows = runs.slice(start, start + RUNS_PER_STATEMENT).map((run) => ({
      workflow_id: run.workflowId,
      account_id: run.accountId,
      trigger: run.trigger,
      trigger_id: run.triggerId ?? null,
      batch_id: run.batchId ?? null,
      graph_index: run.graphIndex ?? null,
      source: run.source,
      source_version: run.sourceVersion ?? null,
      created_at: run.createdAt?.toISOString() ?? null,
    }));
    const returned = await queryRows<{ workflow_id: string }>(
      db,
      sql`insert into graph_runs
          (workflow_id, account_id, trigger, trigger_id, batch_id, graph_index, source, source_version, created_at)
        select r.workflow_id, r.account_id, r.trigger, r.trigger_id, r.batch_id, r.graph_index, r.source,
          r.source_version, coalesce(r.created_at, now())
        from rows from (jsonb_to_recordset(${JSON.stringify(rows)}::jsonb) as (
            workflow_id text, account_id text, trigger text, trigger_id text, batch_id text,
            graph_index integer, source text, source_version text, created_at timestamptz)
          ) with ordinality as r(
            workflow_id, account_id, trigger, trigger_id, batch_id, graph_index, source, source_version,
            created_at, position)
        order by r.position
        on conflict (workflow_id) do nothing
        returning workflow_id`,
    );
    inserted += returned.length;
  }
  return inserted;
}

/** The rows of triggered runs about to be started; one statement for any number of them. */
export async function insertTriggeredRuns(db: Db, starts: readonly StartGraphRunInput[]): Promise<void> {
  await insertGraphRuns(
    db,
    starts.map((start) => ({
      workflowId: start.workflowId,
      accountId: start.accountId,
      trigger: start.trigger,
      triggerId: start.triggerId,
      source: sourceLabel(start.graph),
      sourceVersion: graphSource(start.graph)?.versionId,
    })),
  );
}

/** The current state of those of the runs that have a row. */
export async function graphRunStates(
  db: Db,
  workflowIds: readonly string[],
): Promise<Map<string, GraphState>> {
  const states = new Map<string, GraphState>();
  for (let start = 0; start < workflowIds.length; start += RUNS_PER_STATEMENT) {
    const rows = await db
      .select({ workflowId: graphRuns.workflowId, state: graphRuns.state })
      .from(graphRuns)
      .where(inArray(graphRuns.workflowId, workflowIds.slice(start, start + RUNS_PER_STATEMENT)));
    for (const row of rows) states.set(row.workflowId, row.state);
  }
  return states;
}

/** A state change of one run; the outcome fields matter only for final states. */
export interface GraphRunAdvance {
  state: GraphState;
  /** When it happened; the database clock when absent. */
  at?: Date | undefined;
  throttledUntil?: Date | undefined;
  error?: { code: string; message: string } | undefined;
  sinks?: readonly SinkOutcome[] | undefined;
  failures?: readonly SinkFailureOutcome[] | undefined;
  /** Pixels of the source read (all frames of an animation), for the usage counters. */
  sourcePixels?: number | undefined;
}

/**
 * Moves a run forward; false when the write changed nothing (the run is already at or past that state, or
 * has no row). One round trip: the usage counters move in the same call, and so does the notice naming
 * the stream a triggered run's end ends (progress-signal.ts; a batch graph's end ends no stream).
 */
export async function advanceGraphRun(db: Db, workflowId: string, change: GraphRunAdvance): Promise<boolean> {
  const ended =
    finalGraphStates.has(change.state) && batchOfGraphWorkflowId(workflowId) === undefined
      ? subjectKey({ kind: 'run', id: workflowId })
      : undefined;
  const [row] = await queryRows<{ moved: boolean }>(
    db,
    sql`select graph_run_advance(
      ${workflowId}, ${change.state}, ${change.at?.toISOString() ?? null}::timestamptz,
      ${change.throttledUntil?.toISOString() ?? null}::timestamptz,
      ${change.error?.code ?? null}, ${change.error?.message ?? null},
      ${change.sinks ? JSON.stringify(change.sinks) : null}::jsonb,
      ${change.failures ? JSON.stringify(change.failures) : null}::jsonb,
      ${change.sourcePixels === undefined ? null : Math.round(change.sourcePixels)}::int8) as moved${
        ended === undefined ? sql`` : sql`, pg_notify(${progressChannel}, ${ended})`
      }`,
  );
  if (row?.moved !== true) return false;
  announceProgressChange(db, ended);
  return true;
}

/** Records how a batch ended; if it was cancelled, its graphs that never started end as cancelled. */
export async function finishBatch(db: Db, batchId: string, state: BatchState, at?: Date): Promise<void> {
  // The notice names the batch's stream, which its end ends (progress-signal.ts); sent on commit.
  const ended = subjectKey({ kind: 'batch', id: batchId });
  await db.execute(
    sql`select batch_finish(${batchId}, ${state}, ${at?.toISOString() ?? null}::timestamptz),
      pg_notify(${progressChannel}, ${ended})`,
  );
  announceProgressChange(db, ended);
}

export function graphOutcomeOf(row: GraphRunRow): GraphOutcome {
  return {
    index: row.graphIndex ?? 0,
    workflowId: row.workflowId,
    state: row.state,
    sinks: row.sinks,
    failures: row.failures,
    ...(row.errorCode
      ? {
          error: {
            code: row.errorCode as ErrorCode | 'cancelled' | 'internal',
            message: row.errorMessage ?? '',
          },
        }
      : {}),
    ...(row.startedAt ? { startedAt: row.startedAt.toISOString() } : {}),
    ...(row.finishedAt ? { finishedAt: row.finishedAt.toISOString() } : {}),
    ...(row.state === 'throttled' && row.throttledUntil
      ? { throttledUntil: row.throttledUntil.toISOString() }
      : {}),
  };
}

/** How many graphs of a batch are in each state, and the latest slot a throttled one waits for. */
export async function batchProgress(
  db: Db,
  batchId: string,
): Promise<{ counts: StateCounts; lastThrottledUntil: Date | undefined }> {
  const rows = await db
    .select({
      state: graphRuns.state,
      count: sql<number>`count(*)::int`,
      lastSlot: sql<string | null>`max(${graphRuns.throttledUntil})`,
    })
    .from(graphRuns)
    .where(eq(graphRuns.batchId, batchId))
    .groupBy(graphRuns.state);
  const counts = emptyCounts();
  let lastThrottledUntil: Date | undefined;
  for (const row of rows) {
    counts[row.state] = Number(row.count);
    if (row.state === 'throttled' && row.lastSlot) lastThrottledUntil = new Date(row.lastSlot);
  }
  return { counts, lastThrottledUntil };
}

/** One page of a batch's graphs in index order, after the index `afterIndex` (keyset). */
export async function listBatchGraphRuns(
  db: Db,
  batchId: string,
  page: { state?: GraphState | undefined; afterIndex?: number | undefined; limit: number },
): Promise<GraphRunRow[]> {
  const conditions: SQL[] = [eq(graphRuns.batchId, batchId)];
  if (page.state) conditions.push(eq(graphRuns.state, page.state));
  if (page.afterIndex !== undefined) conditions.push(gt(graphRuns.graphIndex, page.afterIndex));
  return db
    .select()
    .from(graphRuns)
    .where(and(...conditions))
    .orderBy(asc(graphRuns.graphIndex))
    .limit(page.limit);
}

export async function getBatchGraphRun(
  db: Db,
  batchId: string,
  index: number,
): Promise<GraphRunRow | undefined> {
  const [row] = await db
    .select()
    .from(graphRuns)
    .where(and(eq(graphRuns.batchId, batchId), eq(graphRuns.graphIndex, index)))
    .limit(1);
  return row;
}

/** A run of the account; another account's run is reported like a missing one. */
export async function getGraphRun(
  db: Db,
  accountId: string,
  workflowId: string,
): Promise<GraphRunRow | undefined> {
  const [row] = await db
    .select()
    .from(graphRuns)
    .where(and(eq(graphRuns.workflowId, workflowId), eq(graphRuns.accountId, accountId)))
    .limit(1);
  return row;
}

export interface TriggeredRunFilter {
  accountId: string;
  /** Both kinds of triggered runs when absent (never batch graphs). */
  trigger?: RunTrigger | undefined;
  triggerId?: string | undefined;
  state?: GraphState | undefined;
  /** Bounds on when the run was accepted. */
  since?: Date | undefined;
  until?: Date | undefined;
  /** Keyset: only runs accepted before the run with this sequence number (newest first). */
  beforeSeq?: number | undefined;
  limit: number;
}

/**
 * Triggered runs, newest first, paged on their insertion sequence: a run changing state while a client
 * pages moves no row from one page to another, so each run is listed exactly once.
 */
export async function listTriggeredRuns(db: Db, filter: TriggeredRunFilter): Promise<GraphRunRow[]> {
  const conditions: SQL[] = [
    eq(graphRuns.accountId, filter.accountId),
    filter.trigger ? eq(graphRuns.trigger, filter.trigger) : ne(graphRuns.trigger, 'api'),
  ];
  if (filter.triggerId) conditions.push(eq(graphRuns.triggerId, filter.triggerId));
  if (filter.state) conditions.push(eq(graphRuns.state, filter.state));
  if (filter.since) conditions.push(gte(graphRuns.createdAt, filter.since));
  if (filter.until) conditions.push(lt(graphRuns.createdAt, filter.until));
  if (filter.beforeSeq !== undefined) conditions.push(lt(graphRuns.seq, filter.beforeSeq));
  return db
    .select()
    .from(graphRuns)
    .where(and(...conditions))
    .orderBy(desc(graphRuns.seq))
    .limit(filter.limit);
}

export interface UsageRow {
  /** Start of the hour or day. */
  start: Date;
  graphs: { succeeded: number; partial: number; failed: number; cancelled: number };
  transforms: number;
  megapixelsRead: number;
  bytesWritten: number;
}

/**
 * Usage of an account per UTC hour or day, for the hours in [from, to) (bounds on whole hours, or on whole
 * days for `day`, so that no bucket is cut). Only buckets with a stored hour are returned.
 */
export async function usageOf(
  db: Db,
  accountId: string,
  range: { from: Date; to: Date; granularity: 'hour' | 'day' },
): Promise<UsageRow[]> {
  // Inlined, not a parameter: GROUP BY must see the same expression as the select list.
  const unit = range.granularity === 'day' ? sql.raw(`'day'`) : sql.raw(`'hour'`);
  const bucket = sql`date_trunc(${unit}, ${usageHourly.hour}, 'UTC')`;
  const rows = await db
    .select({
      start: sql<string>`${bucket}`,
      // Sums kept as int8, never cut to int4 (node-pg hands int8 over as text).
      succeeded: sql<string>`sum(${usageHourly.succeeded})::int8`,
      partial: sql<string>`sum(${usageHourly.partial})::int8`,
      failed: sql<string>`sum(${usageHourly.failed})::int8`,
      cancelled: sql<string>`sum(${usageHourly.cancelled})::int8`,
      transforms: sql<string>`sum(${usageHourly.transforms})::int8`,
      megapixelsRead: sql<number>`sum(${usageHourly.megapixelsRead})::float8`,
      bytesWritten: sql<string>`sum(${usageHourly.bytesWritten})::int8`,
    })
    .from(usageHourly)
    .where(
      and(
        eq(usageHourly.accountId, accountId),
        gte(usageHourly.hour, range.from),
        lt(usageHourly.hour, range.to),
      ),
    )
    .groupBy(bucket)
    .orderBy(bucket);
  return rows.map((row) => ({
    start: new Date(row.start),
    graphs: {
      succeeded: Number(row.succeeded),
      partial: Number(row.partial),
      failed: Number(row.failed),
      cancelled: Number(row.cancelled),
    },
    transforms: Number(row.transforms),
    megapixelsRead: Number(row.megapixelsRead),
    bytesWritten: Number(row.bytesWritten),
  }));
}

/** What the activities record through: the read model over one database. */
export interface GraphRunRecorder {
  advance(workflowId: string, change: GraphRunAdvance): Promise<boolean>;
  finishBatch(batchId: string, state: BatchState): Promise<void>;
}

export function databaseRunRecorder(db: Db): GraphRunRecorder {
  return {
    advance: (workflowId, change) => advanceGraphRun(db, workflowId, change),
    finishBatch: (batchId, state) => finishBatch(db, batchId, state),
  };
}
