import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import request from 'supertest';
import { insertBatch, newBatchId } from '../../../src/db/index.js';
import {
  createTestAccount,
  createTestApi,
  TEST_UI_URL,
  validGraph,
  type TestAccount,
  type TestApi,
} from '../../support/api-harness.js';

let api: TestApi;
before(async () => {
  api = await createTestApi();
});
after(() => api.close());

async function submit(account: TestAccount, graphCount = 2): Promise<string> {
  const graphs = Array.from({ length: graphCount }, (_, i) => validGraph(`in/${i}.jpg`, `out/${i}.webp`));
  const res = await request(api.app).post('/v1/batches').set(account.auth).send({ graphs }).expect(201);
  return res.body.batchId as string;
}

const ui = (workflowId: string) =>
  `${TEST_UI_URL}/namespaces/default/workflows/${encodeURIComponent(workflowId)}`;

describe('GET /v1/batches/{id}', () => {
  test('when the batch is the caller’s, then the orchestrator’s status is passed through with Temporal UI links', async () => {
    const account = await createTestAccount(api);
    const batchId = await submit(account);
    const workflowId = `batch/${account.accountId}/${batchId}`;
    const status = api.orchestrator.statuses.get(workflowId)!;
    status.state = 'partial';
    status.counts = { ...status.counts, queued: 0, succeeded: 1, failed: 1 };
    status.graphs[0] = {
      ...status.graphs[0]!,
      state: 'succeeded',
      sinks: [
        {
          storage: 'default',
          bucket: 'photos',
          key: 'out/0.webp',
          bytes: 1234,
          format: 'webp',
          width: 320,
          height: 200,
          etag: '"abc"',
        },
      ],
    };
    status.graphs[1] = {
      ...status.graphs[1]!,
      state: 'failed',
      error: {
        code: 'corrupt_input',
        message: 'Expected a decodable image for StorageSource but received a truncated JPEG',
      },
    };

    const res = await request(api.app).get(`/v1/batches/${batchId}`).set(account.auth).expect(200);
    assert.deepEqual(res.body, {
      ...status,
      temporalUiUrl: ui(workflowId),
      graphs: status.graphs.map((graph) => ({ ...graph, temporalUiUrl: ui(graph.workflowId) })),
    });
  });

  test('when the batch belongs to another account, then 404 not_found and the orchestrator is never asked', async () => {
    const owner = await createTestAccount(api);
    const intruder = await createTestAccount(api);
    const batchId = await submit(owner);
    const callsBefore = api.orchestrator.calls.length;

    for (const [method, path] of [
      ['get', `/v1/batches/${batchId}`],
      ['get', `/v1/batches/${batchId}/graphs/0`],
      ['post', `/v1/batches/${batchId}/cancel`],
    ] as const) {
      const res = await request(api.app)[method](path).set(intruder.auth).expect(404);
      assert.equal(res.body.error.code, 'not_found', `${method} ${path}`);
    }
    assert.equal(api.orchestrator.calls.length, callsBefore, 'the database answered first');
    assert.equal(api.orchestrator.statuses.get(`batch/${owner.accountId}/${batchId}`)?.state, 'running');
  });

  test('when the batch id does not exist or is malformed, then 404 not_found', async () => {
    const account = await createTestAccount(api);
    for (const id of [newBatchId(), 'nope', '..%2F..%2Fetc', 'b_' + 'z'.repeat(500)]) {
      const res = await request(api.app).get(`/v1/batches/${id}`).set(account.auth).expect(404);
      assert.equal(res.body.error.code, 'not_found');
    }
  });

  test('when the batch was stored but never started, then 404 (it does not exist for the engine yet)', async () => {
    const account = await createTestAccount(api);
    const batchId = newBatchId();
    await insertBatch(api.db, { batchId, accountId: account.accountId, graphs: [validGraph() as never] });
    const res = await request(api.app).get(`/v1/batches/${batchId}`).set(account.auth).expect(404);
    assert.equal(res.body.error.code, 'not_found');
  });

  test('when the engine is down, then 503 orchestrator_unavailable without internal details', async () => {
    const account = await createTestAccount(api);
    const batchId = await submit(account);
    api.orchestrator.down = true;
    try {
      const res = await request(api.app).get(`/v1/batches/${batchId}`).set(account.auth).expect(503);
      assert.equal(res.body.error.code, 'orchestrator_unavailable');
      assert.doesNotMatch(res.body.error.message, /ECONNREFUSED/);
    } finally {
      api.orchestrator.down = false;
    }
  });
});

describe('GET /v1/batches/{id}/graphs/{index}', () => {
  test('when the index is in range, then the stored graph and its outcome come back', async () => {
    const account = await createTestAccount(api);
    const batchId = await submit(account, 3);
    const res = await request(api.app).get(`/v1/batches/${batchId}/graphs/2`).set(account.auth).expect(200);
    const workflowId = `graph/${account.accountId}/${batchId}/2`;
    assert.deepEqual(res.body, {
      batchId,
      index: 2,
      graph: validGraph('in/2.jpg', 'out/2.webp'),
      outcome: {
        index: 2,
        workflowId,
        state: 'queued',
        sinks: [],
        failures: [],
        temporalUiUrl: ui(workflowId),
      },
    });
  });

  test('when the index is past the last graph, then 404 not_found', async () => {
    const account = await createTestAccount(api);
    const batchId = await submit(account, 3);
    const res = await request(api.app).get(`/v1/batches/${batchId}/graphs/3`).set(account.auth).expect(404);
    assert.equal(res.body.error.code, 'not_found');
  });

  test('when the index is not a non-negative integer, then 400 invalid_request', async () => {
    const account = await createTestAccount(api);
    const batchId = await submit(account, 1);
    for (const index of ['-1', '1.5', 'abc', '01', '1e2', '99999999999999']) {
      const res = await request(api.app)
        .get(`/v1/batches/${batchId}/graphs/${index}`)
        .set(account.auth)
        .expect(400);
      assert.equal(res.body.error.code, 'invalid_request', index);
    }
  });

  test('when a path segment is not decodable, then 400 invalid_request rather than a 500', async () => {
    const account = await createTestAccount(api);
    const res = await request(api.app).get('/v1/batches/%E0%A4%A/graphs/0').set(account.auth).expect(400);
    assert.equal(res.body.error.code, 'invalid_request');
  });
});

describe('POST /v1/batches/{id}/cancel', () => {
  test('when the caller cancels its batch, then 202 and the orchestrator is asked to cancel it', async () => {
    const account = await createTestAccount(api);
    const batchId = await submit(account);
    const res = await request(api.app).post(`/v1/batches/${batchId}/cancel`).set(account.auth).expect(202);
    assert.deepEqual(res.body, { batchId, cancelRequested: true });
    assert.deepEqual(api.orchestrator.calls.at(-1), {
      method: 'cancelBatch',
      accountId: account.accountId,
      batchId,
    });
    assert.equal(api.orchestrator.statuses.get(`batch/${account.accountId}/${batchId}`)?.state, 'cancelled');
  });
});
