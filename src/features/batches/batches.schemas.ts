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
import { pageTokenQuerySchema, queryInteger } from '../../api/page-token.js';

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
    retryOf: z
      .string()
      .optional()
      .describe(
        'The batch whose failed graphs this batch retries (POST /v1/batches/{batchId}/retry-failed).',
      ),
  })
  .meta({ id: 'BatchStartReportResponse' });
export type BatchStartReportResponse = z.infer<typeof batchStartReportResponseSchema>;

export const batchStates = ['running', 'succeeded', 'partial', 'failed', 'cancelled'] as const;

const retryOfField = z
  .string()
  .optional()
  .describe('Set on a batch made by retry-failed: the batch whose failed graphs it retries.');

export const batchStatusResponseSchema = z
  .strictObject({
    accountId: z.string(),
    batchId: z.string(),
    workflowId: z.string(),
    state: z.enum(batchStates),
    graphCount: z.number().int(),
    counts: z.record(z.enum(graphStates), z.number().int()).describe('Number of graphs in each state.'),
    createdAt: z.string(),
    finishedAt: z.string().optional(),
    temporalUiUrl: z.string().optional(),
    throttle: throttleOutlookField,
    retryOf: retryOfField,
    links: z
      .strictObject({
        graphs: z.string().describe('The batch’s graphs with their outcomes, paged.'),
      })
      .describe('Where to read more.'),
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

export const batchGraphPageResponseSchema = z
  .strictObject({
    graphs: z.array(graphOutcomeSchema).describe('In index order.'),
    nextPageToken: z.string().optional().describe('Absent on the last page.'),
  })
  .meta({ id: 'BatchGraphPage' });
export type BatchGraphPageResponse = z.infer<typeof batchGraphPageResponseSchema>;

export const batchGraphsQuerySchema = z.strictObject({
  state: z.enum(graphStates).optional().describe('Only graphs in this state.'),
  pageSize: queryInteger(1, 1000).default(100).describe('Graphs per page.'),
  pageToken: pageTokenQuerySchema,
});
export type BatchGraphsQuery = z.output<typeof batchGraphsQuerySchema>;

/** Crockford base32 as batch ids use it (src/core/ids.ts). */
const batchIdSearchPattern = /^(?:b_)?[0-9a-hjkmnp-tv-z]{1,26}$/;

export const batchListQuerySchema = z.strictObject({
  state: z.enum(batchStates).optional().describe('Only batches in this state.'),
  q: z
    .string()
    .regex(
      batchIdSearchPattern,
      'Expected a batch id or its beginning (b_ and up to 26 characters of 0-9 a-z)',
    )
    .transform((text) => (text.startsWith('b_') ? text : `b_${text}`))
    .optional()
    .describe(
      'A batch id, or its beginning, with or without `b_`: only batches whose id starts with it (ids begin with their creation time, so a prefix also narrows by time).',
    ),
  pageSize: queryInteger(1, 100).default(20).describe('Batches per page.'),
  pageToken: pageTokenQuerySchema,
});
export type BatchListQuery = z.output<typeof batchListQuerySchema>;

export const batchSummarySchema = z
  .strictObject({
    batchId: z.string(),
    state: z.enum(batchStates),
    graphCount: z.number().int(),
    counts: z.record(z.enum(graphStates), z.number().int()).describe('Number of graphs in each state.'),
    createdAt: z.string(),
    finishedAt: z.string().optional(),
    retryOf: retryOfField,
  })
  .meta({ id: 'BatchSummary' });
export type BatchSummaryResponse = z.infer<typeof batchSummarySchema>;

export const batchListResponseSchema = z
  .strictObject({
    batches: z.array(batchSummarySchema).describe('Newest first.'),
    nextPageToken: z.string().optional().describe('Absent on the last page.'),
  })
  .meta({ id: 'BatchList' });
export type BatchListResponse = z.infer<typeof batchListResponseSchema>;

export const cancelBatchResponseSchema = z
  .strictObject({
    batchId: z.string(),
    cancelRequested: z.literal(true),
  })
  .meta({ id: 'BatchCancelResponse' });

/** Compile-time proof that the documented status shapes are the ones the workflows produce. */
type Same<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : never;
type Documented<T> = Omit<T, 'temporalUiUrl' | 'throttle' | 'retryOf'>;
export const statusShapesAgree: [
  Same<z.infer<typeof sinkOutcomeSchema>, SinkOutcome>,
  Same<z.infer<typeof sinkFailureSchema>, SinkFailureOutcome>,
  Same<Documented<GraphOutcomeResponse>, GraphOutcome>,
  Same<Documented<Omit<BatchStatusResponse, 'links'>>, Omit<BatchStatus, 'graphs'>>,
  Same<(typeof graphStates)[number], GraphState>,
] = [true, true, true, true, true];
