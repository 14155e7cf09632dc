/**
 * `pixelshift reconcile`: rebuilds read-model rows from Temporal's records, for recovery after a database
 * restore (docs/architecture.md §7.2, "It converges"). Every write goes through the read model's own
 * idempotent writers (insertGraphRuns, graph_run_advance, batch_finish): a reconcile never moves a state
 * backwards, never counts usage twice for a run already final, and may run any number of times.
 */
import type { Client } from '@temporalio/client';
import { graphSource, sourceLabel } from '../../core/graph/summary.js';
import { finalGraphStates, type GraphState } from '../../core/jobs/job-status.js';
import { graphWorkflowId } from '../../core/jobs/workflow-ids.js';
import { getAccount } from '../../db/accounts.js';
import { getBatch, insertRecoveredBatch, listBatchGraphs, markBatchStarted } from '../../db/batches.js';
import type { Db } from '../../db/database.js';
import {
  advanceGraphRun,
  finishBatch,
  graphRunStates,
  insertGraphRuns,
  type NewGraphRun,
} from '../../db/graph-runs.js';
import { slotsOf } from '../../db/throttle-reservations.js';
import {
  findBatchWorkflow,
  listWorkStartedSince,
  readBatch,
  readBatchHistory,
  readGraph,
  type BatchHistory,
  readGraphInput,
  type BatchRecord,
  type GraphRecord,
  type TriggeredRunRecord,
} from './workflow-records.js';

/** One batch (by id), or every batch and triggered run whose workflow started at or after a time. */
export type ReconcileScope = { batchId: string } | { since: Date };

export interface ReconcileSummary {
  graphRuns: {
    /** Rows that were missing and were recreated. */
    inserted: number;
    /** Existing rows moved forward to what Temporal says. */
    advanced: number;
    /** Existing rows already at (or past) what Temporal says. */
    unchanged: number;
  };
  batches: {
    /** Batch rows that were missing and were recreated (without their graph definitions). */
    restored: number;
    /** Batches whose end was recorded by this run. */
    finished: number;
    /** Batches already recorded as Temporal has them (or still running). */
    unchanged: number;
  };
  /** Work that could not be rebuilt, one sentence each. */
  skipped: string[];
}

/** A scope that names nothing Temporal knows. */
export class ReconcileError extends Error {
  constructor(
    readonly code: 'batch_not_found',
    message: string,
  ) {
    super(message);
  }
}

export interface ReconcileDeps {
  client: Client;
  db: Db;
}

export async function reconcile(deps: ReconcileDeps, scope: ReconcileScope): Promise<ReconcileSummary> {
  const summary: ReconcileSummary = {
    graphRuns: { inserted: 0, advanced: 0, unchanged: 0 },
    batches: { restored: 0, finished: 0, unchanged: 0 },
    skipped: [],
  };
  if ('batchId' in scope) {
    const workflowId = await findBatchWorkflow(deps.client, scope.batchId);
    const batch = workflowId ? await readBatch(deps.client, workflowId) : undefined;
    if (!batch) {
      throw new ReconcileError('batch_not_found', `Temporal has no workflow for batch ${scope.batchId}`);
    }
    await reconcileBatch(deps, batch, summary);
    return summary;
  }
  const work = await listWorkStartedSince(deps.client, scope.since);
  for (const workflowId of work.batches) {
    const batch = await readBatch(deps.client, workflowId);
    if (batch) await reconcileBatch(deps, batch, summary);
  }
  for (const run of work.triggeredRuns) await reconcileTriggeredRun(deps, run, summary);
  return summary;
}

async function reconcileBatch(deps: ReconcileDeps, batch: BatchRecord, summary: ReconcileSummary) {
  const { db, client } = deps;
  const row = await getBatch(db, batch.accountId, batch.batchId);
  let graphCount: number;
  let sources: { source: string; sourceVersion?: string | undefined }[] | undefined;
  // A batch that runs its graphs as activities keeps their records in its own history.
  let history: BatchHistory | undefined;
  if (row) {
    if (row.graphsAs === 'activities') history = await readBatchHistory(client, batch.workflowId);
    graphCount = row.graphCount;
    // The same source labels and versions the submission recorded (insertBatch).
    sources = (await listBatchGraphs(db, batch.accountId, batch.batchId)).map((graph) => ({
      source: sourceLabel(graph),
      sourceVersion: graphSource(graph)?.versionId,
    }));
    await markBatchStarted(db, batch.batchId, batch.startedAt);
  } else {
    if (!(await getAccount(db, batch.accountId))) {
      summary.skipped.push(`batch ${batch.batchId}: its account ${batch.accountId} is not in the database`);
      return;
    }
    // The graph definitions lived only in the database: the batch comes back without them, its graph
    // rows named by the sources its first activity described (their versions are not in the history).
    history = await readBatchHistory(client, batch.workflowId);
    graphCount = history.input.graphCount;
    sources = history.sources?.map((source) => ({ source }));
    const restored = await insertRecoveredBatch(db, {
      batchId: batch.batchId,
      accountId: batch.accountId,
      graphCount,
      callbackUrl: history.input.callbackUrl,
      startedAt: batch.startedAt,
      graphsAs: history.input.graphsAs ?? 'children',
    });
    if (restored) summary.batches.restored += 1;
  }

  if (sources && sources.length === graphCount) {
    const runs = sources.map((source, index): NewGraphRun => ({
      workflowId: graphWorkflowId(batch.accountId, batch.batchId, index),
      accountId: batch.accountId,
      trigger: 'api',
      batchId: batch.batchId,
      graphIndex: index,
      createdAt: batch.startedAt,
      ...source,
    }));
    const before = await graphRunStates(
      db,
      runs.map((run) => run.workflowId),
    );
    summary.graphRuns.inserted += await insertGraphRuns(db, runs);
    for (const [index, run] of runs.entries()) {
      const record = history?.graphs ? history.graphs.get(index) : await readGraph(client, run.workflowId);
      const moved = record
        ? await applyGraphRecord(db, batch.accountId, record, before.get(run.workflowId))
        : false;
      countExisting(summary, before.has(run.workflowId), moved);
    }
  } else {
    summary.skipped.push(
      `batch ${batch.batchId}: its graphs were never described, so their rows cannot be named`,
    );
  }

  // After the graphs: a cancelled batch's end also cancels the graphs it never started.
  if (batch.end && (row?.state ?? 'running') === 'running') {
    await finishBatch(db, batch.batchId, batch.end.state, batch.end.at);
    summary.batches.finished += 1;
  } else if (row) {
    summary.batches.unchanged += 1;
  }
}

async function reconcileTriggeredRun(
  deps: ReconcileDeps,
  run: TriggeredRunRecord,
  summary: ReconcileSummary,
) {
  const { db, client } = deps;
  const before = (await graphRunStates(db, [run.workflowId])).get(run.workflowId);
  if (before === undefined) {
    if (!(await getAccount(db, run.accountId))) {
      summary.skipped.push(`run ${run.workflowId}: its account ${run.accountId} is not in the database`);
      return;
    }
    const { graph } = await readGraphInput(client, run.workflowId);
    if (!graph) {
      summary.skipped.push(`run ${run.workflowId}: its workflow input holds no graph`);
      return;
    }
    summary.graphRuns.inserted += await insertGraphRuns(db, [
      {
        workflowId: run.workflowId,
        accountId: run.accountId,
        trigger: run.trigger,
        triggerId: run.triggerId,
        source: sourceLabel(graph),
        sourceVersion: graphSource(graph)?.versionId,
        createdAt: run.startedAt,
      },
    ]);
  }
  const record = await readGraph(client, run.workflowId);
  const moved = record ? await applyGraphRecord(db, run.accountId, record, before) : false;
  countExisting(summary, before !== undefined, moved);
}

function countExisting(summary: ReconcileSummary, existed: boolean, moved: boolean) {
  if (!existed) return;
  if (moved) summary.graphRuns.advanced += 1;
  else summary.graphRuns.unchanged += 1;
}

/**
 * Moves a row to what Temporal says, through the same steps the live path takes: `running` when the graph
 * started (so the throttle's transform is counted, and `started_at` kept), then the final state. Each
 * step is a no-op on a row already there. True when any step moved the row.
 */
async function applyGraphRecord(
  db: Db,
  accountId: string,
  record: GraphRecord,
  current: GraphState | undefined,
): Promise<boolean> {
  const { workflowId } = record;
  if (record.state === 'throttled') {
    // Re-entering `throttled` would overwrite the slot the live reservation recorded.
    if (current !== undefined && current !== 'queued') return false;
    const slot = (await slotsOf(db, accountId, [workflowId])).get(workflowId);
    return advanceGraphRun(db, workflowId, { state: 'throttled', throttledUntil: slot });
  }
  let moved = false;
  if (record.startedAt && (record.state === 'running' || finalGraphStates.has(record.state))) {
    moved = await advanceGraphRun(db, workflowId, { state: 'running', at: record.startedAt });
  }
  if (finalGraphStates.has(record.state)) {
    const ended = await advanceGraphRun(db, workflowId, {
      state: record.state,
      at: record.finishedAt,
      error: record.error,
      sinks: record.sinks,
      failures: record.failures,
    });
    moved = ended || moved;
  }
  return moved;
}
