/**
 * The SDK's browser session mode (cookie + CSRF header, no token exchange) and the resource methods the
 * dashboard calls, against a scripted server: each method's HTTP method, path, body and answer.
 */
import assert from 'node:assert/strict';
import { afterEach, describe, test } from 'node:test';
import { createClient, PixelshiftApiError } from '../../packages/client/src/index.js';
import { sendJson, startFakeApi, type FakeApi, type ReceivedRequest } from './fake-api.js';

let api: FakeApi | undefined;
afterEach(() => api?.close());

const session = {
  user: { id: 'u_1', email: 'dev@localhost', accountId: 'acct_dev' },
  csrfToken: 'csrf-1',
  expiresAt: '2026-01-01T12:00:00.000Z',
};

/** Answers every request with 200 `{}` (204 for DELETE and sign-out), the session routes with a session. */
function echo(request: ReceivedRequest, res: Parameters<Parameters<typeof startFakeApi>[0]>[1]) {
  if (request.path === '/auth/sign-in' || request.path === '/auth/session') sendJson(res, 200, session);
  else if (request.method === 'DELETE' || request.path === '/auth/sign-out') {
    res.writeHead(204);
    res.end();
  } else sendJson(res, 200, { keys: [], rules: [], hooks: [], webhooks: [], batches: [] });
}

function sessionClient(server: FakeApi, csrfToken?: () => string | undefined) {
  return createClient({
    baseUrl: server.url,
    session: csrfToken ? { csrfToken } : {},
    retry: { baseDelayMs: 5, maxDelayMs: 20 },
  });
}

describe('session mode', () => {
  test('when a session client reads and writes, then no token is requested, no Authorization header is sent, and only the writes carry X-CSRF-Token', async () => {
    api = await startFakeApi(echo);
    const client = sessionClient(api, () => 'csrf-given');

    await client.keys.list();
    await client.keys.create({ label: 'ci' });
    await client.keys.revoke('pk_1');
    await client.account.setThrottle({ transformsPerHour: 50 });

    assert.equal(api.tokenRequests.length, 0);
    assert.deepEqual(
      api.requests.map((r) => [r.method, r.headers.authorization, r.headers['x-csrf-token']]),
      [
        ['GET', undefined, undefined],
        ['POST', undefined, 'csrf-given'],
        ['DELETE', undefined, 'csrf-given'],
        ['PUT', undefined, 'csrf-given'],
      ],
    );
  });

  test('when no token source is given, then the CSRF token of the last sign-in is sent, and none after sign-out', async () => {
    api = await startFakeApi(echo);
    const client = sessionClient(api);

    const signedIn = await client.session.signIn('dev@localhost', 'pw');
    await client.rules.delete('r_1');
    await client.session.signOut();
    await client.rules.delete('r_2');

    assert.equal(signedIn.user.accountId, 'acct_dev');
    const [signIn, del1, signOut, del2] = api.requests;
    assert.deepEqual(JSON.parse(signIn!.body), { email: 'dev@localhost', password: 'pw' });
    assert.equal(signIn!.headers['x-csrf-token'], undefined);
    assert.equal(del1!.headers['x-csrf-token'], 'csrf-1');
    assert.equal(signOut!.path, '/auth/sign-out');
    assert.equal(signOut!.headers['x-csrf-token'], 'csrf-1');
    assert.equal(del2!.headers['x-csrf-token'], undefined);
  });

  test('when a reloaded page asks for its session, then the CSRF token answered is used for the next write', async () => {
    api = await startFakeApi(echo);
    const client = sessionClient(api);

    await client.session.get();
    await client.hooks.rotateSecret('h_1');

    assert.equal(api.requests[0]!.path, '/auth/session');
    assert.equal(api.requests[1]!.headers['x-csrf-token'], 'csrf-1');
  });

  test('when the server answers 401, then the session client fails at once with the error, without retrying or fetching a token', async () => {
    api = await startFakeApi((_request, res) =>
      sendJson(res, 401, { error: { code: 'unauthorized', message: 'Sign in' } }),
    );

    const error = await sessionClient(api)
      .account.get()
      .catch((e: unknown) => e);

    assert.ok(error instanceof PixelshiftApiError);
    assert.equal(error.status, 401);
    assert.equal(error.code, 'unauthorized');
    assert.equal(api.requests.length, 1);
    assert.equal(api.tokenRequests.length, 0);
  });

  test('when an empty base URL is given, then thumbnail URLs are paths on the page’s own origin', () => {
    const client = createClient({ baseUrl: '', session: {} });

    assert.equal(
      client.batches.thumbnailUrl('b 1', 2, 0, 128),
      '/v1/batches/b%201/graphs/2/outputs/0/thumbnail?size=128',
    );
    assert.equal(client.batches.thumbnailUrl('b_1', 0, 1), '/v1/batches/b_1/graphs/0/outputs/1/thumbnail');
  });
});

describe('resource methods', () => {
  test('when each dashboard call is made, then it reaches its route with its method and body', async () => {
    api = await startFakeApi(echo);
    const client = createClient({ baseUrl: api.url, clientId: 'key_1', clientSecret: 's3cret' });
    const template = {
      transformUnits: [{ type: 'StorageSink' as const, bucket: 'b', key: 'out/{name}.webp' }],
    };

    await client.batches.listPage({ state: 'failed', q: 'b_1', pageSize: 10 });
    await client.batches.cancel('b_1');
    await client.batches.retryFailed('b_1', { idempotencyKey: 'retry-1' });
    await client.batches.graphsPage('b_1', { pageSize: 5 });
    await client.runs.listPage({ trigger: 's3', rule: 'r_1', state: 'failed' });
    await client.account.get();
    await client.account.getThrottle();
    await client.rules.create({ bucket: 'b', template });
    await client.rules.replace('r_1', { bucket: 'b', template });
    await client.hooks.update('h_1', { enabled: false });
    await client.hooks.delete('h_1');
    await client.webhooks.create({ url: 'https://example.com/h', events: ['graph.failed'] });
    await client.webhooks.update('w_1', { enabled: false });
    await client.webhooks.rotateSecret('w_1');
    await client.webhooks.deliveries('w_1', { pageSize: 20 });
    await client.webhooks.redeliver('w_1', 'd_1');
    await client.webhooks.sendTest('w_1');
    await client.graphs.validate({ transformUnits: [] });

    assert.deepEqual(
      api.requests.map((r) => `${r.method} ${r.path}`),
      [
        'GET /v1/batches?state=failed&q=b_1&pageSize=10',
        'POST /v1/batches/b_1/cancel',
        'POST /v1/batches/b_1/retry-failed',
        'GET /v1/batches/b_1/graphs?pageSize=5',
        'GET /v1/runs?trigger=s3&rule=r_1&state=failed',
        'GET /v1/account',
        'GET /v1/account/throttle',
        'POST /v1/rules',
        'PUT /v1/rules/r_1',
        'PATCH /v1/hooks/h_1',
        'DELETE /v1/hooks/h_1',
        'POST /v1/webhooks',
        'PATCH /v1/webhooks/w_1',
        'POST /v1/webhooks/w_1/rotate-secret',
        'GET /v1/webhooks/w_1/deliveries?pageSize=20',
        'POST /v1/webhooks/w_1/deliveries/d_1/redeliver',
        'POST /v1/webhooks/w_1/test',
        'POST /v1/graphs:validate',
      ],
    );
    assert.equal(api.requests[2]!.headers['idempotency-key'], 'retry-1');
    assert.deepEqual(JSON.parse(api.requests[7]!.body), { bucket: 'b', template });
    assert.deepEqual(JSON.parse(api.requests[9]!.body), { enabled: false });
    // Bearer clients are unchanged: a token, no CSRF header.
    assert.ok(api.requests.every((r) => r.headers.authorization === 'Bearer token-1'));
    assert.ok(api.requests.every((r) => r.headers['x-csrf-token'] === undefined));
  });

  test('when listings answer, then the methods give their items', async () => {
    api = await startFakeApi((request, res) => {
      if (request.path === '/v1/keys')
        sendJson(res, 200, {
          keys: [{ keyId: 'pk_1', label: null, createdAt: 'x', lastUsedAt: null, revokedAt: null }],
        });
      else if (request.path === '/v1/webhooks') sendJson(res, 200, { webhooks: [{ id: 'w_1' }] });
      else sendJson(res, 200, { rules: [{ ruleId: 'r_1' }] });
    });
    const client = createClient({ baseUrl: api.url, clientId: 'key_1', clientSecret: 's3cret' });

    assert.deepEqual(
      (await client.keys.list()).map((k) => k.keyId),
      ['pk_1'],
    );
    assert.deepEqual(
      (await client.webhooks.list()).map((w) => w.id),
      ['w_1'],
    );
    assert.deepEqual(
      (await client.rules.list()).map((r) => r.ruleId),
      ['r_1'],
    );
  });

  test('when the dry run refuses a graph, then the error carries each issue with its pointer', async () => {
    const issue = { path: '/transformUnits/1/width', code: 'too_small', message: 'Expected at least 1' };
    api = await startFakeApi((_request, res) =>
      sendJson(res, 422, {
        error: { code: 'invalid_graph', message: 'The graph is invalid', issues: [issue] },
      }),
    );
    const client = createClient({ baseUrl: api.url, clientId: 'key_1', clientSecret: 's3cret' });

    const error = await client.graphs.validate({ transformUnits: [] }).catch((e: unknown) => e);

    assert.ok(error instanceof PixelshiftApiError);
    assert.equal(error.code, 'invalid_graph');
    assert.deepEqual(error.issues, [issue]);
    assert.equal(api.requests.length, 1);
  });

  test('when batches are listed across pages, then every page is followed with its token', async () => {
    api = await startFakeApi((request, res) => {
      if (request.path.includes('pageToken=p2')) sendJson(res, 200, { batches: [{ batchId: 'b_2' }] });
      else sendJson(res, 200, { batches: [{ batchId: 'b_1' }], nextPageToken: 'p2' });
    });
    const client = createClient({ baseUrl: api.url, clientId: 'key_1', clientSecret: 's3cret' });

    const ids: string[] = [];
    for await (const batch of client.batches.list({ state: 'running' })) ids.push(batch.batchId);

    assert.deepEqual(ids, ['b_1', 'b_2']);
    assert.equal(api.requests[1]!.path, '/v1/batches?state=running&pageToken=p2');
  });
});
