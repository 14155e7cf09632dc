/** `/v1/account`: the calling account and its settings (its throttle). */
import type { z } from 'zod';
import { defineRoute, ok, type ApiFeature } from '../../api/define-route.js';
import { errorResponse } from '../../api/openapi-builder.js';
import {
  getAccount,
  getThrottle,
  parseThrottleUpdate,
  putThrottle,
  windowSeconds,
  type AccountThrottleDeps,
} from './account-throttle.js';
import { accountUsage, maxBuckets, usageCsv } from './account-usage.js';
import {
  accountSchema,
  throttleSettingsSchema,
  throttleUpdateSchemaFor,
  usageCsvSchema,
  usageQuerySchema,
  usageReportSchema,
} from './account.schemas.js';

const json = (schema: z.ZodType) => ({ 'application/json': { schema } });

export function accountFeature(deps: AccountThrottleDeps): ApiFeature {
  const throttleUpdateSchema = throttleUpdateSchemaFor(windowSeconds(deps.config));
  return {
    tags: [{ name: 'account', description: 'The account, its settings (the throttle) and its usage' }],
    routes: [
      defineRoute({
        operationId: 'getAccount',
        method: 'get',
        path: '/v1/account',
        tags: ['account'],
        auth: 'bearer',
        summary: 'The calling account: its id, its throttle and how many API key pairs it has',
        responses: { 200: { description: 'The account.', content: json(accountSchema) } },
        handler: async ({ principal }) => ok(await getAccount(deps, principal.accountId)),
      }),
      defineRoute({
        operationId: 'getThrottle',
        method: 'get',
        path: '/v1/account/throttle',
        tags: ['account'],
        auth: 'bearer',
        summary: 'The account’s throttle: transforms (graph runs) per rolling window',
        responses: { 200: { description: 'The current setting.', content: json(throttleSettingsSchema) } },
        handler: async ({ principal }) => ok(await getThrottle(deps, principal.accountId)),
      }),
      defineRoute({
        operationId: 'setThrottle',
        method: 'put',
        path: '/v1/account/throttle',
        tags: ['account'],
        auth: 'bearer',
        summary: 'Change the throttle; it applies at once to every graph that has not started',
        description:
          'Work over the limit is never refused: it waits, shown as `throttled` with `throttledUntil`. A raised limit lets waiting graphs start within a second or two; a lowered one moves waiting graphs later. Graphs already started are not affected.',
        request: {
          body: {
            schema: throttleUpdateSchema,
            contentType: 'application/json',
            parse: (body) => parseThrottleUpdate(throttleUpdateSchema, body),
          },
        },
        responses: {
          200: { description: 'The new setting.', content: json(throttleSettingsSchema) },
          422: errorResponse(
            'Invalid body (`invalid_body`): not an integer from 1 to 1000000, an unknown field, or a changed `windowSeconds`.',
          ),
          503: errorResponse(
            'Saved, but the job engine could not be told (`orchestrator_unavailable`): send the same value again to wake waiting graphs.',
          ),
        },
        handler: async ({ body, principal }) => ok(await putThrottle(deps, principal.accountId, body)),
      }),
      defineRoute({
        operationId: 'getUsage',
        method: 'get',
        path: '/v1/account/usage',
        tags: ['account'],
        auth: 'bearer',
        summary:
          'The account’s usage per UTC hour or day: graphs by final state, transforms, megapixels, bytes',
        description: `JSON by default; CSV with \`Accept: text/csv\`. The range is whole buckets (\`from\` moved back to the start of its bucket, \`to\` on to the end of its own), and every bucket of it is listed, zeros where nothing happened. Graphs count in the bucket they ended in, transforms in the one they started in. One request covers at most ${maxBuckets.hour} hours or ${maxBuckets.day} days. Query parameters other than those listed are refused (\`invalid_request\`).`,
        request: { query: usageQuerySchema },
        responses: {
          200: { description: 'Usage per bucket, and its totals.', content: json(usageReportSchema) },
          400: errorResponse(
            'A query value is invalid, unknown or repeated (`invalid_request`, issues by parameter): `from` not before `to` (issue `inverted_range`), or a range longer than allowed (issue `range_too_long`).',
          ),
        },
        representations: { 'text/csv': { schema: usageCsvSchema, render: usageCsv } },
        handler: async ({ query, principal }) => ok(await accountUsage(deps, principal.accountId, query)),
      }),
    ],
  };
}
