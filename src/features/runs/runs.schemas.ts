/**
 * HTTP shapes of triggered runs: the query of `GET /v1/events/s3/runs`, a page of runs, and one run. The
 * routes validate with these and the OpenAPI document is generated from them.
 */
import { z } from 'zod';
import { graphStates } from '../../core/jobs/job-status.js';
import { graphOutcomeSchema } from '../../api/schemas.js';
import { decodeRunPageToken, runPageTokenPattern } from './run-page-token.js';

/**
 * A query value that must be an integer. Only decimal numerals become numbers, so `pageSize=ten` is
 * reported as received ("ten"), and "", "0x10" or "1e1" are refused instead of being read as 0, 16, 10.
 */
const queryInteger = (min: number, max: number) =>
  z.preprocess(
    (value) =>
      typeof value === 'string' && /^-?\d{1,16}(?:\.\d{1,16})?$/.test(value) ? Number(value) : value,
    z.number().int().min(min).max(max),
  );

export const runListQuerySchema = z.strictObject({
  rule: z.string().min(1).max(64).optional().describe('Only runs of this rule.'),
  state: z.enum(graphStates).optional(),
  since: z.iso.datetime({ offset: true }).optional().describe('Only runs started at or after this time.'),
  until: z.iso.datetime({ offset: true }).optional().describe('Only runs started before this time.'),
  pageSize: queryInteger(1, 100).default(50).describe('Runs per page.'),
  // Parsed to the job engine's own token. The decoder checks the documented pattern first, so every
  // refused token gets the same one issue.
  pageToken: z
    .string()
    .meta({ pattern: runPageTokenPattern.source })
    .transform((token, context) => {
      const engineToken = decodeRunPageToken(token);
      if (engineToken !== undefined) return engineToken;
      context.addIssue({ code: 'custom', message: 'a nextPageToken this API returned', input: token });
      return z.NEVER;
    })
    .optional()
    .describe(
      '`nextPageToken` of the previous page, unchanged. The server checks it whole: a token it did not hand out is refused with 400.',
    ),
});
export type RunListQuery = z.output<typeof runListQuerySchema>;

export const runSummarySchema = z
  .strictObject({
    runId: z
      .string()
      .describe('`encodeURIComponent(workflowId)`: the path segment of `GET /v1/runs/{runId}`.'),
    workflowId: z.string(),
    ruleId: z.string(),
    source: z.string().describe('`bucket/key` of the object that triggered the run.'),
    state: z.enum(graphStates),
    startedAt: z.string(),
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
