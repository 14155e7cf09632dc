import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { eq } from 'drizzle-orm';
import request from 'supertest';
import { batches, getBatchGraph } from '../../../src/db/index.js';
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

async function batchRows(account: TestAccount): Promise<number> {
  return api.db.$count(batches, eq(batches.accountId, account.accountId));
}

/** The promise every refused request must keep: nothing stored, nothing started. */
async function assertNothingStartedOrStored(account: TestAccount): Promise<void> {
  assert.deepEqual(
    api.orchestrator.startCalls().filter((call) => call.accountId === account.accountId),
    [],
    'no batch workflow was started',
  );
  assert.equal(await batchRows(account), 0, 'no batch was stored');
}

const post = (account: TestAccount) => request(api.app).post('/v1/batches').set(account.auth);

describe('POST /v1/batches', () => {
  test('when a valid batch is submitted, then it answers 201 with the start report, stores the graphs and starts one workflow', async () => {
    const account = await createTestAccount(api);
    const graphs = [validGraph('in/a.jpg', 'out/a.webp'), validGraph('in/b.jpg', 'out/b.webp')];
    const res = await post(account).send({ graphs, callbackUrl: 'https://example.com/hook' }).expect(201);

    assert.match(res.body.batchId, /^b_[0-9a-z]{26}$/);
    const workflowId = `batch/${account.accountId}/${res.body.batchId}`;
    assert.deepEqual(res.body, {
      batchId: res.body.batchId,
      graphsAccepted: 2,
      workflowId,
      statusUrl: `/v1/batches/${res.body.batchId}`,
      createdAt: res.body.createdAt,
      temporalUiUrl: `${TEST_UI_URL}/namespaces/default/workflows/${encodeURIComponent(workflowId)}`,
      // Two graphs under the default 1000 per hour start at once.
      throttle: {
        transformsPerHour: 1000,
        windowSeconds: 3600,
        expectedLastStartAt: res.body.throttle.expectedLastStartAt,
      },
    });
    assert.ok(Math.abs(Date.parse(res.body.throttle.expectedLastStartAt) - Date.now()) < 60_000);
    assert.equal(res.headers.location, `/v1/batches/${res.body.batchId}`);
    assert.deepEqual(
      api.orchestrator.startCalls().filter((call) => call.accountId === account.accountId),
      [
        {
          accountId: account.accountId,
          batchId: res.body.batchId,
          graphCount: 2,
          callbackUrl: 'https://example.com/hook',
          graphsAs: 'children',
        },
      ],
    );
    assert.deepEqual(await getBatchGraph(api.db, account.accountId, res.body.batchId, 1), graphs[1]);
  });

  test('when the deployment runs graphs as activities, then the batch is stored and started so, and each graph links to the batch', async () => {
    const activitiesApi = await createTestApi({ env: { PIXELSHIFT_BATCH_GRAPHS: 'activities' } });
    try {
      const account = await createTestAccount(activitiesApi);
      const graphs = [validGraph('in/a.jpg', 'out/a.webp'), validGraph('in/b.jpg', 'out/b.webp')];
      const res = await request(activitiesApi.app)
        .post('/v1/batches')
        .set(account.auth)
        .send({ graphs })
        .expect(201);
      const { batchId } = res.body as { batchId: string };
      assert.deepEqual(activitiesApi.orchestrator.startCalls(), [
        { accountId: account.accountId, batchId, graphCount: 2, graphsAs: 'activities' },
      ]);
      const [row] = await activitiesApi.db.select().from(batches).where(eq(batches.id, batchId));
      assert.equal(row?.graphsAs, 'activities');
      const batchLink = `${TEST_UI_URL}/namespaces/default/workflows/${encodeURIComponent(`batch/${account.accountId}/${batchId}`)}`;
      const listed = await request(activitiesApi.app)
        .get(`/v1/batches/${batchId}/graphs`)
        .set(account.auth)
        .expect(200);
      assert.deepEqual(
        (listed.body as { graphs: { workflowId: string; temporalUiUrl: string }[] }).graphs.map((graph) => [
          graph.workflowId,
          graph.temporalUiUrl,
        ]),
        [0, 1].map((index) => [`graph/${account.accountId}/${batchId}/${index}`, batchLink]),
      );
      const one = await request(activitiesApi.app)
        .get(`/v1/batches/${batchId}/graphs/1`)
        .set(account.auth)
        .expect(200);
      assert.equal((one.body as { outcome: { temporalUiUrl: string } }).outcome.temporalUiUrl, batchLink);
    } finally {
      await activitiesApi.close();
    }
  });

  test('when one graph of three is invalid, then 422 invalid_graph lists the problem by pointer and nothing is started or stored', async () => {
    const account = await createTestAccount(api);
    const bad = validGraph();
    (bad.transformUnits as Record<string, unknown>[])[1] = { type: 'Resize', width: -5 };
    const res = await post(account)
      .send({ graphs: [validGraph(), bad, validGraph()] })
      .expect(422);
    assert.equal(res.body.error.code, 'invalid_graph');
    assert.deepEqual(
      res.body.error.issues.map((issue: { path: string; code: string }) => [issue.path, issue.code]),
      [['/graphs/1/transformUnits/1/width', 'out_of_range']],
    );
    await assertNothingStartedOrStored(account);
  });

  test('when 1001 graphs are submitted, then 422 with too_many_graphs and nothing is started or stored', async () => {
    const account = await createTestAccount(api);
    const res = await post(account)
      .send({ graphs: Array.from({ length: 1001 }, () => validGraph()) })
      .expect(422);
    assert.equal(res.body.error.code, 'invalid_graph');
    assert.deepEqual(
      res.body.error.issues.map((issue: { path: string; code: string }) => [issue.path, issue.code]),
      [['/graphs', 'too_many_graphs']],
    );
    await assertNothingStartedOrStored(account);
  });

  test('when 1000 graphs are submitted, then all are accepted and stored', async () => {
    const account = await createTestAccount(api);
    const res = await post(account)
      .send({ graphs: Array.from({ length: 1000 }, (_, i) => validGraph(`in/${i}.jpg`, `out/${i}.webp`)) })
      .expect(201);
    assert.equal(res.body.graphsAccepted, 1000);
    const last = await getBatchGraph(api.db, account.accountId, res.body.batchId, 999);
    assert.equal((last?.transformUnits[0] as { key: string }).key, 'in/999.jpg');
  });

  test('when a graph has 6 sinks, then 422 with too_many_sinks at the sixth and nothing is started or stored', async () => {
    const account = await createTestAccount(api);
    const graph = {
      transformUnits: [
        { type: 'StorageSource', bucket: 'photos', key: 'in/cat.jpg' },
        { type: 'Resize', width: 100 },
      ],
      outputs: Array.from({ length: 6 }, (_, i) => ({
        transformUnits: [
          { type: 'ImageFormat', format: 'webp' },
          { type: 'StorageSink', bucket: 'photos', key: `out/${i}.webp` },
        ],
      })),
    };
    const res = await post(account)
      .send({ graphs: [graph] })
      .expect(422);
    assert.deepEqual(
      res.body.error.issues.map((issue: { path: string; code: string }) => [issue.path, issue.code]),
      [['/graphs/0/outputs/5/transformUnits/1', 'too_many_sinks']],
    );
    await assertNothingStartedOrStored(account);
  });

  test('when the body is larger than the limit, then 413 payload_too_large and nothing is started or stored', async () => {
    const account = await createTestAccount(api);
    const padding = 'x'.repeat(api.config.http.maxBodyBytes);
    const res = await post(account)
      .set('Content-Type', 'application/json')
      .send(`{"graphs":[],"pad":"${padding}"}`)
      .expect(413);
    assert.equal(res.body.error.code, 'payload_too_large');
    await assertNothingStartedOrStored(account);
  });

  test('when the body is not valid JSON, then 400 invalid_json without echoing the body', async () => {
    const account = await createTestAccount(api);
    const res = await post(account)
      .set('Content-Type', 'application/json')
      .send('{"graphs": [secret-text')
      .expect(400);
    assert.deepEqual(res.body, {
      error: { code: 'invalid_json', message: 'The request body is not valid JSON' },
    });
    await assertNothingStartedOrStored(account);
  });

  test('when the body is not JSON at all, then 415 unsupported_media_type', async () => {
    const account = await createTestAccount(api);
    const res = await post(account).set('Content-Type', 'text/plain').send('graphs').expect(415);
    assert.equal(res.body.error.code, 'unsupported_media_type');
    await assertNothingStartedOrStored(account);
  });

  test('when there is no body, then 422 says the batch is missing', async () => {
    const account = await createTestAccount(api);
    const res = await post(account).expect(422);
    assert.equal(res.body.error.code, 'invalid_graph');
    assert.equal(res.body.error.issues[0].code, 'invalid_type');
    await assertNothingStartedOrStored(account);
  });

  test('when the batch has an unknown top-level field, then 422 with unknown_field at that field', async () => {
    const account = await createTestAccount(api);
    const res = await post(account)
      .send({ graphs: [validGraph()], priority: 'high' })
      .expect(422);
    assert.deepEqual(
      res.body.error.issues.map((issue: { path: string; code: string }) => [issue.path, issue.code]),
      [['/priority', 'unknown_field']],
    );
    await assertNothingStartedOrStored(account);
  });

  test('when the body smuggles __proto__ keys, then 422 unknown_field and no prototype is polluted', async () => {
    const account = await createTestAccount(api);
    const body =
      '{"graphs":[{"transformUnits":[{"type":"StorageSource","bucket":"photos","key":"a","__proto__":{"polluted":1}}]}],' +
      '"__proto__":{"polluted":1},"constructor":{"prototype":{"polluted":1}}}';
    const res = await post(account).set('Content-Type', 'application/json').send(body).expect(422);
    assert.equal(res.body.error.code, 'invalid_graph');
    const fields = res.body.error.issues
      .filter((issue: { code: string }) => issue.code === 'unknown_field')
      .map((issue: { path: string }) => issue.path)
      .sort();
    assert.deepEqual(fields, ['/__proto__', '/constructor', '/graphs/0/transformUnits/0/__proto__']);
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
    assert.equal(Object.prototype.hasOwnProperty.call(Object.prototype, 'polluted'), false);
    await assertNothingStartedOrStored(account);
  });

  test('when a unit uses a bucket the account was not granted, then 403 access_denied with pointers and nothing is started or stored', async () => {
    const account = await createTestAccount(api);
    const graph = validGraph();
    (graph.transformUnits as Record<string, unknown>[])[3] = {
      type: 'StorageSink',
      bucket: 'secret',
      key: 'out/x.webp',
    };
    const res = await post(account)
      .send({ graphs: [validGraph(), graph] })
      .expect(403);
    assert.equal(res.body.error.code, 'access_denied');
    assert.deepEqual(
      res.body.error.issues.map((issue: { path: string; code: string }) => [issue.path, issue.code]),
      [['/graphs/1/transformUnits/3/bucket', 'bucket_not_granted']],
    );
    await assertNothingStartedOrStored(account);
  });

  test('when a bucket is granted to this account only, then this account may use it and another may not', async () => {
    const owner = await createTestAccount(api);
    const other = await createTestAccount(api);
    api.config.storage.grants[owner.accountId] = [{ connection: 'archive', buckets: ['vault'] }];
    const graph = validGraph();
    (graph.transformUnits as Record<string, unknown>[])[3] = {
      type: 'StorageSink',
      storage: 'archive',
      bucket: 'vault',
      key: 'out/x.webp',
    };
    await post(owner)
      .send({ graphs: [graph] })
      .expect(201);
    const res = await post(other)
      .send({ graphs: [graph] })
      .expect(403);
    assert.equal(res.body.error.issues[0].path, '/graphs/0/transformUnits/3/bucket');
    await assertNothingStartedOrStored(other);
  });

  test('when a unit names a storage connection the server lacks, then 422 unknown_connection at its storage field', async () => {
    const account = await createTestAccount(api);
    const graph = validGraph();
    (graph.transformUnits as Record<string, unknown>[])[0] = {
      type: 'StorageSource',
      storage: 'elsewhere',
      bucket: 'photos',
      key: 'in/cat.jpg',
    };
    const res = await post(account)
      .send({ graphs: [graph] })
      .expect(422);
    assert.equal(res.body.error.code, 'invalid_graph');
    assert.deepEqual(
      res.body.error.issues.map((issue: { path: string; code: string }) => [issue.path, issue.code]),
      [['/graphs/0/transformUnits/0/storage', 'unknown_connection']],
    );
    await assertNothingStartedOrStored(account);
  });

  test('when the request has no token, then 401 before the body is even read', async () => {
    const res = await request(api.app)
      .post('/v1/batches')
      .send({ graphs: [validGraph()] })
      .expect(401);
    assert.equal(res.body.error.code, 'unauthorized');
  });
});

describe('POST /v1/batches with Idempotency-Key', () => {
  test('when the same key and body are sent twice, then one batch exists and both answers are the same', async () => {
    const account = await createTestAccount(api);
    const body = { graphs: [validGraph()] };
    const first = await post(account).set('Idempotency-Key', 'order-42').send(body).expect(201);
    // Same meaning, different key order: still the same request.
    const reordered = {
      graphs: [{ transformUnits: (body.graphs[0]!.transformUnits as object[]).map((u) => ({ ...u })) }],
    };
    const second = await post(account).set('Idempotency-Key', 'order-42').send(reordered).expect(201);
    assert.deepEqual(second.body, first.body);
    assert.equal(second.headers['idempotent-replayed'], 'true');
    assert.equal(first.headers['idempotent-replayed'], undefined);
    assert.equal(await batchRows(account), 1);
    assert.equal(api.orchestrator.startCalls().filter((c) => c.accountId === account.accountId).length, 1);
  });

  test('when the same key comes with a different body, then 409 idempotency_conflict and nothing new is stored or started', async () => {
    const account = await createTestAccount(api);
    await post(account)
      .set('Idempotency-Key', 'k1')
      .send({ graphs: [validGraph()] })
      .expect(201);
    const res = await post(account)
      .set('Idempotency-Key', 'k1')
      .send({ graphs: [validGraph('in/other.jpg')] })
      .expect(409);
    assert.equal(res.body.error.code, 'idempotency_conflict');
    assert.equal(await batchRows(account), 1);
    assert.equal(api.orchestrator.startCalls().filter((c) => c.accountId === account.accountId).length, 1);
  });

  test('when two accounts use the same key, then each gets its own batch', async () => {
    const a = await createTestAccount(api);
    const b = await createTestAccount(api);
    const first = await post(a)
      .set('Idempotency-Key', 'shared')
      .send({ graphs: [validGraph()] })
      .expect(201);
    const second = await post(b)
      .set('Idempotency-Key', 'shared')
      .send({ graphs: [validGraph()] })
      .expect(201);
    assert.notEqual(first.body.batchId, second.body.batchId);
  });

  test('when the key is empty, too long or has control characters, then 400 invalid_request and nothing is stored', async () => {
    const account = await createTestAccount(api);
    for (const key of ['', 'x'.repeat(256), 'has space', 'tab\there', 'ünïcode']) {
      const res = await post(account)
        .set('Idempotency-Key', key)
        .send({ graphs: [validGraph()] })
        .expect(400);
      assert.equal(res.body.error.code, 'invalid_request');
    }
    await assertNothingStartedOrStored(account);
  });

  test('when the engine is down at submission, then 503 and a retry with the same key starts the stored batch', async () => {
    const account = await createTestAccount(api);
    const body = { graphs: [validGraph()] };
    api.orchestrator.failNextStarts = 1;
    const failed = await post(account).set('Idempotency-Key', 'retry-me').send(body).expect(503);
    assert.equal(failed.body.error.code, 'orchestrator_unavailable');
    assert.doesNotMatch(JSON.stringify(failed.body), /ECONNREFUSED|7233/, 'no internal detail leaks');
    assert.equal(failed.headers['retry-after'], '1');

    const retried = await post(account).set('Idempotency-Key', 'retry-me').send(body).expect(201);
    assert.equal(await batchRows(account), 1, 'the retry reused the stored batch');
    const workflowIds = new Set(
      api.orchestrator
        .startCalls()
        .filter((c) => c.accountId === account.accountId)
        .map((c) => c.batchId),
    );
    assert.deepEqual([...workflowIds], [retried.body.batchId]);
    assert.ok(api.orchestrator.started.has(retried.body.workflowId));
  });
});
