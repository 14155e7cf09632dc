/** Responses of the batch endpoints, and the guard that keeps them equal to what the workflows produce. */
import { z } from 'zod';
import { transformGraphSchema } from '../../core/graph/graph.js';
import {
  graphStates,
  type BatchStatus,
  type GraphOutcome,
  type GraphState,
  type SinkFailureOutcome,
  type SinkOutcome,
} from '../../core/jobs/job-status.js';
import type { sinkFailureSchema, sinkOutcomeSchema } from '../../api/schemas.js';
import { graphOutcomeSchema, throttleOutlookSchema } from '../../api/schemas.js';

const throttleOutlookField = throttleOutlookSchema.optional();

export const batchStartReportResponseSchema = z
  .strictObject({
    batchId: z.string(),
    graphsAccepted: z.number().int().min(1),
    workflowId: z.string().describe('ID of the batch workflow, as shown in the Temporal UI.'),
    statusUrl: z.string().describe('Where to poll the batch status.'),
    createdAt: z.iso.datetime(),
    temporalUiUrl: z
      .string()
      .optional()
      .describe('Link to the batch workflow when TEMPORAL_UI_URL is configured.'),
    throttle: throttleOutlookField,
  })
  .meta({ id: 'BatchStartReportResponse' });
export type BatchStartReportResponse = z.infer<typeof batchStartReportResponseSchema>;

const batchStates = ['running', 'succeeded', 'partial', 'failed', 'cancelled'] as const;

export const batchStatusResponseSchema = z
  .strictObject({
    accountId: z.string(),
    batchId: z.string(),
    workflowId: z.string(),
    state: z.enum(batchStates),
    graphCount: z.number().int(),
    counts: z.record(z.enum(graphStates), z.number().int()).describe('Number of graphs in each state.'),
    graphs: z.array(graphOutcomeSchema),
    createdAt: z.string(),
    finishedAt: z.string().optional(),
    temporalUiUrl: z.string().optional(),
    throttle: throttleOutlookField,
  })
  .meta({ id: 'BatchStatus' });
export type BatchStatusResponse = z.infer<typeof batchStatusResponseSchema>;
export type GraphOutcomeResponse = z.infer<typeof graphOutcomeSchema>;

export const batchGraphResponseSchema = z
  .strictObject({
    batchId: z.string(),
    index: z.number().int(),
    graph: transformGraphSchema,
    /** Absent until the graph workflow reports. */
    outcome: graphOutcomeSchema.optional(),
  })
  .meta({ id: 'BatchGraph' });
export type BatchGraphResponse = z.infer<typeof batchGraphResponseSchema>;

export const cancelBatchResponseSchema = z
  .strictObject({
    batchId: z.string(),
    cancelRequested: z.literal(true),
  })
  .meta({ id: 'BatchCancelResponse' });

/** Compile-time proof that the documented status shapes are the ones the workflows produce. */
type Same<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : never;
type Documented<T> = Omit<T, 'temporalUiUrl' | 'throttle'>;
export const statusShapesAgree: [
  Same<z.infer<typeof sinkOutcomeSchema>, SinkOutcome>,
  Same<z.infer<typeof sinkFailureSchema>, SinkFailureOutcome>,
  Same<Documented<GraphOutcomeResponse>, GraphOutcome>,
  Same<Documented<Omit<BatchStatusResponse, 'graphs'>>, Omit<BatchStatus, 'graphs'>>,
  Same<(typeof graphStates)[number], GraphState>,
] = [true, true, true, true, true];
