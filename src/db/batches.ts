import { and, asc, desc, eq, inArray, isNotNull, like, lt, sql, type SQL } from 'drizzle-orm';
import type { TransformGraph } from '../core/graph/graph.js';
import {
  emptyCounts,
  type BatchGraphsAs,
  type BatchState,
  type StateCounts,
} from '../core/jobs/job-status.js';
import { graphSource, sourceLabel } from '../core/graph/summary.js';
import { graphWorkflowId } from '../core/jobs/workflow-ids.js';
import type { Db } from './database.js';
import { insertGraphRuns } from './graph-runs.js';
import { batchGraphs, batches, graphRuns, type BatchRow } from './schema.js';

export interface NewBatch {
  batchId: string;
  accountId: string;
  graphs: readonly TransformGraph[];
  callbackUrl?: string | undefined;
  /** The batch whose failed graphs this one retries. */
  retryOf?: string | undefined;
  /** How its graphs will run (config `batches.graphsAs`); `children` when absent. */
  graphsAs?: BatchGraphsAs | undefined;
}

/** Graphs per INSERT: a 1000-graph batch is one statement, and a message stays a reasonable size. */
const GRAPH_CHUNK = 1000;

/**
 * Inserts the batch, all its graphs and their read-model rows in one transaction: a batch is stored whole
 * or not at all.
 */
export async function insertBatch(db: Db, batch: NewBatch): Promise<BatchRow> {
  return db.transaction(async (tx) => {
    const [row] = await tx
      .insert(batches)
      .values({
        id: batch.batchId,
        accountId: batch.accountId,
        graphCount: batch.graphs.length,
        callbackUrl: batch.callbackUrl ?? null,
        retryOf: batch.retryOf ?? null,
        graphsAs: batch.graphsAs ?? 'children',
      })
      .returning();
    if (!row) throw new Error(`batch ${batch.batchId} was not inserted`);
    // The graphs go as one JSON array per chunk, unpacked by the database with their positions: cheaper
    // for the API than a statement with a parameter per graph (src/db/graph-runs.ts, insertGraphRuns).
    for (let start = 0; start < batch.graphs.length; start += GRAPH_CHUNK) {
      const chunk = JSON.stringify(batch.graphs.slice(start, start + GRAPH_CHUNK));
      await tx.execute(sql`insert into batch_graphs (batch_id, index, graph)
        select ${batch.batchId}, ${start}::int + (g.position - 1)::int, g.graph
        from jsonb_array_elements(${chunk}::jsonb) with ordinality as g(graph, position)`);
    }
    // The read model's rows, queued: status reads answer from them before the workflow has started.
    await insertGraphRuns(
      tx,
      batch.graphs.map((graph, index) => ({
        workflowId: graphWorkflowId(batch.accountId, batch.batchId, index),
        accountId: batch.accountId,
        trigger: 'api',
        batchId: batch.batchId,
        graphIndex: index,
        source: sourceLabel(graph),
        sourceVersion: graphSource(graph)?.versionId,
      })),
    );
    return row;
  });
}

/** The batch, only when it belongs to the account: another account's batch does not exist for the caller. */
export async function getBatch(db: Db, accountId: string, batchId: string): Promise<BatchRow | undefined> {
  const [row] = await db
    .select()
    .from(batches)
    .where(and(eq(batches.id, batchId), eq(batches.accountId, accountId)))
    .limit(1);
  return row;
}

/** One graph of a batch, scoped to the account (what the activity that runs the graph loads). */
export async function getBatchGraph(
  db: Db,
  accountId: string,
  batchId: string,
  index: number,
): Promise<TransformGraph | undefined> {
  const [row] = await db
    .select({ graph: batchGraphs.graph })
    .from(batchGraphs)
    .innerJoin(batches, eq(batches.id, batchGraphs.batchId))
    .where(
      and(eq(batchGraphs.batchId, batchId), eq(batchGraphs.index, index), eq(batches.accountId, accountId)),
    )
    .limit(1);
  return row?.graph;
}

/** All graphs of a batch in index order, scoped to the account. */
export async function listBatchGraphs(db: Db, accountId: string, batchId: string): Promise<TransformGraph[]> {
  const rows = await db
    .select({ graph: batchGraphs.graph })
    .from(batchGraphs)
    .innerJoin(batches, eq(batches.id, batchGraphs.batchId))
    .where(and(eq(batchGraphs.batchId, batchId), eq(batches.accountId, accountId)))
    .orderBy(asc(batchGraphs.index));
  return rows.map((row) => row.graph);
}

/**
 * Records that the batch's workflow has started (idempotent: the first time is kept); `at` defaults to
 * the database clock.
 */
export async function markBatchStarted(db: Db, batchId: string, at?: Date): Promise<void> {
  await db
    .update(batches)
    .set({ startedAt: sql`coalesce(${batches.startedAt}, ${at?.toISOString() ?? null}::timestamptz, now())` })
    .where(eq(batches.id, batchId));
}

/**
 * A batch row rebuilt from its workflow after the database lost it (`pixelshift reconcile`): the batch
 * itself, without its graphs, whose definitions lived only here. Kept as it is when it exists; true when
 * it was inserted.
 */
export async function insertRecoveredBatch(
  db: Db,
  batch: {
    batchId: string;
    accountId: string;
    graphCount: number;
    callbackUrl?: string | undefined;
    startedAt: Date;
    graphsAs?: BatchGraphsAs | undefined;
  },
): Promise<boolean> {
  const rows = await db
    .insert(batches)
    .values({
      id: batch.batchId,
      accountId: batch.accountId,
      graphCount: batch.graphCount,
      callbackUrl: batch.callbackUrl ?? null,
      createdAt: batch.startedAt,
      startedAt: batch.startedAt,
      graphsAs: batch.graphsAs ?? 'children',
    })
    .onConflictDoNothing({ target: batches.id })
    .returning({ id: batches.id });
  return rows.length > 0;
}

export interface BatchListFilter {
  accountId: string;
  state?: BatchState | undefined;
  /** A whole batch id or its beginning (only the characters of batch ids: no LIKE wildcards get here). */
  idPrefix?: string | undefined;
  /** Keyset: only batches inserted before the batch with this sequence number (newest first). */
  beforeSeq?: number | undefined;
  limit: number;
}

/**
 * An account's started batches, newest first, paged on their insertion sequence (migration 0011): a batch
 * changing state while a client pages moves no row from one page to another. A batch stored but never
 * started does not exist for its client yet, as for GET /v1/batches/{id}.
 */
export async function listBatches(db: Db, filter: BatchListFilter): Promise<BatchRow[]> {
  const conditions: SQL[] = [eq(batches.accountId, filter.accountId), isNotNull(batches.startedAt)];
  if (filter.state) conditions.push(eq(batches.state, filter.state));
  // `_` is a LIKE wildcard and batch ids start with `b_`: escaped, so the prefix is matched literally.
  if (filter.idPrefix) conditions.push(like(batches.id, `${filter.idPrefix.replace(/[\\%_]/g, '\\$&')}%`));
  if (filter.beforeSeq !== undefined) conditions.push(lt(batches.seq, filter.beforeSeq));
  return db
    .select()
    .from(batches)
    .where(and(...conditions))
    .orderBy(desc(batches.seq))
    .limit(filter.limit);
}

/** How many graphs of each batch are in each state, from the read model; one query for a whole page. */
export async function batchCounts(db: Db, batchIds: readonly string[]): Promise<Map<string, StateCounts>> {
  const counts = new Map<string, StateCounts>(batchIds.map((id) => [id, emptyCounts()]));
  if (batchIds.length === 0) return counts;
  const rows = await db
    .select({ batchId: graphRuns.batchId, state: graphRuns.state, count: sql<number>`count(*)::int` })
    .from(graphRuns)
    .where(inArray(graphRuns.batchId, [...batchIds]))
    .groupBy(graphRuns.batchId, graphRuns.state);
  for (const row of rows) {
    const entry = row.batchId === null ? undefined : counts.get(row.batchId);
    if (entry) entry[row.state] = Number(row.count);
  }
  return counts;
}

/**
 * The graphs of a batch that did not write every sink (`failed` and `partial` in the read model), in
 * index order, each with its definition as submitted; `graph` is undefined when the definition is gone
 * (a batch rebuilt by `pixelshift reconcile` has none).
 */
export async function failedBatchGraphs(
  db: Db,
  accountId: string,
  batchId: string,
): Promise<{ index: number; graph: TransformGraph | undefined }[]> {
  const rows = await db
    .select({ index: graphRuns.graphIndex, graph: batchGraphs.graph })
    .from(graphRuns)
    .leftJoin(
      batchGraphs,
      and(eq(batchGraphs.batchId, graphRuns.batchId), eq(batchGraphs.index, graphRuns.graphIndex)),
    )
    .where(
      and(
        eq(graphRuns.batchId, batchId),
        eq(graphRuns.accountId, accountId),
        inArray(graphRuns.state, ['failed', 'partial']),
      ),
    )
    .orderBy(asc(graphRuns.graphIndex));
  return rows.map((row) => ({ index: row.index ?? 0, graph: row.graph ?? undefined }));
}
