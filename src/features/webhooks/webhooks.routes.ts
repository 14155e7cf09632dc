/** `/v1/webhooks`: subscriptions, their secrets, delivery log and redelivery (DESIGN §8, §11). */
import { Router } from 'express';
import { principalOf } from '../../api/bearer.js';
import { jsonBody } from '../../api/json-body.js';
import {
  createWebhook,
  deleteWebhook,
  getCallbackSecret,
  getWebhook,
  listWebhookDeliveries,
  listWebhooks,
  redeliver,
  rotateWebhookSecret,
  updateWebhook,
  type WebhookUseCaseDeps,
} from './webhooks.service.js';

export function webhookRoutes(deps: WebhookUseCaseDeps & { maxBodyBytes: number }): Router {
  const router = Router();
  const body = jsonBody(deps.maxBodyBytes);

  router.get('/v1/webhooks', async (_req, res) => {
    res.json(await listWebhooks(deps.db, principalOf(res).accountId));
  });

  router.post('/v1/webhooks', ...body, async (req, res) => {
    const created = await createWebhook(deps, principalOf(res).accountId, req.body as unknown);
    // The secret is in this response and nowhere else.
    res.status(201).set('Cache-Control', 'no-store').json(created);
  });

  // Before /:id, which it would otherwise match.
  router.get('/v1/webhooks/callback-secret', async (_req, res) => {
    res.set('Cache-Control', 'no-store').json(await getCallbackSecret(deps, principalOf(res).accountId));
  });

  router.get('/v1/webhooks/:id', async (req, res) => {
    res.json(await getWebhook(deps.db, principalOf(res).accountId, req.params.id));
  });

  router.patch('/v1/webhooks/:id', ...body, async (req, res) => {
    res.json(
      await updateWebhook(deps, principalOf(res).accountId, String(req.params.id), req.body as unknown),
    );
  });

  router.delete('/v1/webhooks/:id', async (req, res) => {
    await deleteWebhook(deps.db, principalOf(res).accountId, req.params.id);
    res.status(204).end();
  });

  router.post('/v1/webhooks/:id/rotate-secret', async (req, res) => {
    const rotated = await rotateWebhookSecret(deps, principalOf(res).accountId, req.params.id);
    res.set('Cache-Control', 'no-store').json(rotated);
  });

  router.get('/v1/webhooks/:id/deliveries', async (req, res) => {
    res.json(await listWebhookDeliveries(deps, principalOf(res).accountId, req.params.id, req.query));
  });

  router.post('/v1/webhooks/:id/deliveries/:deliveryId/redeliver', async (req, res) => {
    const started = await redeliver(deps, principalOf(res).accountId, req.params.id, req.params.deliveryId);
    res.status(202).json(started);
  });

  return router;
}
