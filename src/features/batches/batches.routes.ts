import { Router } from 'express';
import type { Logger } from 'pino';
import type { Config } from '../../core/config.js';
import type { Db } from '../../db/database.js';
import type { BatchJobs, WorkflowLinks } from '../../core/jobs/orchestrator-ports.js';
import { ApiError } from '../../api/api-error.js';
import { principalOf } from '../../api/bearer.js';
import { jsonBody } from '../../api/json-body.js';
import { cancelBatch } from './cancel-batch.js';
import { getBatchGraph } from './get-batch-graph.js';
import { getBatchStatus } from './get-batch-status.js';
import { submitBatch } from './submit-batch.js';

export interface BatchRouteDeps {
  db: Db;
  orchestrator: BatchJobs & WorkflowLinks;
  config: Config;
  logger?: Logger | undefined;
}

/** 1–255 visible ASCII characters, as common Idempotency-Key implementations accept. */
const idempotencyKeyPattern = /^[\x21-\x7e]{1,255}$/;

function idempotencyKeyOf(header: string | undefined): string | undefined {
  if (header === undefined) return undefined;
  if (!idempotencyKeyPattern.test(header)) {
    throw new ApiError(
      400,
      'invalid_request',
      'Expected 1 to 255 visible ASCII characters for the Idempotency-Key header',
    );
  }
  return header;
}

export function batchRoutes(deps: BatchRouteDeps): Router {
  const router = Router();

  router.post('/v1/batches', ...jsonBody(deps.config.http.maxBodyBytes), async (req, res) => {
    const idempotencyKey = idempotencyKeyOf(req.get('Idempotency-Key'));
    const { response, replayed } = await submitBatch(deps, {
      accountId: principalOf(res).accountId,
      body: req.body as unknown,
      idempotencyKey,
    });
    if (replayed) res.set('Idempotent-Replayed', 'true');
    res.status(201).location(response.statusUrl).json(response);
  });

  router.get('/v1/batches/:batchId', async (req, res) => {
    res.json(await getBatchStatus(deps, principalOf(res).accountId, req.params.batchId));
  });

  router.get('/v1/batches/:batchId/graphs/:index', async (req, res) => {
    res.json(await getBatchGraph(deps, principalOf(res).accountId, req.params.batchId, req.params.index));
  });

  router.post('/v1/batches/:batchId/cancel', async (req, res) => {
    res.status(202).json(await cancelBatch(deps, principalOf(res).accountId, req.params.batchId));
  });

  return router;
}
