/**
 * HTTP shapes of triggered runs: the query of `GET /v1/events/s3/runs`, a page of runs, and one run. The
 * routes validate with these and the OpenAPI document is generated from them.
 */
import { z } from 'zod';
import { graphStates } from '../../core/jobs/job-status.js';
import { graphOutcomeSchema } from '../../api/schemas.js';
import { pageTokenQuerySchema, queryInteger } from '../../api/page-token.js';

const runFilters = {
  state: z.enum(graphStates).optional(),
  since: z.iso.datetime({ offset: true }).optional().describe('Only runs accepted at or after this time.'),
  until: z.iso.datetime({ offset: true }).optional().describe('Only runs accepted before this time.'),
  pageSize: queryInteger(1, 100).default(50).describe('Runs per page.'),
  pageToken: pageTokenQuerySchema,
};

export const runListQuerySchema = z.strictObject({
  rule: z.string().min(1).max(64).optional().describe('Only runs of this rule.'),
  ...runFilters,
});
export type RunListQuery = z.output<typeof runListQuerySchema>;

export const allRunsQuerySchema = z.strictObject({
  trigger: z
    .enum(['s3', 'webhook'])
    .optional()
    .describe('Only runs started by bucket events or by inbound hooks.'),
  rule: z.string().min(1).max(64).optional().describe('Only runs of this rule (implies `trigger=s3`).'),
  hook: z
    .string()
    .min(1)
    .max(64)
    .optional()
    .describe('Only runs of this inbound hook (implies `trigger=webhook`).'),
  ...runFilters,
});
export type AllRunsQuery = z.output<typeof allRunsQuerySchema>;

export const runSummarySchema = z
  .strictObject({
    runId: z
      .string()
      .describe('`encodeURIComponent(workflowId)`: the path segment of `GET /v1/runs/{runId}`.'),
    workflowId: z.string(),
    trigger: z.enum(['s3', 'webhook']),
    ruleId: z.string().optional().describe('The rule that started it (bucket events).'),
    hookId: z.string().optional().describe('The inbound hook that started it.'),
    source: z.string().describe('`bucket/key` of the source image.'),
    sourceVersion: z
      .string()
      .optional()
      .describe('The object version the event named, when the bucket keeps versions.'),
    state: z.enum(graphStates),
    startedAt: z.string().describe('When the run was started (its event or hook call accepted).'),
    closedAt: z.string().optional(),
    statusUrl: z.string(),
    temporalUiUrl: z.string().optional(),
  })
  .meta({ id: 'RunSummary' });

export const runListSchema = z
  .strictObject({
    runs: z.array(runSummarySchema),
    nextPageToken: z.string().optional(),
  })
  .meta({ id: 'RunList' });
export type RunListResponse = z.infer<typeof runListSchema>;

export const runResponseSchema = graphOutcomeSchema
  .extend({
    runId: z.string(),
    statusUrl: z.string(),
  })
  .meta({ id: 'Run' });
export type RunResponse = z.infer<typeof runResponseSchema>;

export const runIdParamsSchema = z.object({
  runId: z
    .string()
    .describe('The workflow ID, URI-encoded into one path segment (`/` as `%2F`), as in `statusUrl`.'),
});
