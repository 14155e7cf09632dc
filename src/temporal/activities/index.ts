/**
 * Activities: thin adapters from Temporal to the plain modules (imaging, storage, db).
 * Built by a factory over their dependencies and wired in the worker (docs/architecture.md §16).
 */
import { performance } from 'node:perf_hooks';
import { ApplicationFailure, Context } from '@temporalio/activity';
import { ApplicationFailureCategory } from '@temporalio/common';
import { Registry } from 'prom-client';
import { ClassifiedError, isClassifiedError } from '../../core/errors.js';
import type { TransformGraph } from '../../core/graph/graph.js';
import { graphSinks, sourceLabel, summarizeGraph } from '../../core/graph/summary.js';
import { executeGraph, GeneratedSourceError, SourceSupersededError } from '../../core/imaging/index.js';
import { DEFAULT_CONNECTION } from '../../core/graph/units.js';
import type { StoreRegistry } from '../../core/storage/connections.js';
import { generatedMetadata } from '../../core/storage/generated-metadata.js';
import { finalStateOf } from '../../core/jobs/job-status.js';
import type { GraphRunAdvance, GraphRunRecorder } from '../../db/graph-runs.js';
import { objectUri } from '../../core/storage/store-errors.js';
import type { ThrottleGate } from '../../db/throttle-gate.js';
import { imagingHeartbeatIntervalMs } from '../workflows/definitions.js';
import type {
  DescribeBatchInput,
  GraphDescription,
  GraphProgress,
  RecordBatchEndInput,
  RecordGraphRunInput,
  RunGraphInput,
  RunGraphResult,
  ThrottleSlot,
  ThrottleSlotInput,
} from './types.js';
import { createActivityMetrics, type ActivityMetrics } from './activity-metrics.js';
import { createWebhookActivities, type WebhookDeps } from './webhook-activities.js';

/** Where batch graphs are read from (PostgreSQL in production). */
export interface BatchGraphSource {
  getBatchGraph(accountId: string, batchId: string, index: number): Promise<TransformGraph | undefined>;
  /** All graphs of a batch, in index order. */
  listBatchGraphs(accountId: string, batchId: string): Promise<TransformGraph[]>;
}

export interface ActivityDeps {
  graphs: BatchGraphSource;
  stores: StoreRegistry;
  imaging: { maxInputPixels: number; maxSourceBytes: number; heic?: boolean };
  /** The account throttle (the database). Required: a worker without it would admit every graph at once. */
  throttle: ThrottleGate;
  /** Outbound webhooks (docs/architecture.md §11). Required: a worker without them would drop every event. */
  webhooks: WebhookDeps;
  /** The read model (docs/architecture.md §7). Required: without it no status read would ever change. */
  runs: GraphRunRecorder;
  /** Where the activities count what they do (the worker's /metrics); a registry of their own when omitted. */
  metrics?: ActivityMetrics | undefined;
}

/** What every worker must be given; checked at start so that a mis-wired worker never starts polling. */
const requiredDeps = ['graphs', 'stores', 'imaging', 'throttle', 'webhooks', 'runs'] as const;

export function createActivities(deps: ActivityDeps) {
  const missing = requiredDeps.filter((name) => deps[name] === undefined);
  if (missing.length) throw new Error(`The worker's activities lack ${missing.join(', ')}`);
  const metrics = deps.metrics ?? createActivityMetrics(new Registry());
  const runs = countedRunRecorder(deps.runs, metrics);
  return {
    ...createWebhookActivities(deps.webhooks, metrics),
    describeBatchGraphs: async (input: DescribeBatchInput): Promise<GraphDescription[]> => {
      const graphs = await deps.graphs.listBatchGraphs(input.accountId, input.batchId);
      if (graphs.length !== input.graphCount) {
        throw ApplicationFailure.nonRetryable(
          `Batch ${input.batchId} has ${graphs.length} stored graphs, expected ${input.graphCount}`,
          'invalid_graph',
        );
      }
      return graphs.map((graph, index) => ({
        index,
        summary: summarizeGraph(graph),
        source: sourceLabel(graph),
      }));
    },

    /**
     * Idempotent by graph key: a retry after a crash that followed the commit, or a second call after
     * a signal, returns the slot the graph holds (moved, perhaps, by a limit change).
     */
    reserveThrottleSlot: async (input: ThrottleSlotInput): Promise<ThrottleSlot> => {
      const { slotAt, now, created } = await deps.throttle.reserve(input.accountId, input.graphKey);
      const waitMs = Math.max(0, slotAt.getTime() - now.getTime());
      if (created !== false) metrics.throttleReserved(input.accountId, waitMs);
      return { slotAt: slotAt.toISOString(), waitMs };
    },

    /** Idempotent: the read model ignores a state it has already reached or passed. */
    recordGraphRun: async (input: RecordGraphRunInput): Promise<{ moved: boolean }> => ({
      moved: await runs.advance(input.workflowId, {
        state: input.state,
        error: input.error,
        sinks: input.sinks,
        failures: input.failures,
      }),
    }),

    recordBatchEnd: async (input: RecordBatchEndInput): Promise<void> => {
      await runs.finishBatch(input.batchId, input.state);
    },

    releaseThrottleSlot: async (input: ThrottleSlotInput): Promise<{ released: boolean }> => {
      const released = await deps.throttle.release(input.accountId, input.graphKey);
      if (released) metrics.throttleReleased(input.accountId);
      return { released };
    },

    runGraph: async (input: RunGraphInput): Promise<RunGraphResult> => {
      const context = Context.current();
      let progress: GraphProgress = { stage: 'load', completedSinks: 0, totalSinks: 0 };
      // Heartbeats are how a dead worker is noticed and how cancellation reaches us, so they
      // keep flowing while the graph loads and while a long libvips stage runs. The first one goes out
      // after one interval, not at once: the server writes every heartbeat into the execution's state,
      // and most graphs end well inside an interval (one write and one request fewer per graph,
      // docs/performance-log.md, "the third cut"). It is still due long before the heartbeat timeout.
      let beating = false;
      const beat = () => {
        if (beating) context.heartbeat(progress);
      };
      const ticker = setInterval(() => {
        beating = true;
        beat();
      }, imagingHeartbeatIntervalMs);
      const graph = await loadGraph(deps, input).catch((error: unknown) => {
        clearInterval(ticker);
        throw error;
      });
      const source = graph.transformUnits[0];
      progress = { stage: 'download', completedSinks: 0, totalSinks: graphSinks(graph).length };
      try {
        if (input.recordStart) await runs.advance(input.workflowId, { state: 'running' });
        const imagingStart = performance.now();
        const result = await executeGraph(graph, {
          stores: deps.stores,
          maxInputPixels: deps.imaging.maxInputPixels,
          maxSourceBytes: deps.imaging.maxSourceBytes,
          ...(deps.imaging.heic === undefined ? {} : { heic: deps.imaging.heic }),
          signal: context.cancellationSignal,
          onProgress: (next) => {
            progress = next;
            beat();
          },
          sinkMetadata: generatedMetadata({
            graphId: input.workflowId,
            sourceBucket: source?.type === 'StorageSource' ? source.bucket : '',
            sourceKey: source?.type === 'StorageSource' ? source.key : '',
          }),
          ...(input.sourceRevision === undefined ? {} : { expectedSourceRevision: input.sourceRevision }),
          ...(input.skipGeneratedSource ? { skipGeneratedSource: true } : {}),
        });
        metrics.imaged({ ...result, seconds: (performance.now() - imagingStart) / 1000 });
        // Recorded before the activity completes: if this write fails or the worker dies first, the
        // activity is retried (the outputs are rewritten with the same bytes) until the row is right.
        await runs.advance(input.workflowId, {
          state: finalStateOf(result),
          sinks: result.sinks,
          failures: result.failures,
          sourcePixels: result.sourcePixels,
        });
        return { sinks: result.sinks, failures: result.failures };
      } catch (error) {
        if (context.cancellationSignal.aborted) throw error;
        const object = source?.type === 'StorageSource' ? sourceUri(deps, source) : 'the source';
        // Not a failure: the event's version is gone (the newer one has its own run), or the source is an
        // output of pixelshift, which never triggers rules.
        if (error instanceof SourceSupersededError || error instanceof GeneratedSourceError) {
          const why =
            error instanceof GeneratedSourceError ? 'is an output of pixelshift' : 'changed after its event';
          context.log.info(`graph superseded: ${object} ${why}`, { object });
          await runs.advance(input.workflowId, { state: 'superseded' });
          return { sinks: [], failures: [], superseded: { reason: error.message } };
        }
        // An expected failure (a corrupt upload, a missing object, storage that is down) is one line with
        // its code and object; Temporal's own log of the failure carries the stack, which is for bugs.
        if (isClassifiedError(error)) {
          const what = error.retryable ? 'graph attempt failed, to be retried' : 'graph failed';
          context.log.warn(`${what}: ${error.code} ${object}: ${error.message}`, {
            code: error.code,
            object,
          });
        }
        throw toApplicationFailure(error);
      } finally {
        clearInterval(ticker);
      }
    },
  };
}

/**
 * The read model, counting each run once when it reaches its final state: only a write that moved the row
 * counts, so retried activities and replayed workflows never count twice.
 */
function countedRunRecorder(runs: GraphRunRecorder, metrics: ActivityMetrics): GraphRunRecorder {
  return {
    async advance(workflowId: string, change: GraphRunAdvance) {
      const moved = await runs.advance(workflowId, change);
      if (moved) metrics.graphEnded(change.state, change.error?.code ?? change.failures?.[0]?.error.code);
      return moved;
    },
    finishBatch: (batchId, state) => runs.finishBatch(batchId, state),
  };
}

/** `local://uploads/cat.jpg`, `s3://photos/in/cat.jpg`: the source as log lines name it. */
function sourceUri(
  deps: ActivityDeps,
  source: { storage?: string | undefined; bucket: string; key: string },
) {
  const connection = source.storage ?? DEFAULT_CONNECTION;
  const scheme = deps.stores.has(connection) ? deps.stores.get(connection).kind : 's3';
  return objectUri({ scheme, bucket: source.bucket, key: source.key });
}

async function loadGraph(deps: ActivityDeps, input: RunGraphInput): Promise<TransformGraph> {
  if (input.graph) return input.graph;
  if (!input.ref)
    throw ApplicationFailure.nonRetryable('runGraph needs a graph or a graph reference', 'invalid_graph');
  const graph = await deps.graphs.getBatchGraph(input.ref.accountId, input.ref.batchId, input.ref.index);
  if (!graph) {
    throw ApplicationFailure.nonRetryable(
      `Graph ${input.ref.index} of batch ${input.ref.batchId} is not stored`,
      'invalid_graph',
    );
  }
  return graph;
}

/**
 * The classification becomes the failure type; only `transient` is retryable, and a server-given
 * delay (S3 Retry-After / SlowDown) becomes the next retry delay. Classified failures are expected, not
 * bugs: they are BENIGN, which keeps Temporal from logging each with its stack as a warning (runGraph
 * logs its own line instead) and from counting it in its failure metrics.
 *
 * The cause recorded in the history is the classified error alone, not the library error under it:
 * an SDK error's chain and stacks push a failure past the server's 4 KB limit for retried activities,
 * and the history would then show "Failure exceeds size limit." instead of what went wrong.
 */
export function toApplicationFailure(error: unknown): unknown {
  if (!isClassifiedError(error)) return error;
  const recorded = new ClassifiedError(error.code, error.message, {
    ...(error.unit === undefined ? {} : { unit: error.unit }),
    ...(error.retryAfterMs === undefined ? {} : { retryAfterMs: error.retryAfterMs }),
  });
  recorded.stack = error.stack;
  return ApplicationFailure.create({
    type: error.code,
    message: error.message,
    nonRetryable: !error.retryable,
    category: ApplicationFailureCategory.BENIGN,
    details: error.unit === undefined ? [] : [{ unit: error.unit }],
    ...(error.retryAfterMs === undefined ? {} : { nextRetryDelay: error.retryAfterMs }),
    cause: recorded,
  });
}
