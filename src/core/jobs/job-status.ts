/**
 * Status shapes shared by workflows (queries, results) and the API (responses). Pure types only,
 * safe to import from workflow code.
 */
import type { ErrorCode } from '../errors.js';
import type { OutputFormat } from '../graph/units.js';

export const graphStates = [
  'queued',
  'throttled',
  'running',
  'succeeded',
  'partial',
  'failed',
  'cancelled',
  // The event that started the run asks for no work any more: its source was replaced (or deleted) after
  // it, and the newer version has a run of its own, or the source is one of pixelshift's outputs, which
  // never trigger rules. Nothing is processed or announced, and nothing failed.
  'superseded',
] as const;
export type GraphState = (typeof graphStates)[number];

/** The states a graph never leaves. */
export const finalGraphStates: ReadonlySet<GraphState> = new Set<GraphState>([
  'succeeded',
  'partial',
  'failed',
  'cancelled',
  'superseded',
]);
export type BatchState = 'running' | 'succeeded' | 'partial' | 'failed' | 'cancelled';

/**
 * How a batch runs its graphs (PIXELSHIFT_BATCH_GRAPHS, docs/decisions.md): a child workflow each, or an
 * imaging activity of the batch's own workflow each.
 */
export type BatchGraphsAs = 'children' | 'activities';

export interface SinkOutcome {
  storage: string;
  bucket: string;
  key: string;
  bytes: number;
  format: OutputFormat;
  width: number;
  height: number;
  etag: string;
  /** The quality a byte budget (ImageFormat.maxBytes) chose; absent without one. */
  quality?: number;
  /** What wrote this output from what; absent in outcomes recorded before provenance existed. */
  provenance?: {
    graphHash: string;
    sourceEtag?: string;
    sourceVersionId?: string;
    engine: string;
  };
}

export interface SinkFailureOutcome {
  storage: string;
  bucket: string;
  key: string;
  error: { code: ErrorCode; message: string; unit?: string };
}

export interface GraphOutcome {
  index: number;
  workflowId: string;
  state: GraphState;
  sinks: SinkOutcome[];
  failures: SinkFailureOutcome[];
  /** Why the whole graph failed (source errors, cancellation); sink-level errors are in `failures`. */
  error?: { code: ErrorCode | 'cancelled' | 'internal'; message: string };
  startedAt?: string;
  finishedAt?: string;
  /** While throttled: when the graph may start (ISO time). */
  throttledUntil?: string;
}

/**
 * The error of a graph whose workflow ended without producing its own outcome (terminated, timed out, or
 * failed outside its own code): what the batch records for it, and what `pixelshift reconcile` rebuilds.
 */
export const graphWorkflowEndedError = {
  code: 'internal',
  message: 'The graph workflow failed; see its history in the Temporal UI',
} as const satisfies GraphOutcome['error'];

export type StateCounts = Record<GraphState, number>;

export interface BatchStatus {
  accountId: string;
  batchId: string;
  workflowId: string;
  state: BatchState;
  graphCount: number;
  counts: StateCounts;
  graphs: GraphOutcome[];
  createdAt: string;
  finishedAt?: string;
}

export function emptyCounts(): StateCounts {
  return {
    queued: 0,
    throttled: 0,
    running: 0,
    succeeded: 0,
    partial: 0,
    failed: 0,
    cancelled: 0,
    superseded: 0,
  };
}

/** The final state of a graph whose imaging ran to the end: every sink written, some, or none. */
export function finalStateOf(result: {
  sinks: readonly unknown[];
  failures: readonly unknown[];
}): GraphState {
  if (result.failures.length === 0) return 'succeeded';
  return result.sinks.length ? 'partial' : 'failed';
}
