import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import request from 'supertest';
import { advanceGraphRun, finishBatch } from '../../../src/db/graph-runs.js';
import { getBatchGraph, insertRecoveredBatch, newBatchId } from '../../../src/db/index.js';
import {
  createTestAccount,
  createTestApi,
  validGraph,
  type TestAccount,
  type TestApi,
} from '../../support/api-harness.js';

let api: TestApi;
before(async () => {
  api = await createTestApi();
});
after(() => api.close());

const callbackUrl = 'https://hooks.example.com/batches';

/** A started batch of `count` graphs whose graphs end in the given states (index order); then the batch ends. */
async function finishedBatch(
  account: TestAccount,
  states: ('succeeded' | 'failed' | 'partial' | 'cancelled')[],
  batchState: 'succeeded' | 'partial' | 'failed' | 'cancelled' = 'partial',
): Promise<string> {
  const graphs = states.map((_, i) => validGraph(`in/${i}.jpg`, `out/${i}.webp`));
  const res = await request(api.app)
    .post('/v1/batches')
    .set(account.auth)
    .send({ graphs, callbackUrl })
    .expect(201);
  const batchId = res.body.batchId as string;
  for (const [index, state] of states.entries()) {
    await advanceGraphRun(api.db, `graph/${account.accountId}/${batchId}/${index}`, {
      state,
      ...(state === 'failed' ? { error: { code: 'corrupt_input', message: 'truncated' } } : {}),
      ...(state === 'partial'
        ? {
            failures: [
              {
                storage: 'default',
                bucket: 'photos',
                key: `out/${index}.webp`,
                error: { code: 'transient', message: 'slow down' },
              },
            ],
          }
        : {}),
    });
  }
  await finishBatch(api.db, batchId, batchState);
  return batchId;
}

const retry = (account: TestAccount, batchId: string) =>
  request(api.app).post(`/v1/batches/${batchId}/retry-failed`).set(account.auth);

describe('POST /v1/batches/{id}/retry-failed', () => {
  test('when a finished batch has failed and partial graphs, then only those are submitted again, in order, as a new batch linked to it', async () => {
    const account = await createTestAccount(api);
    const original = await finishedBatch(account, [
      'succeeded',
      'failed',
      'succeeded',
      'partial',
      'cancelled',
    ]);
    const startsBefore = api.orchestrator.calls.length;

    const res = await retry(account, original).expect(201);
    const retried = res.body.batchId as string;
    assert.notEqual(retried, original);
    assert.equal(res.body.graphsAccepted, 2);
    assert.equal(res.body.retryOf, original);
    assert.equal(res.headers.location, `/v1/batches/${retried}`);
    // Graphs 1 and 3 of the original, as they were submitted.
    assert.deepEqual(
      await getBatchGraph(api.db, account.accountId, retried, 0),
      validGraph('in/1.jpg', 'out/1.webp'),
    );
    assert.deepEqual(
      await getBatchGraph(api.db, account.accountId, retried, 1),
      validGraph('in/3.jpg', 'out/3.webp'),
    );
    assert.deepEqual(api.orchestrator.calls.slice(startsBefore), [
      {
        method: 'startBatch',
        input: {
          accountId: account.accountId,
          batchId: retried,
          graphCount: 2,
          callbackUrl,
          graphsAs: 'children',
        },
      },
    ]);

    const status = await request(api.app).get(`/v1/batches/${retried}`).set(account.auth).expect(200);
    assert.equal(status.body.retryOf, original);
    assert.equal(status.body.counts.queued, 2);
    const originalStatus = await request(api.app)
      .get(`/v1/batches/${original}`)
      .set(account.auth)
      .expect(200);
    assert.equal(originalStatus.body.retryOf, undefined);
    const listed = await request(api.app).get('/v1/batches').set(account.auth).expect(200);
    assert.deepEqual(
      listed.body.batches.map((b: { batchId: string; retryOf?: string }) => [b.batchId, b.retryOf]),
      [
        [retried, original],
        [original, undefined],
      ],
    );
  });

  test('when no graph failed, then 409 nothing_to_retry and nothing is stored or started', async () => {
    const account = await createTestAccount(api);
    const original = await finishedBatch(account, ['succeeded', 'cancelled'], 'cancelled');
    const startsBefore = api.orchestrator.calls.length;
    const res = await retry(account, original).expect(409);
    assert.equal(res.body.error.code, 'nothing_to_retry');
    assert.equal(api.orchestrator.calls.length, startsBefore);
    const listed = await request(api.app).get('/v1/batches').set(account.auth).expect(200);
    assert.equal(listed.body.batches.length, 1);
  });

  test('when the batch is still running, then 409 batch_running, even if some graphs already failed', async () => {
    const account = await createTestAccount(api);
    const res = await request(api.app)
      .post('/v1/batches')
      .set(account.auth)
      .send({ graphs: [validGraph(), validGraph('in/b.jpg', 'out/b.webp')] })
      .expect(201);
    await advanceGraphRun(api.db, `graph/${account.accountId}/${res.body.batchId}/0`, {
      state: 'failed',
      error: { code: 'corrupt_input', message: 'truncated' },
    });
    const refused = await retry(account, res.body.batchId).expect(409);
    assert.equal(refused.body.error.code, 'batch_running');
  });

  test('when the batch belongs to another account, does not exist or has a hostile id, then 404 not_found and nothing starts', async () => {
    const owner = await createTestAccount(api);
    const intruder = await createTestAccount(api);
    const original = await finishedBatch(owner, ['failed']);
    const startsBefore = api.orchestrator.calls.length;
    for (const id of [original, newBatchId(), 'nope', '..%2F..%2Fetc', `b_${'z'.repeat(4000)}`, '%00']) {
      const res = await retry(intruder, id).expect(404);
      assert.equal(res.body.error.code, 'not_found', id.slice(0, 20));
    }
    assert.equal(api.orchestrator.calls.length, startsBefore);
    // The owner can still retry it: nothing was consumed.
    await retry(owner, original).expect(201);
  });

  test('when the same Idempotency-Key is sent twice, then the same new batch answers both and one batch was started', async () => {
    const account = await createTestAccount(api);
    const original = await finishedBatch(account, ['failed', 'failed']);
    const startsBefore = api.orchestrator.calls.length;
    const first = await retry(account, original).set('Idempotency-Key', 'retry-1').expect(201);
    const second = await retry(account, original).set('Idempotency-Key', 'retry-1').expect(201);
    assert.equal(second.body.batchId, first.body.batchId);
    assert.deepEqual(second.body, first.body);
    assert.equal(second.headers['idempotent-replayed'], 'true');
    assert.equal(api.orchestrator.calls.length - startsBefore, 1);

    // A new key is a new retry; the key of a submitted batch is not a retry's.
    const third = await retry(account, original).set('Idempotency-Key', 'retry-2').expect(201);
    assert.notEqual(third.body.batchId, first.body.batchId);
    await request(api.app)
      .post('/v1/batches')
      .set(account.auth)
      .set('Idempotency-Key', 'submitted-1')
      .send({ graphs: [validGraph()] })
      .expect(201);
    const clash = await retry(account, original).set('Idempotency-Key', 'submitted-1').expect(409);
    assert.equal(clash.body.error.code, 'idempotency_conflict');
  });

  test('when the Idempotency-Key is malformed or oversized, then 400 invalid_request and nothing starts', async () => {
    const account = await createTestAccount(api);
    const original = await finishedBatch(account, ['failed']);
    const startsBefore = api.orchestrator.calls.length;
    for (const key of ['a'.repeat(256), 'with space', 'tab\tkey']) {
      const res = await retry(account, original).set('Idempotency-Key', key).expect(400);
      assert.equal(res.body.error.code, 'invalid_request');
    }
    assert.equal(api.orchestrator.calls.length, startsBefore);
  });

  test('when the job engine is down, then 503 and a retry with the same key starts the stored batch', async () => {
    const account = await createTestAccount(api);
    const original = await finishedBatch(account, ['failed']);
    api.orchestrator.down = true;
    try {
      const res = await retry(account, original).set('Idempotency-Key', 'k-down').expect(503);
      assert.equal(res.body.error.code, 'orchestrator_unavailable');
    } finally {
      api.orchestrator.down = false;
    }
    const res = await retry(account, original).set('Idempotency-Key', 'k-down').expect(201);
    assert.equal(res.body.retryOf, original);
    const listed = await request(api.app).get('/v1/batches').set(account.auth).expect(200);
    assert.equal(listed.body.batches.length, 2, 'one retry batch, not two');
  });

  test('when a bucket is no longer granted, then 403 access_denied, as a new submission would be', async () => {
    const account = await createTestAccount(api);
    api.config.storage.grants[account.accountId] = [{ connection: 'default', buckets: ['private-*'] }];
    const graph = JSON.parse(JSON.stringify(validGraph()).replaceAll('"photos"', '"private-in"')) as object;
    const res = await request(api.app)
      .post('/v1/batches')
      .set(account.auth)
      .send({ graphs: [graph] })
      .expect(201);
    await advanceGraphRun(api.db, `graph/${account.accountId}/${res.body.batchId}/0`, {
      state: 'failed',
      error: { code: 'corrupt_input', message: 'truncated' },
    });
    await finishBatch(api.db, res.body.batchId, 'failed');
    delete api.config.storage.grants[account.accountId];
    const refused = await retry(account, res.body.batchId).expect(403);
    assert.equal(refused.body.error.code, 'access_denied');
  });

  test('when the failed graphs’ definitions are gone (a batch rebuilt by reconcile), then 409 graphs_unavailable', async () => {
    const account = await createTestAccount(api);
    const batchId = newBatchId();
    await insertRecoveredBatch(api.db, {
      batchId,
      accountId: account.accountId,
      graphCount: 1,
      startedAt: new Date(),
    });
    const { insertGraphRuns } = await import('../../../src/db/graph-runs.js');
    const workflowId = `graph/${account.accountId}/${batchId}/0`;
    await insertGraphRuns(api.db, [
      {
        workflowId,
        accountId: account.accountId,
        trigger: 'api',
        batchId,
        graphIndex: 0,
        source: 'photos/a.jpg',
      },
    ]);
    await advanceGraphRun(api.db, workflowId, {
      state: 'failed',
      error: { code: 'corrupt_input', message: 'x' },
    });
    await finishBatch(api.db, batchId, 'failed');
    const res = await retry(account, batchId).expect(409);
    assert.equal(res.body.error.code, 'graphs_unavailable');
  });

  test('when a body comes with the request, then it is ignored; without a token, 401', async () => {
    const account = await createTestAccount(api);
    const original = await finishedBatch(account, ['failed']);
    await request(api.app).post(`/v1/batches/${original}/retry-failed`).expect(401);
    const res = await retry(account, original)
      .set('Content-Type', 'application/json')
      .send(JSON.stringify({ graphs: 'x'.repeat(10_000) }))
      .expect(201);
    assert.equal(res.body.graphsAccepted, 1);
  });
});
