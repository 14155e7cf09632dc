import { Router } from 'express';
import { principalOf } from '../../api/bearer.js';
import { getRun, listS3Runs, type RunDeps } from './runs.service.js';

/** Triggered runs: the S3-triggered list, and one run by its URI-encoded workflow ID (any trigger). */
export function runRoutes(deps: RunDeps): Router {
  const router = Router();

  router.get('/v1/events/s3/runs', async (req, res) => {
    res.json(await listS3Runs(deps, principalOf(res).accountId, req.query));
  });

  // Express decodes the segment: `s3%2Fdefault%2Fphotos%2F…` arrives as `s3/default/photos/…`.
  router.get('/v1/runs/:runId', async (req, res) => {
    res.json(await getRun(deps, principalOf(res).accountId, req.params.runId));
  });

  return router;
}
