/** Triggered runs: the S3-triggered list, and one run by its URI-encoded workflow ID (any trigger). */
import type { z } from 'zod';
import { defineRoute, ok, type ApiFeature } from '../../api/define-route.js';
import { errorResponse } from '../../api/openapi-builder.js';
import { runIdParamsSchema, runListQuerySchema, runListSchema, runResponseSchema } from './runs.schemas.js';
import { getRun, listS3Runs, type RunDeps } from './runs.service.js';

const json = (schema: z.ZodType) => ({ 'application/json': { schema } });

const engineUnavailable = errorResponse('The job engine is unavailable (`orchestrator_unavailable`).');

/** The `events` tag is described by the bucket events feature, whose ingress starts these runs. */
export function runsFeature(deps: RunDeps): ApiFeature {
  return {
    routes: [
      defineRoute({
        operationId: 'listS3Runs',
        method: 'get',
        path: '/v1/events/s3/runs',
        tags: ['events'],
        auth: 'bearer',
        summary: 'Runs started by bucket events for this account, newest first',
        description: 'Query parameters other than those listed are refused (`invalid_request`).',
        request: { query: runListQuerySchema },
        responses: {
          200: { description: 'One page of runs.', content: json(runListSchema) },
          400: errorResponse(
            'A query value is invalid, unknown or repeated, or `pageToken` is not one this API handed out (`invalid_request`, issues by parameter).',
          ),
          503: engineUnavailable,
        },
        handler: async ({ query, principal }) => ok(await listS3Runs(deps, principal.accountId, query)),
      }),
      defineRoute({
        operationId: 'getRun',
        method: 'get',
        path: '/v1/runs/{runId}',
        tags: ['events'],
        auth: 'bearer',
        summary: 'One triggered run (rule or inbound hook): its state and per-sink outcome',
        // Express decodes the segment: `s3%2Fdefault%2Fphotos%2F…` arrives as `s3/default/photos/…`.
        request: { params: runIdParamsSchema },
        responses: {
          200: { description: 'The run’s outcome so far.', content: json(runResponseSchema) },
          400: errorResponse('The path segment is not valid percent-encoding (`invalid_request`).'),
          404: errorResponse('No such run for this account (`run_not_found`).'),
          503: engineUnavailable,
        },
        handler: async ({ params, principal }) => ok(await getRun(deps, principal.accountId, params.runId)),
      }),
    ],
  };
}
