import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import request from 'supertest';
import { graphWorkflowId } from '../../../src/core/jobs/workflow-ids.js';
import { finishBatch } from '../../../src/db/graph-runs.js';
import { listReservations, reserveSlot, setLimit } from '../../../src/db/throttle-reservations.js';
import {
  createTestAccount,
  createTestApi,
  validGraph,
  type TestAccount,
  type TestApi,
} from '../../support/api-harness.js';

const hour = 3_600_000;

let api: TestApi;
before(async () => {
  api = await createTestApi();
});
after(() => api.close());

const getThrottle = (account: TestAccount) =>
  request(api.app).get('/v1/account/throttle').set(account.auth).expect(200);
const putThrottle = (account: TestAccount, body: unknown) =>
  request(api.app)
    .put('/v1/account/throttle')
    .set(account.auth)
    .send(body as object);

describe('GET/PUT /v1/account/throttle', () => {
  test('when the throttle change is documented, then windowSeconds is the configured window, as a one-value enum', async () => {
    const doc = (await request(api.app).get('/swagger/v1/swagger.json').expect(200)).body;
    assert.deepEqual(doc.components.schemas.ThrottleUpdate.properties.windowSeconds.enum, [3600]);
  });

  test('when a changed window is sent, then the message names the configured one', async () => {
    const account = await createTestAccount(api);
    const res = await putThrottle(account, { transformsPerHour: 5, windowSeconds: 60 }).expect(422);
    assert.deepEqual(res.body.error.issues, [
      {
        path: '/windowSeconds',
        code: 'invalid_value',
        message: 'Expected 3600 (set in server config, read-only) for windowSeconds but received 60',
      },
    ]);
  });

  test('when an account never set a throttle, then it reads 1000 per 3600 s', async () => {
    const account = await createTestAccount(api);
    assert.deepEqual((await getThrottle(account)).body, { transformsPerHour: 1000, windowSeconds: 3600 });
  });

  test('when a valid limit is put, then it is answered, stored, and a GET body may be sent back as is', async () => {
    const account = await createTestAccount(api);
    const res = await putThrottle(account, { transformsPerHour: 250 }).expect(200);
    assert.deepEqual(res.body, { transformsPerHour: 250, windowSeconds: 3600 });
    const read = await getThrottle(account);
    assert.deepEqual(read.body, { transformsPerHour: 250, windowSeconds: 3600 });
    await putThrottle(account, { ...read.body, transformsPerHour: 1_000_000 }).expect(200);
    assert.equal((await getThrottle(account)).body.transformsPerHour, 1_000_000);
    await putThrottle(account, { transformsPerHour: 1 }).expect(200);
    assert.equal((await getThrottle(account)).body.transformsPerHour, 1);
    // Other accounts are untouched.
    assert.equal((await getThrottle(await createTestAccount(api))).body.transformsPerHour, 1000);
  });

  const invalid: [string, unknown, [string, string][]][] = [
    ['a fraction', { transformsPerHour: 1.5 }, [['/transformsPerHour', 'invalid_type']]],
    ['zero', { transformsPerHour: 0 }, [['/transformsPerHour', 'out_of_range']]],
    ['a negative number', { transformsPerHour: -5 }, [['/transformsPerHour', 'out_of_range']]],
    ['more than 1,000,000', { transformsPerHour: 1_000_001 }, [['/transformsPerHour', 'out_of_range']]],
    ['a huge number', { transformsPerHour: 1e300 }, [['/transformsPerHour', 'out_of_range']]],
    ['a string', { transformsPerHour: '100' }, [['/transformsPerHour', 'invalid_type']]],
    ['null', { transformsPerHour: null }, [['/transformsPerHour', 'invalid_type']]],
    ['nothing', {}, [['/transformsPerHour', 'missing_field']]],
    ['an unknown field', { transformsPerHour: 5, burst: 10 }, [['/burst', 'unknown_field']]],
    ['a changed window', { transformsPerHour: 5, windowSeconds: 60 }, [['/windowSeconds', 'invalid_value']]],
    [
      'a window of the wrong type',
      { transformsPerHour: 5, windowSeconds: '3600' },
      [['/windowSeconds', 'invalid_type']],
    ],
    ['an array', [5], [['', 'invalid_type']]],
  ];
  for (const [what, body, issues] of invalid) {
    test(`when the body has ${what}, then 422 invalid_body names the field and the setting is unchanged`, async () => {
      const account = await createTestAccount(api);
      await putThrottle(account, { transformsPerHour: 42 }).expect(200);
      const res = await putThrottle(account, body).expect(422);
      assert.equal(res.body.error.code, 'invalid_body');
      assert.deepEqual(
        res.body.error.issues.map((issue: { path: string; code: string }) => [issue.path, issue.code]),
        issues,
      );
      for (const issue of res.body.error.issues)
        assert.match(issue.message, /^Expected .+ for .+ but received /);
      assert.equal((await getThrottle(account)).body.transformsPerHour, 42);
    });
  }

  test('when the body is not JSON, not JSON at all, or the token is missing, then 400, 415 and 401, and the setting is unchanged', async () => {
    const account = await createTestAccount(api);
    const malformed = await request(api.app)
      .put('/v1/account/throttle')
      .set(account.auth)
      .set('Content-Type', 'application/json')
      .send('{"transformsPerHour": 5')
      .expect(400);
    assert.equal(malformed.body.error.code, 'invalid_json');
    const text = await request(api.app)
      .put('/v1/account/throttle')
      .set(account.auth)
      .set('Content-Type', 'text/plain')
      .send('transformsPerHour=5')
      .expect(415);
    assert.equal(text.body.error.code, 'unsupported_media_type');
    await request(api.app).put('/v1/account/throttle').send({ transformsPerHour: 5 }).expect(401);
    await request(api.app).get('/v1/account/throttle').expect(401);
    const empty = await request(api.app).put('/v1/account/throttle').set(account.auth).expect(422);
    assert.equal(empty.body.error.code, 'invalid_body');
    assert.equal((await getThrottle(account)).body.transformsPerHour, 1000);
  });

  test('when the limit changes while graphs wait, then exactly the graphs whose slot moved are told; the same limit again tells every waiting graph', async () => {
    const account = await createTestAccount(api);
    const { accountId } = account;
    await setLimit(api.db, { accountId, limit: 1, windowMs: hour });
    const keys = [0, 1, 2, 3].map((i) => graphWorkflowId(accountId, 'b_wait', i));
    for (const graphKey of keys) await reserveSlot(api.db, { accountId, graphKey, windowMs: hour });

    const before = api.orchestrator.notifiedWorkflows().length;
    await putThrottle(account, { transformsPerHour: 3 }).expect(200);
    assert.deepEqual(api.orchestrator.notifiedWorkflows().slice(before), keys.slice(1));
    const slots = (await listReservations(api.db, accountId)).map((row) => row.slotAt.getTime());
    assert.equal(slots[1], slots[2], 'raised: two more start at once');
    assert.ok(slots[1]! - slots[0]! < 60_000, 'raised: at once, not after the window');
    assert.ok(slots[3]! - slots[0]! >= hour, 'the fourth waits for the window');

    const again = api.orchestrator.notifiedWorkflows().length;
    await putThrottle(account, { transformsPerHour: 3 }).expect(200);
    assert.deepEqual(api.orchestrator.notifiedWorkflows().slice(again), [keys[3]]);
  });

  test('when the engine is unreachable, then 503 but the new limit is saved, and sending it again tells the waiting graphs', async () => {
    const account = await createTestAccount(api);
    const { accountId } = account;
    await setLimit(api.db, { accountId, limit: 1, windowMs: hour });
    for (const i of [0, 1]) {
      await reserveSlot(api.db, {
        accountId,
        graphKey: graphWorkflowId(accountId, 'b_x', i),
        windowMs: hour,
      });
    }
    api.orchestrator.down = true;
    try {
      const res = await putThrottle(account, { transformsPerHour: 10 }).expect(503);
      assert.equal(res.body.error.code, 'orchestrator_unavailable');
    } finally {
      api.orchestrator.down = false;
    }
    assert.equal((await getThrottle(account)).body.transformsPerHour, 10);
  });
});

describe('throttle outlook in batches', () => {
  test('when a batch is submitted over the limit, then the start report says when its last graph is expected to start', async () => {
    const account = await createTestAccount(api);
    await putThrottle(account, { transformsPerHour: 2 }).expect(200);
    const graphs = Array.from({ length: 5 }, (_, i) => validGraph(`in/${i}.jpg`, `out/${i}.webp`));
    const started = Date.now();
    const res = await request(api.app).post('/v1/batches').set(account.auth).send({ graphs }).expect(201);
    assert.equal(res.body.throttle.transformsPerHour, 2);
    assert.equal(res.body.throttle.windowSeconds, 3600);
    // 2 now, 2 after one window, the fifth after two.
    const expected = Date.parse(res.body.throttle.expectedLastStartAt);
    assert.ok(Math.abs(expected - (started + 2 * hour)) < 60_000, res.body.throttle.expectedLastStartAt);
  });

  test('when a running batch has graphs waiting for their slot, then its status shows them throttled until their slot and the outlook', async () => {
    const account = await createTestAccount(api);
    const { accountId } = account;
    await putThrottle(account, { transformsPerHour: 1 }).expect(200);
    const graphs = Array.from({ length: 3 }, (_, i) => validGraph(`in/${i}.jpg`, `out/${i}.webp`));
    const submitted = await request(api.app)
      .post('/v1/batches')
      .set(account.auth)
      .send({ graphs })
      .expect(201);
    const batchId = submitted.body.batchId as string;
    // The engine has started graphs 0 and 1 (each reserved its slot, as the worker does, recording what it
    // decided); graph 2 has not reached the throttle yet.
    const slots: number[] = [];
    for (const index of [0, 1]) {
      const graphKey = graphWorkflowId(accountId, batchId, index);
      const reservation = await reserveSlot(api.db, {
        accountId,
        graphKey,
        windowMs: hour,
        recordOnRun: true,
      });
      slots.push(reservation.slotAt.getTime());
    }

    const res = await request(api.app).get(`/v1/batches/${batchId}`).set(account.auth).expect(200);
    const page = await request(api.app).get(`/v1/batches/${batchId}/graphs`).set(account.auth).expect(200);
    assert.deepEqual(
      page.body.graphs.map((graph: { state: string; throttledUntil?: string }) => [
        graph.state,
        graph.throttledUntil,
      ]),
      [
        ['running', undefined],
        ['throttled', new Date(slots[1]!).toISOString()],
        ['queued', undefined],
      ],
    );
    assert.deepEqual(res.body.counts, {
      queued: 1,
      throttled: 1,
      running: 1,
      succeeded: 0,
      partial: 0,
      failed: 0,
      cancelled: 0,
      superseded: 0,
    });
    assert.deepEqual(res.body.throttle, {
      transformsPerHour: 1,
      windowSeconds: 3600,
      expectedLastStartAt: new Date(slots[1]! + hour).toISOString(),
    });

    const one = await request(api.app).get(`/v1/batches/${batchId}/graphs/1`).set(account.auth).expect(200);
    assert.equal(one.body.outcome.state, 'throttled');
    assert.equal(one.body.outcome.throttledUntil, new Date(slots[1]!).toISOString());

    // Finished batches carry no outlook.
    await finishBatch(api.db, batchId, 'succeeded');
    const done = await request(api.app).get(`/v1/batches/${batchId}`).set(account.auth).expect(200);
    assert.equal(done.body.throttle, undefined);
  });

  test('when the server runs without a throttle, then reports carry no outlook', async () => {
    const off = await createTestApi({ env: { PIXELSHIFT_THROTTLE: 'off' } });
    try {
      const account = await createTestAccount(off);
      const res = await request(off.app)
        .post('/v1/batches')
        .set(account.auth)
        .send({ graphs: [validGraph()] })
        .expect(201);
      assert.equal(res.body.throttle, undefined);
    } finally {
      await off.close();
    }
  });

  test('when the OpenAPI document is read, then the throttle endpoints and the outlook are in it', async () => {
    const doc = (await request(api.app).get('/swagger/v1/swagger.json').expect(200)).body;
    const path = doc.paths['/v1/account/throttle'];
    assert.deepEqual(path.get.responses['200'].content['application/json'].schema, {
      $ref: '#/components/schemas/ThrottleSettings',
    });
    assert.deepEqual(path.put.requestBody.content['application/json'].schema, {
      $ref: '#/components/schemas/ThrottleUpdate',
    });
    for (const status of ['400', '401', '413', '415', '422', '503'])
      assert.ok(path.put.responses[status], status);
    const update = doc.components.schemas.ThrottleUpdate;
    assert.deepEqual(update.properties.transformsPerHour, {
      ...update.properties.transformsPerHour,
      type: 'integer',
      minimum: 1,
      maximum: 1_000_000,
    });
    assert.equal(update.additionalProperties, false);
    assert.deepEqual(doc.components.schemas.BatchStartReportResponse.properties.throttle, {
      $ref: '#/components/schemas/ThrottleOutlook',
    });
    assert.ok(doc.components.schemas.BatchStatus.properties.throttle);
  });
});
