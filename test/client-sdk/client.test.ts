/**
 * The SDK's requests against a scripted server: tokens (cached, renewed once, refused), retries of
 * submissions with one Idempotency-Key, errors with every issue, and paged listings as iterators.
 */
import assert from 'node:assert/strict';
import { afterEach, describe, test } from 'node:test';
import { createClient, PixelshiftApiError, type TransformGraph } from '../../packages/client/src/index.js';
import { bearerOf, sendJson, startFakeApi, type FakeApi } from './fake-api.js';

const graph: TransformGraph = {
  transformUnits: [
    { type: 'StorageSource', bucket: 'photos', key: 'in/cat.jpg' },
    { type: 'ImageFormat', format: 'webp' },
    { type: 'StorageSink', bucket: 'photos', key: 'out/cat.webp' },
  ],
};
const accepted = {
  batchId: 'b_1',
  graphsAccepted: 1,
  workflowId: 'batch-b_1',
  statusUrl: '/v1/batches/b_1',
  createdAt: '2026-01-01T00:00:00.000Z',
};
// Short backoff steps keep the suite quick; Retry-After still decides when the server names one.
const fastRetry = { baseDelayMs: 5, maxDelayMs: 50 };

let api: FakeApi | undefined;
afterEach(() => api?.close());

function clientOf(server: FakeApi, retry: object = fastRetry) {
  return createClient({ baseUrl: server.url, clientId: 'key_1', clientSecret: 's3cret', retry });
}

describe('batches.submit', () => {
  test('when the server answers 503 twice and then 201, then one batch is started and every attempt carried the same Idempotency-Key', async () => {
    let attempts = 0;
    api = await startFakeApi((_request, res) => {
      attempts++;
      if (attempts <= 2)
        sendJson(
          res,
          503,
          { error: { code: 'orchestrator_unavailable', message: 'busy' } },
          { 'Retry-After': '0' },
        );
      else sendJson(res, 201, accepted);
    });

    const started = await clientOf(api).batches.submit([graph]);

    assert.equal(started.batchId, 'b_1');
    assert.equal(api.requests.length, 3);
    const keys = api.requests.map((request) => request.headers['idempotency-key']);
    assert.match(String(keys[0]), /^[0-9a-f-]{36}$/);
    assert.deepEqual(keys, [keys[0], keys[0], keys[0]]);
    assert.deepEqual(JSON.parse(api.requests[2]!.body), { graphs: [graph] });
  });

  test('when a key and a callback URL are given, then the key is sent as given and the callback in the body', async () => {
    api = await startFakeApi((_request, res) => sendJson(res, 201, accepted));

    await clientOf(api).batches.submit([graph], {
      idempotencyKey: 'order-42',
      callbackUrl: 'https://example.com/hook',
    });

    assert.equal(api.requests[0]!.headers['idempotency-key'], 'order-42');
    assert.equal(JSON.parse(api.requests[0]!.body).callbackUrl, 'https://example.com/hook');
  });

  test('when the server keeps answering 429, then attempts stop at the bound and the last answer is the error', async () => {
    api = await startFakeApi((_request, res) =>
      sendJson(
        res,
        429,
        { error: { code: 'too_many_streams', message: 'slow down' } },
        { 'Retry-After': '0' },
      ),
    );

    await assert.rejects(clientOf(api, { ...fastRetry, maxAttempts: 3 }).batches.submit([graph]), (error) => {
      assert.ok(error instanceof PixelshiftApiError);
      assert.equal(error.status, 429);
      return true;
    });
    assert.equal(api.requests.length, 3);
  });

  test('when the connection fails, then the submission is retried with the same key', async () => {
    let attempts = 0;
    api = await startFakeApi((_request, res) => {
      attempts++;
      if (attempts === 1) res.socket?.destroy();
      else sendJson(res, 201, accepted);
    });

    const started = await clientOf(api).batches.submit([graph]);

    assert.equal(started.batchId, 'b_1');
    assert.equal(api.requests.length, 2);
    assert.equal(api.requests[0]!.headers['idempotency-key'], api.requests[1]!.headers['idempotency-key']);
  });

  test('when the signal aborts while waiting out a Retry-After, then no further attempt is made and the call rejects with the abort reason', async () => {
    const controller = new AbortController();
    api = await startFakeApi((_request, res) => {
      sendJson(
        res,
        503,
        { error: { code: 'orchestrator_unavailable', message: 'busy' } },
        { 'Retry-After': '3600' },
      );
      // The client is now waiting out the Retry-After (capped at maxDelayMs): abort it.
      res.on('finish', () => controller.abort(new Error('user gave up')));
    });

    await assert.rejects(
      clientOf(api, { maxDelayMs: 60_000 }).batches.submit([graph], { signal: controller.signal }),
      /user gave up/,
    );
    assert.equal(api.requests.length, 1);
  });

  test('when the graphs are refused with 422, then the error carries the code, the message and every issue with its pointer', async () => {
    const issues = [
      { path: '/graphs/0/transformUnits/1/width', code: 'too_small', message: 'width must be at least 1' },
      { path: '/graphs/0/transformUnits/2', code: 'missing_sink', message: 'a branch has no sink' },
    ];
    api = await startFakeApi((_request, res) =>
      sendJson(res, 422, {
        error: { code: 'invalid_graph', message: 'The request was refused with 2 problems', issues },
      }),
    );

    await assert.rejects(clientOf(api).batches.submit([graph]), (error) => {
      assert.ok(error instanceof PixelshiftApiError);
      assert.equal(error.status, 422);
      assert.equal(error.code, 'invalid_graph');
      assert.equal(error.message, 'The request was refused with 2 problems');
      assert.deepEqual(error.issues, issues);
      return true;
    });
    assert.equal(api.requests.length, 1, 'a refusal is not retried');
  });
});

describe('access tokens', () => {
  test('when several requests are made, then one token is fetched with the key pair in HTTP Basic and reused', async () => {
    api = await startFakeApi((_request, res) => sendJson(res, 200, { batchId: 'b_1', state: 'running' }));
    const client = clientOf(api);

    await client.batches.get('b_1');
    await client.batches.get('b_1');

    assert.equal(api.tokenRequests.length, 1);
    const token = api.tokenRequests[0]!;
    assert.equal(token.body, 'grant_type=client_credentials');
    assert.equal(token.headers.authorization, `Basic ${Buffer.from('key_1:s3cret').toString('base64')}`);
    assert.deepEqual(api.requests.map(bearerOf), ['token-1', 'token-1']);
  });

  test('when the server refuses an expired token, then a new one is fetched once and the request succeeds', async () => {
    api = await startFakeApi((request, res) => {
      if (bearerOf(request) === 'token-1')
        sendJson(res, 401, { error: { code: 'unauthorized', message: 'expired' } });
      else sendJson(res, 200, { batchId: 'b_1', state: 'running' });
    });

    const status = await clientOf(api).batches.get('b_1');

    assert.equal(status.batchId, 'b_1');
    assert.equal(api.tokenRequests.length, 2);
    assert.deepEqual(api.requests.map(bearerOf), ['token-1', 'token-2']);
  });

  test('when a token expires soon, then it is renewed before use instead of being refused', async () => {
    api = await startFakeApi((_request, res) => sendJson(res, 200, { batchId: 'b_1', state: 'running' }), {
      // Lifetime 0: renewed on every use.
      token: (_request, res, issue) =>
        sendJson(res, 200, { access_token: issue(), token_type: 'Bearer', expires_in: 0 }),
    });
    const client = clientOf(api);

    await client.batches.get('b_1');
    await client.batches.get('b_1');

    assert.deepEqual(api.requests.map(bearerOf), ['token-1', 'token-2']);
  });

  test('when one of two callers waiting for the same token aborts, then the other still gets the token and its answer', async () => {
    let releaseToken!: () => void;
    const tokenReleased = new Promise<void>((resolve) => (releaseToken = resolve));
    api = await startFakeApi((_request, res) => sendJson(res, 200, { batchId: 'b_1', state: 'running' }), {
      token: (_request, res, issue) => {
        void tokenReleased.then(() =>
          sendJson(res, 200, { access_token: issue(), token_type: 'Bearer', expires_in: 3600 }),
        );
      },
    });
    const client = clientOf(api);
    const controller = new AbortController();

    const aborted = client.batches.get('b_1', { signal: controller.signal });
    const patient = client.batches.get('b_1');
    controller.abort(new Error('first caller gave up'));
    await assert.rejects(aborted, /first caller gave up/);
    releaseToken();

    assert.equal((await patient).batchId, 'b_1');
    assert.equal(api.tokenRequests.length, 1);
    assert.equal(api.requests.length, 1);
  });

  test('when the key was revoked and every token is refused, then the error is the auth error after one renewal, not a loop', async () => {
    api = await startFakeApi((_request, res) =>
      sendJson(res, 401, { error: { code: 'unauthorized', message: 'The API key was revoked' } }),
    );

    await assert.rejects(clientOf(api).batches.get('b_1'), (error) => {
      assert.ok(error instanceof PixelshiftApiError);
      assert.equal(error.status, 401);
      assert.equal(error.code, 'unauthorized');
      assert.equal(error.message, 'The API key was revoked');
      return true;
    });
    assert.equal(api.tokenRequests.length, 2);
    assert.equal(api.requests.length, 2);
  });

  test('when the token endpoint refuses the key pair, then the OAuth error code and description surface once', async () => {
    api = await startFakeApi(() => assert.fail('no API request without a token'), {
      token: (_request, res) =>
        sendJson(res, 401, { error: 'invalid_client', error_description: 'Unknown or revoked API key' }),
    });

    await assert.rejects(clientOf(api).batches.submit([graph]), (error) => {
      assert.ok(error instanceof PixelshiftApiError);
      assert.equal(error.status, 401);
      assert.equal(error.code, 'invalid_client');
      assert.equal(error.message, 'Unknown or revoked API key');
      return true;
    });
    assert.equal(api.tokenRequests.length, 1);
  });
});

describe('paged listings', () => {
  test('when runs span several pages, then the iterator yields every run and passes each page token and filter on', async () => {
    const pages: Record<string, { runs: { runId: string }[]; nextPageToken?: string }> = {
      '': { runs: [{ runId: 'r1' }, { runId: 'r2' }], nextPageToken: 'p2' },
      p2: { runs: [{ runId: 'r3' }], nextPageToken: 'p3' },
      p3: { runs: [] },
    };
    api = await startFakeApi((request, res) => {
      const url = new URL(request.path, 'http://x');
      sendJson(res, 200, pages[url.searchParams.get('pageToken') ?? '']);
    });

    const seen: string[] = [];
    for await (const run of clientOf(api).runs.list({ rule: 'rule_1', pageSize: 2 })) seen.push(run.runId);

    assert.deepEqual(seen, ['r1', 'r2', 'r3']);
    assert.deepEqual(
      api.requests.map((request) => request.path),
      [
        '/v1/runs?rule=rule_1&pageSize=2',
        '/v1/runs?rule=rule_1&pageSize=2&pageToken=p2',
        '/v1/runs?rule=rule_1&pageSize=2&pageToken=p3',
      ],
    );
  });

  test('when a batch’s graphs are listed by state, then the filter reaches the server and every page is read', async () => {
    api = await startFakeApi((request, res) => {
      const url = new URL(request.path, 'http://x');
      if (url.searchParams.get('pageToken') === 'next') sendJson(res, 200, { graphs: [{ index: 2 }] });
      else sendJson(res, 200, { graphs: [{ index: 0 }, { index: 1 }], nextPageToken: 'next' });
    });

    const indexes: number[] = [];
    for await (const outcome of clientOf(api).batches.graphs('b_1', { state: 'failed' }))
      indexes.push(outcome.index);

    assert.deepEqual(indexes, [0, 1, 2]);
    assert.equal(api.requests[0]!.path, '/v1/batches/b_1/graphs?state=failed');
  });

  test('when usage is read, then the query is sent and the counters returned', async () => {
    api = await startFakeApi((_request, res) => sendJson(res, 200, { granularity: 'day', buckets: [] }));

    const usage = await clientOf(api).account.usage({ granularity: 'day' });

    assert.equal(usage.granularity, 'day');
    assert.equal(api.requests[0]!.path, '/v1/account/usage?granularity=day');
  });
});

describe('webhooks.callbackSecret', () => {
  test('when asked, then the account’s callback signing secret is returned', async () => {
    api = await startFakeApi((_request, res) => sendJson(res, 200, { secret: 'whsec_c2VjcmV0' }));

    assert.equal(await clientOf(api).webhooks.callbackSecret(), 'whsec_c2VjcmV0');
    assert.equal(api.requests[0]!.path, '/v1/webhooks/callback-secret');
  });
});
