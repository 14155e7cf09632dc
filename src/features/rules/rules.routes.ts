/** `/v1/rules`: create, list, read, replace (PUT) and delete the account's upload rules. */
import { z } from 'zod';
import { defineRoute, noContent, ok, reply, type ApiFeature } from '../../api/define-route.js';
import { errorResponse } from '../../api/openapi-builder.js';
import { ruleListSchema, ruleRequestSchema, ruleResponseSchema } from './rules.schemas.js';
import {
  createRule,
  getAccountRule,
  listAccountRules,
  parseRuleBody,
  removeRule,
  replaceRule,
  type RuleDeps,
} from './rules.service.js';

const json = (schema: z.ZodType) => ({ 'application/json': { schema } });

const ruleIdParams = z.object({
  ruleId: z.string().describe('Rule id, e.g. rule_06h24q7wkp9fjg0znfwzphyzer'),
});

/** The rule as documented (RuleRequest); its shape is checked here, everything else by the service. */
const ruleBody = {
  schema: ruleRequestSchema,
  contentType: 'application/json',
  parse: parseRuleBody,
} as const;

const noSuchRule = errorResponse('No such rule for this account (`not_found`).');
const ruleRefusals = {
  403: errorResponse(
    'The watched bucket or a bucket of the template is not granted to the account (`access_denied`, issues `bucket_not_granted`).',
  ),
  422: errorResponse(
    'Invalid body (`invalid_body`: unknown field, unknown connection, minSize above maxSize…), invalid template (`invalid_graph`, issues under `/template`), or a rule whose outputs could trigger itself (`rule_would_loop`, the looping sinks by pointer).',
  ),
};

export function rulesFeature(deps: RuleDeps): ApiFeature {
  return {
    tags: [{ name: 'rules', description: 'Upload rules: bucket events that start graphs' }],
    routes: [
      defineRoute({
        operationId: 'createRule',
        method: 'post',
        path: '/v1/rules',
        tags: ['rules'],
        auth: 'bearer',
        summary: 'Create an upload rule: objects created in a bucket start a graph',
        description:
          'The template is a graph without its source; the uploaded object becomes the source. Every check runs before anything is saved: the template with the graph validator, the buckets against the account’s grants, and that no sink could write an object the rule itself matches (its own bucket, a key that could start with its prefix and end with its suffix, a content type it accepts). Outputs carry generated metadata and never trigger rules.',
        request: { body: ruleBody },
        responses: {
          201: { description: 'Saved. `Location` is the rule’s URL.', content: json(ruleResponseSchema) },
          ...ruleRefusals,
        },
        handler: async ({ body, principal }) => {
          const rule = await createRule(deps, principal.accountId, body);
          return reply(201, rule, { Location: `/v1/rules/${rule.ruleId}` });
        },
      }),
      defineRoute({
        operationId: 'listRules',
        method: 'get',
        path: '/v1/rules',
        tags: ['rules'],
        auth: 'bearer',
        summary: 'The account’s rules, oldest first',
        responses: { 200: { description: 'All rules.', content: json(ruleListSchema) } },
        handler: async ({ principal }) => ok(await listAccountRules(deps, principal.accountId)),
      }),
      defineRoute({
        operationId: 'getRule',
        method: 'get',
        path: '/v1/rules/{ruleId}',
        tags: ['rules'],
        auth: 'bearer',
        summary: 'One rule',
        request: { params: ruleIdParams },
        responses: {
          200: { description: 'The rule.', content: json(ruleResponseSchema) },
          404: noSuchRule,
        },
        handler: async ({ params, principal }) =>
          ok(await getAccountRule(deps, principal.accountId, params.ruleId)),
      }),
      defineRoute({
        operationId: 'replaceRule',
        method: 'put',
        path: '/v1/rules/{ruleId}',
        tags: ['rules'],
        auth: 'bearer',
        summary:
          'Replace a rule: the body is the whole new rule (omitted optional fields take their defaults)',
        request: { params: ruleIdParams, body: ruleBody },
        responses: {
          200: { description: 'The rule as saved.', content: json(ruleResponseSchema) },
          404: noSuchRule,
          ...ruleRefusals,
        },
        handler: async ({ params, body, principal }) =>
          ok(await replaceRule(deps, principal.accountId, params.ruleId, body)),
      }),
      defineRoute({
        operationId: 'deleteRule',
        method: 'delete',
        path: '/v1/rules/{ruleId}',
        tags: ['rules'],
        auth: 'bearer',
        summary: 'Delete a rule; runs it started keep running',
        request: { params: ruleIdParams },
        responses: {
          204: { description: 'Deleted.' },
          404: noSuchRule,
        },
        handler: async ({ params, principal }) => {
          await removeRule(deps, principal.accountId, params.ruleId);
          return noContent;
        },
      }),
    ],
  };
}
