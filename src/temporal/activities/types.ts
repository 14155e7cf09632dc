/** Activity inputs and results: small descriptions only, never image bytes (docs/architecture.md §2). */
import type { TransformGraph } from '../../core/graph/graph.js';
import type {
  BatchState,
  GraphOutcome,
  GraphState,
  SinkFailureOutcome,
  SinkOutcome,
} from '../../core/jobs/job-status.js';

/** Where a batch graph is stored (PostgreSQL); workflows pass this instead of the graph itself. */
export interface GraphRef {
  accountId: string;
  batchId: string;
  index: number;
}

export interface RunGraphInput {
  accountId: string;
  workflowId: string;
  /** Exactly one of `ref` (batch graphs) and `graph` (small triggered graphs) is set. */
  ref?: GraphRef;
  graph?: TransformGraph;
  /**
   * Record `running` on the read model when the imaging starts: set by graphs that run without the
   * throttle, whose reservation would otherwise have recorded it.
   */
  recordStart?: boolean;
  /** The source revision the run's event named: another one makes the run `superseded`. */
  sourceRevision?: string;
  /** Set by bucket events' runs: a source pixelshift wrote makes the run `superseded` (not processed). */
  skipGeneratedSource?: boolean;
}

export interface RunGraphResult {
  sinks: SinkOutcome[];
  failures: SinkFailureOutcome[];
  /**
   * Set when the source was replaced after its event, or is one of pixelshift's outputs (a bucket event's
   * run): nothing was written, nothing is to be announced.
   */
  superseded?: { reason: string };
}

export interface GraphDescription {
  index: number;
  /** "cat.jpg → 3 outputs" */
  summary: string;
  /** `bucket/key` */
  source: string;
}

export interface DescribeBatchInput {
  accountId: string;
  batchId: string;
  graphCount: number;
}

/** Progress carried in heartbeats, visible in the Temporal UI's pending-activity view. */
export interface GraphProgress {
  stage: string;
  completedSinks: number;
  totalSinks: number;
}

/** A graph's throttle reservation (docs/architecture.md §9); `graphKey` is the graph workflow ID. */
export interface ThrottleSlotInput {
  accountId: string;
  graphKey: string;
}

export interface ThrottleSlot {
  /** ISO time the graph may start. */
  slotAt: string;
  /** How long to wait from now (0 when the slot has come): measured on one clock, so skew cannot creep in. */
  waitMs: number;
}

/** A state change a workflow records itself: the ends the imaging activity cannot see (cancelled, failed). */
export interface RecordGraphRunInput {
  workflowId: string;
  state: GraphState;
  error?: GraphOutcome['error'];
  sinks?: SinkOutcome[];
  failures?: SinkFailureOutcome[];
}

export interface RecordBatchEndInput {
  batchId: string;
  state: BatchState;
}
