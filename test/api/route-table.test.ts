import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Express } from 'express';
import request from 'supertest';
import { openApiDocumentOf } from '../../src/app/http-app.js';
import { expressPath } from '../../src/api/define-route.js';
import { createTestAccount, createTestApi, type TestAccount, type TestApi } from '../support/api-harness.js';

interface Operation {
  requestBody?: { content?: Record<string, unknown> };
  security?: Record<string, string[]>[];
}

interface Layer {
  route?: { path: string; methods: Record<string, boolean> };
  handle?: { stack?: Layer[] };
}

/** Every `METHOD path` the app routes, nested routers included; 405 fallbacks (`app.all`) are not routes. */
function mountedRoutes(app: Express): string[] {
  const found: string[] = [];
  const walk = (stack: Layer[]) => {
    for (const layer of stack) {
      if (layer.route) {
        // `app.all` marks every method: that is a path's 405 fallback, not an operation.
        if (Object.keys(layer.route.methods).length > 10) continue;
        for (const [method, on] of Object.entries(layer.route.methods)) {
          if (on) found.push(`${method.toUpperCase()} ${layer.route.path}`);
        }
      } else if (layer.handle?.stack) {
        walk(layer.handle.stack);
      }
    }
  };
  walk((app as unknown as { router: { stack: Layer[] } }).router.stack);
  return found.sort();
}

describe('the route table and the document', () => {
  let api: TestApi;
  let account: TestAccount;
  before(async () => {
    api = await createTestApi();
    account = await createTestAccount(api);
  });
  after(() => api.close());

  test('when the app is built, then the routes it mounts are exactly the operations it documents', () => {
    const paths = openApiDocumentOf(api.app).paths ?? {};
    const documented = Object.entries(paths)
      .flatMap(([path, item]) =>
        Object.keys(item as object)
          .filter((key) => ['get', 'post', 'put', 'patch', 'delete'].includes(key))
          .map((method) => `${method.toUpperCase()} ${expressPath(path)}`),
      )
      .sort();
    assert.deepEqual(mountedRoutes(api.app), documented);
  });

  test('when any operation that takes a body gets one past the server’s limit, then 413 before it is read', async () => {
    // A connection with an event token, so that POST /v1/events/s3 gets past its authentication to its body.
    const eventsToken = 'route-table-events-token';
    api.config.storage.connections.lake = { kind: 's3', region: 'us-east-1', events: { token: eventsToken } };
    const credentials: Record<string, Record<string, string>> = {
      bearerAuth: account.auth,
      eventToken: { Authorization: `Bearer ${eventsToken}` },
      // Well-formed signature headers: their form is checked before the body, the signature after it.
      hookSignature: {
        'webhook-id': 'msg_route_table',
        'webhook-timestamp': String(Math.floor(Date.now() / 1000)),
        'webhook-signature': `v1,${Buffer.alloc(32).toString('base64')}`,
      },
    };
    const oversized = api.config.http.maxBodyBytes + 1;
    const document = openApiDocumentOf(api.app);
    const paths = document.paths ?? {};
    const answers: string[] = [];
    const expected: string[] = [];
    for (const [path, item] of Object.entries(paths)) {
      for (const [method, operation] of Object.entries(item as Record<string, Operation>)) {
        const contentType = Object.keys(operation.requestBody?.content ?? {})[0];
        if (!contentType) continue;
        const headers: Record<string, string> = { 'Content-Type': contentType };
        for (const requirement of operation.security ?? document.security ?? []) {
          for (const scheme of Object.keys(requirement)) Object.assign(headers, credentials[scheme]);
        }
        const url = path.replace(/\{[^}]+\}/g, 'x');
        const body = contentType.includes('form')
          ? `grant_type=${'x'.repeat(oversized)}`
          : 'x'.repeat(oversized);
        const res = await request(api.app)[method as 'post'](url).set(headers).send(body);
        // The token endpoint answers in the OAuth error format (RFC 6749 §5.2), everything else in the API's.
        const code = path === '/oauth/token' ? res.body.error : res.body.error?.code;
        answers.push(`${method.toUpperCase()} ${path} ${res.status} ${code}`);
        expected.push(
          `${method.toUpperCase()} ${path} 413 ${path === '/oauth/token' ? 'invalid_request' : 'payload_too_large'}`,
        );
      }
    }
    assert.ok(answers.length >= 15, `every operation with a body was sent one (${answers.length})`);
    assert.deepEqual(answers, expected);
  });

  test('when a known path is asked with a method it does not have, then 405 lists every method in Allow', async () => {
    const res = await request(api.app).delete('/v1/batches').set(account.auth).expect(405);
    assert.equal(res.headers.allow, 'GET, HEAD, OPTIONS, POST');
    assert.equal(res.body.error.code, 'method_not_allowed');
    const read = await request(api.app).put('/v1/keys/pk_x').set(account.auth).expect(405);
    assert.equal(read.headers.allow, 'DELETE, OPTIONS');
  });

  test('when a wrong method is sent to a token route without a token, then 401 reveals nothing', async () => {
    await request(api.app).delete('/v1/batches').expect(401);
  });

  test('when a public path is asked with a wrong method, then 405 without needing a token', async () => {
    const res = await request(api.app).get('/oauth/token').expect(405);
    assert.equal(res.headers.allow, 'OPTIONS, POST');
  });

  test('when OPTIONS is asked of a known path, then 204 with the Allow header', async () => {
    const res = await request(api.app).options('/healthz').expect(204);
    assert.equal(res.headers.allow, 'GET, HEAD, OPTIONS');
  });
});
