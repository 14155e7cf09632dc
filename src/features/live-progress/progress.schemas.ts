import { z } from 'zod';
import { graphStates } from '../../core/jobs/job-status.js';

const batchStates = ['running', 'succeeded', 'partial', 'failed', 'cancelled'] as const;

const countsSchema = z
  .record(z.enum(graphStates), z.number().int())
  .describe('Number of the batch’s graphs in each state just after this change.');

const errorSchema = z
  .strictObject({ code: z.string(), message: z.string() })
  .describe('Why the graph failed or was cancelled; only on a final state.');

const stateChangeFields = {
  state: z.enum(graphStates),
  previousState: z.enum(graphStates),
  at: z.string().describe('When the change happened (ISO time).'),
  throttledUntil: z.string().optional().describe('While throttled: when the graph may start (ISO time).'),
  error: errorSchema.optional(),
};

/** `event: graph` — one graph of the batch changed state. */
export const batchGraphEventSchema = z
  .strictObject({
    batchId: z.string(),
    graphIndex: z.number().int(),
    ...stateChangeFields,
    counts: countsSchema,
  })
  .meta({ id: 'BatchGraphEvent', description: 'A graph of the batch changed state (`event: graph`).' });
export type BatchGraphEvent = z.infer<typeof batchGraphEventSchema>;

/** `event: end` — the batch ended; the stream closes after it. */
export const batchEndEventSchema = z
  .strictObject({
    batchId: z.string(),
    state: z.enum(batchStates),
    at: z.string().describe('When the batch ended (ISO time).'),
    counts: countsSchema,
  })
  .meta({ id: 'BatchEndEvent', description: 'The batch ended (`event: end`); the stream closes after it.' });
export type BatchEndEvent = z.infer<typeof batchEndEventSchema>;

/** `event: state`, and `event: end` for its final state — the run changed state. */
export const runStateEventSchema = z
  .strictObject({
    runId: z.string().describe('The workflow ID, URI-encoded, as in the run’s `statusUrl`.'),
    ...stateChangeFields,
  })
  .meta({
    id: 'RunStateEvent',
    description:
      'The run changed state (`event: state`); its final state is `event: end`, and the stream closes after it.',
  });
export type RunStateEvent = z.infer<typeof runStateEventSchema>;

/** `Last-Event-ID`: the id of the last event the client has, to resume after it. */
export const lastEventIdHeaders = z.object({
  'Last-Event-ID': z
    .string()
    .regex(/^(?:0|[1-9][0-9]{0,8})$/, 'Expected the id of an event of this stream (a non-negative integer)')
    .optional()
    .describe(
      'Resume after this event: the stream sends only the changes after it (none missed, none repeated). Browsers’ EventSource sends it on reconnecting.',
    ),
});
