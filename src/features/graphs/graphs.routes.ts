/** `POST /v1/graphs:validate`: the dry run. */
import type { Config } from '../../core/config.js';
import { transformGraphSchema } from '../../core/graph/graph.js';
import { defineRoute, ok, type ApiFeature } from '../../api/define-route.js';
import { errorResponse } from '../../api/openapi-builder.js';
import { graphValidationResponseSchema } from './graphs.schemas.js';
import { parseGraph, validateGraphDryRun } from './validate-graph.js';

export function graphsFeature(deps: { config: Config }): ApiFeature {
  return {
    tags: [{ name: 'graphs', description: 'Graph validation' }],
    routes: [
      defineRoute({
        operationId: 'validateGraph',
        method: 'post',
        // A literal colon (Google-style custom method), not a path parameter.
        path: '/v1/graphs:validate',
        tags: ['graphs'],
        auth: 'bearer',
        summary: 'Dry run: validate one Transform Graph and show its compiled chains',
        description:
          'Runs every check a submission runs (shape, chain rules, storage connections and grants), stores and starts nothing. A valid graph answers 200 with each root-to-leaf chain; an invalid one answers exactly as `POST /v1/batches` would (422 or 403 with issues).',
        request: {
          body: {
            schema: transformGraphSchema,
            contentType: 'application/json',
            parse: (body) => parseGraph(deps.config, body),
          },
        },
        responses: {
          200: {
            description: 'The graph is valid.',
            content: { 'application/json': { schema: graphValidationResponseSchema } },
          },
          403: errorResponse('A bucket is not granted to the account (`access_denied`).'),
          422: errorResponse('The graph is invalid (`invalid_graph`, every issue by pointer).'),
        },
        handler: ({ body, principal }) => ok(validateGraphDryRun(deps.config, principal.accountId, body)),
      }),
    ],
  };
}
