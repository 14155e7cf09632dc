import { Router } from 'express';
import type { Config } from '../../core/config.js';
import { principalOf } from '../../api/bearer.js';
import { jsonBody } from '../../api/json-body.js';
import { validateGraphDryRun } from './validate-graph.js';

export function graphRoutes(deps: { config: Config }): Router {
  const router = Router();
  // `\:` — a literal colon (Google-style custom method), not a path parameter.
  router.post('/v1/graphs\\:validate', ...jsonBody(deps.config.http.maxBodyBytes), (req, res) => {
    res.json(validateGraphDryRun(deps.config, principalOf(res).accountId, req.body as unknown));
  });
  return router;
}
