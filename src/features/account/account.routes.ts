import { Router } from 'express';
import { principalOf } from '../../api/bearer.js';
import { jsonBody } from '../../api/json-body.js';
import { getThrottle, putThrottle, type AccountThrottleDeps } from './account-throttle.js';

export function accountRoutes(deps: AccountThrottleDeps & { maxBodyBytes: number }): Router {
  const router = Router();

  router.get('/v1/account/throttle', async (_req, res) => {
    res.json(await getThrottle(deps, principalOf(res).accountId));
  });

  router.put('/v1/account/throttle', ...jsonBody(deps.maxBodyBytes), async (req, res) => {
    res.json(await putThrottle(deps, principalOf(res).accountId, req.body as unknown));
  });

  return router;
}
