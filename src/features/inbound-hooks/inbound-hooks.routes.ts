import express, { Router, type ErrorRequestHandler } from 'express';
import type { Logger } from 'pino';
import { loadOrCreateSecretsKey, type SecretsKey } from '../../core/auth/secret-box.js';
import type { Config } from '../../core/config.js';
import type { Db } from '../../db/database.js';
import type { TriggeredRuns, WorkflowLinks } from '../../core/jobs/orchestrator-ports.js';
import { ApiError } from '../../api/api-error.js';
import { principalOf } from '../../api/bearer.js';
import { jsonBody } from '../../api/json-body.js';
import {
  changeHook,
  createHook,
  getAccountHook,
  listAccountHooks,
  removeHook,
  rotateHookSecret,
} from './inbound-hooks.service.js';
import { triggerHook } from './trigger-inbound-hook.js';

/** Largest trigger body: event notifications are small, and the whole body is read before verifying. */
export const HOOK_MAX_BODY_BYTES = 256 * 1024;

export interface HookRouteDeps {
  db: Db;
  orchestrator: Pick<TriggeredRuns, 'startGraphRun'> & WorkflowLinks;
  config: Config;
  /** Loaded from config (or the data dir) on first use when not given. */
  secretsKey?: SecretsKey | undefined;
  logger?: Logger | undefined;
}

/** One load per configuration, shared by the trigger and management routes. */
const loadedKeys = new WeakMap<Config, Promise<SecretsKey>>();

function secretsKeyLoader(deps: HookRouteDeps): () => Promise<SecretsKey> {
  if (deps.secretsKey) {
    const given = Promise.resolve(deps.secretsKey);
    return () => given;
  }
  return () => {
    let loading = loadedKeys.get(deps.config);
    if (!loading) {
      loading = loadOrCreateSecretsKey(deps.config);
      loadedKeys.set(deps.config, loading);
    }
    return loading;
  };
}

const tooLargeForHooks: ErrorRequestHandler = (error: unknown, _req, _res, next) => {
  const type = (error as { type?: unknown } | null)?.type;
  next(
    type === 'entity.too.large'
      ? new ApiError(
          413,
          'payload_too_large',
          `The request body is larger than the limit of ${HOOK_MAX_BODY_BYTES} bytes`,
        )
      : error,
  );
};

/**
 * `POST /v1/hooks/{hookId}`: authenticated by the Standard Webhooks signature, not by an access token,
 * so it is mounted before `requireBearer`. The body is kept raw: the signature covers its exact bytes.
 */
export function hookTriggerRoutes(deps: HookRouteDeps): Router {
  const secretsKey = secretsKeyLoader(deps);
  const router = Router();
  router.post(
    '/v1/hooks/:hookId',
    express.raw({ type: () => true, limit: HOOK_MAX_BODY_BYTES }),
    async (req, res) => {
      const body: unknown = req.body;
      const result = await triggerHook(
        { ...deps, secretsKey },
        {
          hookId: req.params.hookId,
          headers: req.headers,
          body: Buffer.isBuffer(body) ? body : Buffer.alloc(0),
        },
      );
      res.status(202).location(result.statusUrl).json(result);
    },
  );
  router.use(tooLargeForHooks);
  return router;
}

/** `/v1/hooks` management with an account's access token. */
export function hookRoutes(deps: HookRouteDeps): Router {
  const useCaseDeps = { db: deps.db, config: deps.config, secretsKey: secretsKeyLoader(deps) };
  const router = Router();
  const body = jsonBody(deps.config.http.maxBodyBytes);

  router.get('/v1/hooks', async (_req, res) => {
    res.json(await listAccountHooks(useCaseDeps, principalOf(res).accountId));
  });

  router.post('/v1/hooks', ...body, async (req, res) => {
    const created = await createHook(useCaseDeps, principalOf(res).accountId, req.body as unknown);
    // The secret is in this response and nowhere else: keep it out of every cache.
    res.status(201).set('Cache-Control', 'no-store').location(created.triggerUrl).json(created);
  });

  router.get('/v1/hooks/:hookId', async (req, res) => {
    res.json(await getAccountHook(useCaseDeps, principalOf(res).accountId, req.params.hookId));
  });

  router.patch('/v1/hooks/:hookId', ...body, async (req, res) => {
    res.json(
      await changeHook(
        useCaseDeps,
        principalOf(res).accountId,
        String(req.params.hookId),
        req.body as unknown,
      ),
    );
  });

  router.delete('/v1/hooks/:hookId', async (req, res) => {
    await removeHook(useCaseDeps, principalOf(res).accountId, req.params.hookId);
    res.status(204).end();
  });

  router.post('/v1/hooks/:hookId/rotate-secret', async (req, res) => {
    const hookId = String(req.params.hookId);
    const rotated = await rotateHookSecret(useCaseDeps, principalOf(res).accountId, hookId);
    res.set('Cache-Control', 'no-store').json(rotated);
  });

  return router;
}
