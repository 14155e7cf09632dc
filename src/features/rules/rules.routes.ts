import { Router } from 'express';
import { principalOf } from '../../api/bearer.js';
import { jsonBody } from '../../api/json-body.js';
import {
  createRule,
  getAccountRule,
  listAccountRules,
  removeRule,
  replaceRule,
  type RuleDeps,
} from './rules.service.js';

/** `/v1/rules`: create, list, read, replace (PUT) and delete the account's upload rules. */
export function ruleRoutes(deps: RuleDeps & { maxBodyBytes: number }): Router {
  const router = Router();
  const body = jsonBody(deps.maxBodyBytes);

  router.post('/v1/rules', ...body, async (req, res) => {
    const rule = await createRule(deps, principalOf(res).accountId, req.body as unknown);
    res.status(201).location(`/v1/rules/${rule.ruleId}`).json(rule);
  });

  router.get('/v1/rules', async (_req, res) => {
    res.json(await listAccountRules(deps, principalOf(res).accountId));
  });

  router.get('/v1/rules/:ruleId', async (req, res) => {
    res.json(await getAccountRule(deps, principalOf(res).accountId, req.params.ruleId));
  });

  router.put('/v1/rules/:ruleId', ...body, async (req, res) => {
    res.json(
      await replaceRule(deps, principalOf(res).accountId, req.params.ruleId as string, req.body as unknown),
    );
  });

  router.delete('/v1/rules/:ruleId', async (req, res) => {
    await removeRule(deps, principalOf(res).accountId, req.params.ruleId);
    res.status(204).end();
  });

  return router;
}
