/**
 * Live progress (docs/architecture.md §7.3): a batch's and a triggered run's state changes as Server-Sent
 * Events, read from the read model's change log, never from Temporal.
 */
import { z } from 'zod';
import { ApiError, notFound } from '../../api/api-error.js';
import { defineRoute, noContent, type ApiFeature } from '../../api/define-route.js';
import { eventStreamComponents, eventStreamResponse } from '../../api/event-stream.js';
import { errorResponse } from '../../api/openapi-builder.js';
import { batchIdPattern } from '../../core/ids.js';
import { emptyCounts, finalGraphStates, type BatchState } from '../../core/jobs/job-status.js';
import type { Db } from '../../db/database.js';
import {
  batchCountsAt,
  batchProgressHead,
  triggeredRunProgressHead,
  type ProgressChange,
  type ProgressHead,
} from '../../db/progress-changes.js';
import { MAX_WORKFLOW_ID_LENGTH } from '../runs/runs.service.js';
import { runIdParamsSchema } from '../runs/runs.schemas.js';
import type { ProgressHub } from './progress-hub.js';
import {
  batchEndEventSchema,
  batchGraphEventSchema,
  lastEventIdHeaders,
  runStateEventSchema,
  type BatchEndEvent,
  type BatchGraphEvent,
  type RunStateEvent,
} from './progress.schemas.js';

export interface LiveProgressDeps {
  db: Db;
  hub: ProgressHub;
}

const batchIdParam = z.object({
  batchId: z.string().describe('Batch id, e.g. b_06h24q7wkp9fjg0znfwzphyzer'),
});

const streamResponses = {
  204: {
    description:
      'The stream already ended: `Last-Event-ID` is its final event. (EventSource stops reconnecting on 204.)',
  },
  400: errorResponse('`Last-Event-ID` is not an event id (`invalid_request`).'),
  429: errorResponse(
    'The account holds as many open event streams as it may (`too_many_streams`, with `Retry-After`).',
  ),
  503: errorResponse('The server is shutting down (`server_shutting_down`, with `Retry-After`): reconnect.'),
};

const batchEvents = { graph: batchGraphEventSchema, end: batchEndEventSchema };
const runEvents = { state: runStateEventSchema, end: runStateEventSchema };

export function liveProgressFeature(deps: LiveProgressDeps): ApiFeature {
  return {
    document: eventStreamComponents(batchEvents, runEvents),
    routes: [
      defineRoute({
        operationId: 'streamBatchEvents',
        method: 'get',
        path: '/v1/batches/{batchId}/events',
        tags: ['batches'],
        auth: 'bearer',
        summary: 'Follow a batch live: its graphs’ state changes, then its end (Server-Sent Events)',
        description:
          'Starts at the batch’s first change (or after `Last-Event-ID`) and ends after `event: end`; a finished batch’s stream is sent whole at once. Comment lines keep an idle stream open. Each `graph` event carries the counts per state just after it.',
        request: { params: batchIdParam, headers: lastEventIdHeaders },
        responses: {
          200: eventStreamResponse('The batch’s changes, as they happen.', batchEvents),
          ...streamResponses,
          404: errorResponse('No such batch for this account (`not_found`).'),
        },
        handler: async ({ params, headers, principal, res }) => {
          const { batchId } = params;
          const head = batchIdPattern.test(batchId)
            ? await batchProgressHead(deps.db, principal.accountId, batchId)
            : undefined;
          if (!head) throw notFound(`Batch ${JSON.stringify(batchId.slice(0, 64))}`);
          const after = resumePoint(head, headers['Last-Event-ID']);
          if (after === 'ended') return noContent;
          const counts = { ...emptyCounts(), ...(await batchCountsAt(deps.db, batchId, after)) };
          deps.hub.open({
            accountId: principal.accountId,
            subject: { kind: 'batch', id: batchId },
            after,
            res,
            render: (change) => {
              if (change.workflowId === undefined) {
                const end: BatchEndEvent = {
                  batchId,
                  state: change.state as BatchState,
                  at: change.at.toISOString(),
                  counts: { ...counts },
                };
                return { event: 'end', data: end, final: true };
              }
              counts[change.fromState] -= 1;
              counts[change.state] += 1;
              const graph: BatchGraphEvent = {
                batchId,
                graphIndex: change.graphIndex ?? 0,
                ...stateChange(change),
                counts: { ...counts },
              };
              return { event: 'graph', data: graph, final: false };
            },
          });
        },
      }),
      defineRoute({
        operationId: 'streamRunEvents',
        method: 'get',
        path: '/v1/runs/{runId}/events',
        tags: ['events'],
        auth: 'bearer',
        summary: 'Follow a triggered run live: its state changes, then its end (Server-Sent Events)',
        description:
          'Starts at the run’s first change (or after `Last-Event-ID`) and ends after `event: end`, which carries the final state. Comment lines keep an idle stream open.',
        request: { params: runIdParamsSchema, headers: lastEventIdHeaders },
        responses: {
          200: eventStreamResponse('The run’s changes, as they happen.', runEvents),
          ...streamResponses,
          404: errorResponse('No such run for this account (`run_not_found`).'),
        },
        handler: async ({ params, headers, principal, res }) => {
          const workflowId = params.runId;
          const head =
            workflowId.length === 0 || workflowId.length > MAX_WORKFLOW_ID_LENGTH
              ? undefined
              : await triggeredRunProgressHead(deps.db, principal.accountId, workflowId);
          if (!head) throw new ApiError(404, 'run_not_found', 'No such run for this account');
          const after = resumePoint(head, headers['Last-Event-ID']);
          if (after === 'ended') return noContent;
          deps.hub.open({
            accountId: principal.accountId,
            subject: { kind: 'run', id: workflowId },
            after,
            res,
            render: (change) => {
              const event: RunStateEvent = { runId: encodeURIComponent(workflowId), ...stateChange(change) };
              const final = finalGraphStates.has(change.state);
              return { event: final ? 'end' : 'state', data: event, final };
            },
          });
        },
      }),
    ],
  };
}

/**
 * Where the stream starts: after the client's last event, or at the beginning; `ended` when the stream has
 * ended and the client has its end (or claims an id past it).
 */
function resumePoint(head: ProgressHead, lastEventId: string | undefined): number | 'ended' {
  const after = lastEventId === undefined ? 0 : Number(lastEventId);
  return head.final && after >= head.position ? 'ended' : after;
}

function stateChange(change: ProgressChange): Omit<RunStateEvent, 'runId'> {
  return {
    state: change.state,
    previousState: change.fromState,
    at: change.at.toISOString(),
    ...(change.throttledUntil ? { throttledUntil: change.throttledUntil.toISOString() } : {}),
    ...(change.error ? { error: change.error } : {}),
  };
}
