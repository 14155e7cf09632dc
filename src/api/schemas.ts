/**
 * Shapes that several features answer with: the error body, and the outcome of graphs and sinks (a
 * batch's status, a triggered run, a webhook payload). Each feature's own shapes live in its folder.
 * Schemas named with `.meta({ id })` are components of the OpenAPI document.
 */
import { z } from 'zod';
import { errorCodes } from '../core/errors.js';
import { outputFormats } from '../core/graph/units.js';
import { graphStates } from '../core/jobs/job-status.js';

// ------------------------------------------------------------------ errors

export const apiIssueSchema = z
  .strictObject({
    path: z.string().describe('JSON pointer (RFC 6901) into the request body.'),
    code: z.string().describe('Stable machine-readable code, e.g. "unknown_field".'),
    message: z.string(),
  })
  .meta({ id: 'Issue' });

export const errorResponseSchema = z
  .strictObject({
    error: z.strictObject({
      code: z.string().describe('Stable machine-readable code, e.g. "invalid_graph".'),
      message: z.string().describe('Human-readable, safe to show; never contains internal details.'),
      issues: z.array(apiIssueSchema).optional().describe('Every problem found, each with a JSON pointer.'),
    }),
  })
  .meta({ id: 'ErrorResponse' });

export const throttleOutlookSchema = z
  .strictObject({
    transformsPerHour: z.number().int().describe('The account’s limit when this was computed.'),
    windowSeconds: z.number(),
    expectedLastStartAt: z.iso
      .datetime()
      .nullable()
      .describe(
        'When the last graph of the batch is expected to start under the current limit (graphs of other batches that have not reserved a slot yet are not counted); null once every graph has started.',
      ),
  })
  .describe(
    'The throttle outlook of a batch; absent when the server runs without a throttle or the batch has finished.',
  )
  .meta({ id: 'ThrottleOutlook' });
export type ThrottleOutlook = z.infer<typeof throttleOutlookSchema>;

export const sinkOutcomeSchema = z
  .strictObject({
    storage: z.string(),
    bucket: z.string(),
    key: z.string(),
    bytes: z.number().int(),
    format: z.enum(outputFormats),
    width: z.number().int(),
    height: z.number().int(),
    etag: z.string(),
    quality: z
      .number()
      .int()
      .optional()
      .describe(
        'The encoder quality chosen to meet ImageFormat.maxBytes; absent when the format has no budget.',
      )
      .meta({ examples: [72] }),
    provenance: z
      .strictObject({
        graphHash: z.string().describe("Hex SHA-256 of the graph's canonical JSON (keys sorted)."),
        sourceEtag: z.string().optional().describe("The source object's ETag, when the store gave one."),
        sourceVersionId: z.string().optional().describe('The source version the graph named, if any.'),
        engine: z.string().describe('pixelshift, sharp and libvips versions.'),
      })
      .optional()
      .describe(
        "What wrote this output from what; the same values are stored as the object's metadata " +
          '(pixelshift-graph-hash, pixelshift-source-etag, pixelshift-source-version, pixelshift-engine, ' +
          'beside pixelshift-graph-id, the workflow ID). Absent for outcomes recorded by older servers.',
      )
      .meta({
        examples: [
          {
            graphHash: '9f2c4e0b7d1a3f5e8c6b2a4d0e1f3a5b7c9d1e3f5a7b9c1d3e5f7a9b1c3d5e7f',
            sourceEtag: 'd41d8cd98f00b204e9800998ecf8427e',
            engine: 'pixelshift/0.1.0 sharp/0.35.5 libvips/8.18.7',
          },
        ],
      }),
  })
  .meta({ id: 'SinkOutcome' });

export const sinkFailureSchema = z
  .strictObject({
    storage: z.string(),
    bucket: z.string(),
    key: z.string(),
    error: z.strictObject({ code: z.enum(errorCodes), message: z.string(), unit: z.string().optional() }),
  })
  .meta({ id: 'SinkFailure' });

export const graphOutcomeSchema = z
  .strictObject({
    index: z.number().int(),
    workflowId: z
      .string()
      .describe(
        "The graph's ID: the workflow ID of its execution, or, in a deployment that runs a batch's graphs as activities of the batch (PIXELSHIFT_BATCH_GRAPHS=activities), the key of its activity `graph-<index>` in the batch's history.",
      ),
    state: z.enum(graphStates),
    sinks: z.array(sinkOutcomeSchema),
    failures: z.array(sinkFailureSchema),
    error: z
      .strictObject({ code: z.enum([...errorCodes, 'cancelled', 'internal']), message: z.string() })
      .optional()
      .describe('Why the whole graph failed; sink-level errors are in failures.'),
    startedAt: z.string().optional(),
    finishedAt: z.string().optional(),
    throttledUntil: z.string().optional().describe('While throttled: when the graph may start.'),
    temporalUiUrl: z
      .string()
      .optional()
      .describe(
        "When TEMPORAL_UI_URL is configured: the graph's workflow, or its batch's workflow when the batch runs its graphs as activities.",
      ),
  })
  .meta({ id: 'GraphOutcome' });
