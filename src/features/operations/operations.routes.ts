import { Router } from 'express';
import type { Registry } from 'prom-client';
import { checkReadiness, type ReadinessDeps } from './check-readiness.js';

/** `/healthz` (the process answers), `/readyz` (its dependencies answer too), `/metrics` (Prometheus). */
export function operationRoutes(deps: ReadinessDeps & { registry: Registry }): Router {
  const router = Router();

  router.get('/healthz', (_req, res) => {
    res.set('Cache-Control', 'no-store').json({ status: 'ok' });
  });

  router.get('/readyz', async (_req, res) => {
    const readiness = await checkReadiness(deps);
    res
      .status(readiness.status === 'ready' ? 200 : 503)
      .set('Cache-Control', 'no-store')
      .json(readiness);
  });

  router.get('/metrics', async (_req, res) => {
    res.set('Content-Type', deps.registry.contentType).send(await deps.registry.metrics());
  });

  return router;
}
