import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import request from 'supertest';
import { startHttpServer } from '../../../src/api/http-server.js';
import { createTestAccount, createTestApi, type TestApi } from '../../support/api-harness.js';

let api: TestApi;
before(async () => {
  api = await createTestApi();
});
after(() => api.close());

describe('operations endpoints', () => {
  test('when /healthz is asked, then the process answers ok without a token', async () => {
    const res = await request(api.app).get('/healthz').expect(200);
    assert.deepEqual(res.body, { status: 'ok' });
  });

  test('when the database and the engine answer, then /readyz is 200', async () => {
    const res = await request(api.app).get('/readyz').expect(200);
    assert.deepEqual(res.body, { status: 'ready', checks: { database: 'ok', orchestrator: 'ok' } });
  });

  test('when the engine is down, then /readyz is 503 and names it', async () => {
    api.orchestrator.down = true;
    try {
      const res = await request(api.app).get('/readyz').expect(503);
      assert.deepEqual(res.body, {
        status: 'unavailable',
        checks: { database: 'ok', orchestrator: 'failed' },
      });
    } finally {
      api.orchestrator.down = false;
    }
  });

  test('when requests were served, then /metrics has process metrics and requests counted by route pattern', async () => {
    const account = await createTestAccount(api);
    await request(api.app).get('/v1/batches/b_nothere').set(account.auth).expect(404);
    const res = await request(api.app)
      .get('/metrics')
      .expect(200)
      .expect('Content-Type', /text\/plain/);
    assert.match(res.text, /^process_cpu_user_seconds_total /m);
    assert.match(
      res.text,
      /pixelshift_http_requests_total\{method="GET",route="\/v1\/batches\/:batchId",status="404"\} 1/,
    );
    assert.match(
      res.text,
      /pixelshift_http_request_duration_seconds_bucket\{le="0.005",method="GET",route="\/healthz"/,
    );
    assert.doesNotMatch(res.text, /b_nothere/, 'raw URLs never become labels');
  });

  test('when a route does not exist, then 404 not_found in the error format', async () => {
    const res = await request(api.app).get('/nope').expect(404);
    assert.deepEqual(res.body, { error: { code: 'not_found', message: 'No endpoint GET /nope' } });
  });

  test('when the app is served by startHttpServer, then it answers on the reported URL and closes cleanly', async () => {
    const server = await startHttpServer(api.app, { host: '127.0.0.1', port: 0 });
    try {
      assert.match(server.url, /^http:\/\/127\.0\.0\.1:\d+$/);
      const res = await fetch(`${server.url}/healthz`);
      assert.equal(res.status, 200);
      assert.equal(res.headers.get('x-content-type-options'), 'nosniff');
      assert.equal(res.headers.get('x-powered-by'), null);
    } finally {
      await server.close();
    }
    await assert.rejects(fetch(`${server.url}/healthz`));
  });
});
