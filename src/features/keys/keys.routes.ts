import { Router } from 'express';
import type { KeyStatusCache } from '../../api/key-status.js';
import type { Db } from '../../db/database.js';
import { principalOf } from '../../api/bearer.js';
import { jsonBody } from '../../api/json-body.js';
import { createKey, listKeys, revokeKey } from './keys.service.js';

export function keyRoutes(deps: { db: Db; keyStatus: KeyStatusCache; maxBodyBytes: number }): Router {
  const router = Router();

  router.get('/v1/keys', async (_req, res) => {
    res.json(await listKeys(deps.db, principalOf(res).accountId));
  });

  router.post('/v1/keys', ...jsonBody(deps.maxBodyBytes), async (req, res) => {
    const created = await createKey(deps.db, principalOf(res).accountId, req.body as unknown);
    // The secret is in this response and nowhere else: keep it out of every cache.
    res.status(201).set('Cache-Control', 'no-store').json(created);
  });

  router.delete('/v1/keys/:keyId', async (req, res) => {
    await revokeKey(deps.db, deps.keyStatus, principalOf(res).accountId, req.params.keyId);
    res.status(204).end();
  });

  return router;
}
