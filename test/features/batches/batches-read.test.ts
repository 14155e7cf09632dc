import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import request from 'supertest';
import { emptyCounts } from '../../../src/core/jobs/job-status.js';
import { advanceGraphRun, finishBatch } from '../../../src/db/graph-runs.js';
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
  test('when its graphs have moved on, then the status counts them from the read model with links, and the graphs page shows each outcome', async () => {
    const account = await createTestAccount(api);
    const batchId = await submit(account);
    const workflowId = `batch/${account.accountId}/${batchId}`;
    const graphId = (index: number) => `graph/${account.accountId}/${batchId}/${index}`;
    const sink = {
      storage: 'default',
      bucket: 'photos',
      key: 'out/0.webp',
      bytes: 1234,
      format: 'webp' as const,
      width: 320,
      height: 200,
      etag: '"abc"',
    };
    const error = {
      code: 'corrupt_input',
      message: 'Expected a decodable image for StorageSource but received a truncated JPEG',
    };
    // What the worker records: the imaging activity's outcome, and a graph's own failure.
    await advanceGraphRun(api.db, graphId(0), { state: 'succeeded', sinks: [sink], failures: [] });
    await advanceGraphRun(api.db, graphId(1), { state: 'failed', error });
    await finishBatch(api.db, batchId, 'partial');

    const res = await request(api.app).get(`/v1/batches/${batchId}`).set(account.auth).expect(200);
    assert.equal(res.body.state, 'partial');
    assert.equal(res.body.workflowId, workflowId);
    assert.equal(res.body.temporalUiUrl, ui(workflowId));
    assert.deepEqual(res.body.counts, { ...emptyCounts(), succeeded: 1, failed: 1 });
    assert.deepEqual(res.body.links, { graphs: `/v1/batches/${batchId}/graphs` });
    assert.equal(res.body.graphs, undefined, 'the status is counts and links, whatever the batch size');
    assert.ok(res.body.finishedAt);

    const page = await request(api.app).get(`/v1/batches/${batchId}/graphs`).set(account.auth).expect(200);
    assert.equal(page.body.nextPageToken, undefined);
    const [first, second] = page.body.graphs;
    assert.deepEqual(
      { state: first.state, sinks: first.sinks, temporalUiUrl: first.temporalUiUrl },
      { state: 'succeeded', sinks: [sink], temporalUiUrl: ui(graphId(0)) },
    );
    assert.deepEqual({ state: second.state, error: second.error }, { state: 'failed', error });
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

  test('when the engine is down, then the status still answers from the read model', async () => {
    const account = await createTestAccount(api);
    const batchId = await submit(account);
    api.orchestrator.down = true;
    try {
      const res = await request(api.app).get(`/v1/batches/${batchId}`).set(account.auth).expect(200);
      assert.equal(res.body.state, 'running');
      assert.equal(res.body.counts.queued, 2);
      await request(api.app).get(`/v1/batches/${batchId}/graphs/1`).set(account.auth).expect(200);
    } finally {
      api.orchestrator.down = false;
    }
  });
});

describe('GET /v1/batches/{id}/graphs', () => {
  test('when a large batch is paged while its graphs change state, then every graph comes exactly once, in index order', async () => {
    const account = await createTestAccount(api);
    const batchId = await submit(account, 25);
    const seen: number[] = [];
    let token: string | undefined;
    let step = 0;
    do {
      const res = await request(api.app)
        .get(`/v1/batches/${batchId}/graphs`)
        .query({ pageSize: 4, ...(token ? { pageToken: token } : {}) })
        .set(account.auth)
        .expect(200);
      seen.push(...res.body.graphs.map((graph: { index: number }) => graph.index));
      token = res.body.nextPageToken;
      // Between pages, graphs on both sides of the cursor finish.
      for (const index of [step, 24 - step]) {
        await advanceGraphRun(api.db, `graph/${account.accountId}/${batchId}/${index}`, { state: 'running' });
      }
      step += 1;
    } while (token);
    assert.deepEqual(
      seen,
      Array.from({ length: 25 }, (_, index) => index),
    );
  });

  test('when filtered by state, then only graphs in that state are listed', async () => {
    const account = await createTestAccount(api);
    const batchId = await submit(account, 5);
    await advanceGraphRun(api.db, `graph/${account.accountId}/${batchId}/3`, { state: 'running' });
    const res = await request(api.app)
      .get(`/v1/batches/${batchId}/graphs?state=running`)
      .set(account.auth)
      .expect(200);
    assert.deepEqual(
      res.body.graphs.map((graph: { index: number }) => graph.index),
      [3],
    );
  });

  test('when the page token, page size or state is not valid, then 400 invalid_request and nothing is read', async () => {
    const account = await createTestAccount(api);
    const batchId = await submit(account, 2);
    for (const query of [
      'pageToken=forged-token-123',
      'pageToken=' + 'A'.repeat(5000),
      'pageSize=0',
      'pageSize=1001',
      'pageSize=ten',
      'state=done',
      'other=1',
    ]) {
      const res = await request(api.app)
        .get(`/v1/batches/${batchId}/graphs?${query}`)
        .set(account.auth)
        .expect(400);
      assert.equal(res.body.error.code, 'invalid_request', query);
    }
  });

  test('when the batch is another account’s, then 404 not_found', async () => {
    const owner = await createTestAccount(api);
    const intruder = await createTestAccount(api);
    const batchId = await submit(owner, 1);
    const res = await request(api.app).get(`/v1/batches/${batchId}/graphs`).set(intruder.auth).expect(404);
    assert.equal(res.body.error.code, 'not_found');
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
  });
});
