/** `/healthz` (the process answers), `/readyz` (its dependencies answer too), `/metrics` (Prometheus). */
import { z } from 'zod';
import type { Registry } from 'prom-client';
import { defineRoute, ok, reply, type ApiFeature } from '../../api/define-route.js';
import { checkReadiness, type ReadinessDeps } from './check-readiness.js';
import { healthSchema, readinessSchema } from './operations.schemas.js';

const noStore = { 'Cache-Control': 'no-store' };

export function operationsFeature(deps: ReadinessDeps & { registry: Registry }): ApiFeature {
  return {
    tags: [{ name: 'operations', description: 'Health, readiness, metrics' }],
    routes: [
      defineRoute({
        operationId: 'health',
        method: 'get',
        path: '/healthz',
        tags: ['operations'],
        auth: 'none',
        summary: 'Liveness: the process answers',
        responses: {
          200: { description: 'Alive.', content: { 'application/json': { schema: healthSchema } } },
        },
        handler: () => ok({ status: 'ok' }, noStore),
      }),
      defineRoute({
        operationId: 'readiness',
        method: 'get',
        path: '/readyz',
        tags: ['operations'],
        auth: 'none',
        summary: 'Readiness: the database and the job engine answer',
        responses: {
          200: { description: 'Ready.', content: { 'application/json': { schema: readinessSchema } } },
          503: {
            description: 'A dependency is down; `checks` says which.',
            content: { 'application/json': { schema: readinessSchema } },
          },
        },
        handler: async () => {
          const readiness = await checkReadiness(deps);
          return reply(readiness.status === 'ready' ? 200 : 503, readiness, noStore);
        },
      }),
      defineRoute({
        operationId: 'metrics',
        method: 'get',
        path: '/metrics',
        tags: ['operations'],
        auth: 'none',
        summary: 'Prometheus metrics',
        responses: {
          200: {
            description: 'Prometheus text exposition format.',
            content: { 'text/plain': { schema: z.string() } },
          },
        },
        handler: async ({ res }) => {
          res.set('Content-Type', deps.registry.contentType).send(await deps.registry.metrics());
        },
      }),
    ],
  };
}
