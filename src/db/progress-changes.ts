/**
 * The change log the live progress streams read (migration 0009, docs/architecture.md §7.3): every state
 * change of a graph run, numbered within its run and within its batch, and every batch's end. The numbers
 * become visible in order (each is taken under a row lock held to commit), so "the changes after n" is
 * exact: a stream resumed after n misses none and repeats none.
 */
import { sql } from 'drizzle-orm';
import { finalGraphStates, type BatchState, type GraphState } from '../core/jobs/job-status.js';
import { queryRows, type Db } from './database.js';

/** What a stream follows: a batch (its graphs' changes, then its end) or one run. */
export type ProgressSubject = { kind: 'batch'; id: string } | { kind: 'run'; id: string };

export interface ProgressChange {
  /** Its number in the subject's stream (1, 2, …): `batch_change` for a batch, `run_version` for a run. */
  position: number;
  /** The run that changed; absent on a batch's end. */
  workflowId?: string | undefined;
  graphIndex?: number | undefined;
  fromState: GraphState | BatchState;
  state: GraphState | BatchState;
  at: Date;
  throttledUntil?: Date | undefined;
  /** The error of a run that ended failed or cancelled. */
  error?: { code: string; message: string } | undefined;
}

/** Where a stream of a subject starts: how far it has got, and whether it has ended. */
export interface ProgressHead {
  /** The number of the subject's latest change (0 before its first). */
  position: number;
  final: boolean;
}

const finalStates = `(${[...finalGraphStates].map((state) => `'${state}'`).join(', ')})`;

/** The head of a batch of the account, or undefined (also for another account's batch). */
export async function batchProgressHead(
  db: Db,
  accountId: string,
  batchId: string,
): Promise<ProgressHead | undefined> {
  const [row] = await queryRows<{ position: number; final: boolean }>(
    db,
    sql`select change_count as position, state <> 'running' as final
      from batches where id = ${batchId} and account_id = ${accountId} and started_at is not null`,
  );
  return row && { position: Number(row.position), final: row.final };
}

/**
 * The head of a triggered run of the account, or undefined (also for another account's run, and for a
 * batch's graph, which is followed through its batch).
 */
export async function triggeredRunProgressHead(
  db: Db,
  accountId: string,
  workflowId: string,
): Promise<ProgressHead | undefined> {
  const [row] = await queryRows<{ position: number; final: boolean }>(
    db,
    sql`select version as position, state_rank = 3 as final
      from graph_runs
      where workflow_id = ${workflowId} and account_id = ${accountId} and trigger <> 'api'`,
  );
  return row && { position: Number(row.position), final: row.final };
}

/**
 * How many of a batch's graphs were in each state just after its change `position`: where the counts of
 * a stream resumed at that change start from.
 */
export async function batchCountsAt(
  db: Db,
  batchId: string,
  position: number,
): Promise<Partial<Record<GraphState, number>>> {
  const rows = await queryRows<{ state: GraphState; count: number }>(
    db,
    sql`select coalesce(latest.state, 'queued') as state, count(*)::int as count
      from graph_runs r
      left join lateral (
        select c.state from graph_run_changes c
        where c.workflow_id = r.workflow_id and c.batch_change <= ${position}
        order by c.run_version desc limit 1
      ) latest on true
      where r.batch_id = ${batchId}
      group by 1`,
  );
  return Object.fromEntries(rows.map((row) => [row.state, Number(row.count)]));
}

interface ChangeRow extends Record<string, unknown> {
  kind: 'batch' | 'run';
  subject: string;
  position: number;
  workflow_id: string | null;
  graph_index: number | null;
  from_state: string;
  state: string;
  at: string;
  throttled_until: string | null;
  error_code: string | null;
  error_message: string | null;
}

/**
 * The changes of many subjects after their given positions, in order, at most `limit` per subject: one
 * round trip however many streams are open.
 */
export async function progressChangesAfter(
  db: Db,
  cursors: readonly { subject: ProgressSubject; after: number }[],
  limit: number,
): Promise<Map<string, ProgressChange[]>> {
  const of = (kind: ProgressSubject['kind']) =>
    JSON.stringify(
      cursors.filter((c) => c.subject.kind === kind).map((c) => ({ id: c.subject.id, after: c.after })),
    );
  const columns = sql.raw(`c.workflow_id, r.graph_index, c.from_state, c.state,
    to_json(c.at) #>> '{}' as at, to_json(c.throttled_until) #>> '{}' as throttled_until,
    case when c.state in ${finalStates} then r.error_code end as error_code,
    case when c.state in ${finalStates} then r.error_message end as error_message`);
  const ofBatches = sql`select 'batch' as kind, s.id as subject, c.batch_change as position, ${columns}
      from jsonb_to_recordset(${of('batch')}::jsonb) as s(id text, after int)
      cross join lateral (
        select * from graph_run_changes c
        where c.batch_id = s.id and c.batch_change > s.after order by c.batch_change limit ${limit}
      ) c
      left join graph_runs r on r.workflow_id = c.workflow_id`;
  const ofRuns = sql`select 'run' as kind, s.id as subject, c.run_version as position, ${columns}
      from jsonb_to_recordset(${of('run')}::jsonb) as s(id text, after int)
      cross join lateral (
        select * from graph_run_changes c
        where c.workflow_id = s.id and c.run_version > s.after order by c.run_version limit ${limit}
      ) c
      left join graph_runs r on r.workflow_id = c.workflow_id`;
  // Only the kinds followed: planning the other half too cost a third more per read on PGlite.
  const kinds = new Set(cursors.map((c) => c.subject.kind));
  const parts = [...(kinds.has('batch') ? [ofBatches] : []), ...(kinds.has('run') ? [ofRuns] : [])];
  if (parts.length === 0) return new Map();
  const rows = await queryRows<ChangeRow>(
    db,
    sql`${sql.join(parts, sql` union all `)} order by kind, subject, position`,
  );
  const changes = new Map<string, ProgressChange[]>();
  for (const row of rows) {
    const key = subjectKey({ kind: row.kind, id: row.subject });
    const list = changes.get(key) ?? [];
    list.push({
      position: Number(row.position),
      workflowId: row.workflow_id ?? undefined,
      graphIndex: row.graph_index ?? undefined,
      fromState: row.from_state as GraphState | BatchState,
      state: row.state as GraphState | BatchState,
      at: new Date(row.at),
      throttledUntil: row.throttled_until ? new Date(row.throttled_until) : undefined,
      error: row.error_code ? { code: row.error_code, message: row.error_message ?? '' } : undefined,
    });
    changes.set(key, list);
  }
  return changes;
}

/** A subject as a map key. */
export function subjectKey(subject: ProgressSubject): string {
  return `${subject.kind}:${subject.id}`;
}
