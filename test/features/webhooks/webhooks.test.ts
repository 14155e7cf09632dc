import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Express } from 'express';
import request from 'supertest';
import { loadOrCreateSecretsKey, openSecret } from '../../../src/core/auth/secret-box.js';
import {
  getSubscription,
  insertDelivery,
  insertEvent,
  recordAttempt,
} from '../../../src/db/webhook-subscriptions.js';
import { createApp } from '../../../src/app/http-app.js';
import type { DeliveryStarter, StartDeliveryInput } from '../../../src/core/jobs/orchestrator-ports.js';
import { deliveryIdFor, deliveryWorkflowIdFor } from '../../../src/core/webhooks/webhook-ids.js';
import { createTestAccount, createTestApi, validGraph, type TestApi } from '../../support/api-harness.js';

class FakeDeliveryStarter implements DeliveryStarter {
  readonly started: StartDeliveryInput[] = [];
  startDelivery(input: StartDeliveryInput): Promise<boolean> {
    this.started.push(input);
    return Promise.resolve(true);
  }
}

let api: TestApi;
let app: Express;
const starter = new FakeDeliveryStarter();
before(async () => {
  api = await createTestApi({ env: { PIXELSHIFT_OUTBOUND_ALLOW: 'receiver.internal,192.168.50.0/24' } });
  app = createApp({
    db: api.db,
    orchestrator: api.orchestrator,
    config: api.config,
    jwtSecret: api.jwtSecret,
    deliveries: starter,
  });
});
after(() => api.close());

const receiverUrl = 'https://hooks.example.com/pixelshift';

async function create(auth: { Authorization: string }, body: unknown) {
  return request(app)
    .post('/v1/webhooks')
    .set(auth)
    .send(body as object);
}

const issueCodes = (res: request.Response) =>
  (res.body.error.issues as { path: string; code: string }[]).map((issue) => [issue.path, issue.code]).sort();

describe('/v1/webhooks subscriptions', () => {
  test('when a subscription is created, then the secret is shown once, stored sealed, and reads never show it', async () => {
    const account = await createTestAccount(api);
    const res = await create(account.auth, {
      url: receiverUrl,
      events: ['graph.succeeded', 'batch.completed'],
    });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    assert.match(res.body.id, /^wh_[0-9a-z]{26}$/);
    assert.match(res.body.secret, /^whsec_[A-Za-z0-9+/]{43}=$/);
    assert.equal(res.headers['cache-control'], 'no-store');
    assert.equal(res.body.enabled, true);
    assert.equal(res.body.disabledReason, null);

    const row = await getSubscription(api.db, account.accountId, res.body.id);
    assert.ok(row && !row.secretSealed.includes(res.body.secret.slice(6)));
    assert.equal(
      openSecret(await loadOrCreateSecretsKey(api.config), row.secretSealed, row.id),
      res.body.secret,
    );

    const read = await request(app).get(`/v1/webhooks/${res.body.id}`).set(account.auth).expect(200);
    assert.equal(read.body.secret, undefined);
    const list = await request(app).get('/v1/webhooks').set(account.auth).expect(200);
    assert.deepEqual(
      list.body.webhooks.map((w: { id: string }) => w.id),
      [res.body.id],
    );
    assert.equal(JSON.stringify(list.body).includes('whsec_'), false);
  });

  test('when the body is hostile, then 422 with precise issue codes and nothing is stored', async () => {
    const account = await createTestAccount(api);
    const cases: [unknown, [string, string][]][] = [
      [{ url: 'ftp://example.com/x', events: ['graph.succeeded'] }, [['/url', 'invalid_value']]],
      [{ url: 'not a url', events: ['graph.succeeded'] }, [['/url', 'invalid_value']]],
      [{ url: receiverUrl, events: ['graph.exploded'] }, [['/events/0', 'invalid_value']]],
      [{ url: receiverUrl, events: [] }, [['/events', 'out_of_range']]],
      [{ url: receiverUrl, events: ['graph.failed', 'graph.failed'] }, [['/events', 'invalid_value']]],
      [{ url: receiverUrl, events: ['graph.failed'], secret: 'whsec_mine' }, [['/secret', 'unknown_field']]],
      [{ url: `${receiverUrl}/${'a'.repeat(2100)}`, events: ['graph.failed'] }, [['/url', 'out_of_range']]],
    ];
    for (const [body, expected] of cases) {
      const res = await create(account.auth, body);
      assert.equal(res.status, 422, JSON.stringify(body));
      assert.equal(res.body.error.code, 'invalid_body');
      assert.deepEqual(issueCodes(res), expected, JSON.stringify(body));
    }
    const list = await request(app).get('/v1/webhooks').set(account.auth).expect(200);
    assert.deepEqual(list.body.webhooks, []);
  });

  test('when a refinement refuses the body, then its message reads as one sentence', async () => {
    const account = await createTestAccount(api);
    const repeated = await create(account.auth, {
      url: receiverUrl,
      events: ['graph.failed', 'graph.failed'],
    });
    assert.equal(repeated.status, 422);
    assert.equal(
      repeated.body.error.issues[0].message,
      'Expected each event type at most once for events but received an array of 2',
    );
    const { body } = await create(account.auth, { url: receiverUrl, events: ['graph.succeeded'] });
    const empty = await request(app).patch(`/v1/webhooks/${body.id}`).set(account.auth).send({}).expect(422);
    assert.equal(
      empty.body.error.issues[0].message,
      'Expected at least one of url, events, enabled for the request but received an object',
    );
    for (const res of [repeated, empty]) assert.doesNotMatch(JSON.stringify(res.body), /Expected Expected/);
  });

  for (const url of [
    'http://127.0.0.1/hook',
    'http://10.0.0.1/hook',
    'http://169.254.169.254/latest/meta-data/',
    'http://[::1]/hook',
    'http://[::ffff:127.0.0.1]/hook',
    'http://localhost:8080/hook',
    'https://user:pass@hooks.example.com/hook',
  ]) {
    test(`when the URL is ${url}, then it is refused with outbound_address_refused`, async () => {
      const account = await createTestAccount(api);
      const res = await create(account.auth, { url, events: ['graph.succeeded'] });
      assert.equal(res.status, 422);
      assert.deepEqual(issueCodes(res), [['/url', 'outbound_address_refused']]);
    });
  }

  test('when a private host or CIDR is allow-listed by the operator, then its URLs are accepted', async () => {
    const account = await createTestAccount(api);
    await create(account.auth, { url: 'http://192.168.50.7/hook', events: ['graph.failed'] }).then((r) =>
      assert.equal(r.status, 201),
    );
    await create(account.auth, { url: 'http://receiver.internal/hook', events: ['graph.failed'] }).then((r) =>
      assert.equal(r.status, 201),
    );
    await create(account.auth, { url: 'http://192.168.51.7/hook', events: ['graph.failed'] }).then((r) =>
      assert.equal(r.status, 422),
    );
  });

  test("when loopback is allow-listed for a local receiver, then the service's own API address is still refused", async () => {
    const local = await createTestApi({
      env: { PIXELSHIFT_OUTBOUND_ALLOW: '127.0.0.1', HOST: '127.0.0.1', PORT: '3200' },
    });
    try {
      const account = await createTestAccount(local);
      const post = (url: string) =>
        request(local.app)
          .post('/v1/webhooks')
          .set(account.auth)
          .send({ url, events: ['graph.failed'] });
      for (const url of ['http://localhost:3200/v1/keys', 'http://127.0.0.1:3200/v1/keys']) {
        const refused = await post(url);
        assert.equal(refused.status, 422, url);
        assert.deepEqual(issueCodes(refused), [['/url', 'outbound_address_refused']]);
        assert.match(
          refused.body.error.issues[0].message,
          /127\.0\.0\.1:3200 is where pixelshift's own API listens/,
        );
      }
      assert.equal((await post('http://localhost:3201/hook')).status, 201, 'a receiver beside it is fine');
      assert.equal((await post('http://127.0.0.1:3201/hook')).status, 201);
    } finally {
      await local.close();
    }
    const listed = await createTestApi({
      env: { PIXELSHIFT_OUTBOUND_ALLOW: '127.0.0.1:3200', HOST: '127.0.0.1', PORT: '3200' },
    });
    try {
      const account = await createTestAccount(listed);
      const accepted = await request(listed.app)
        .post('/v1/webhooks')
        .set(account.auth)
        .send({ url: 'http://127.0.0.1:3200/v1/hooks/h_1', events: ['graph.failed'] });
      assert.equal(accepted.status, 201, 'listed with its port, the operator meant it');
    } finally {
      await listed.close();
    }
  });

  test('when the body is too large or not JSON, then 413 or 415', async () => {
    const account = await createTestAccount(api);
    const huge = await create(account.auth, {
      url: receiverUrl,
      events: ['graph.failed'],
      pad: 'x'.repeat(2 * 1024 * 1024),
    });
    assert.equal(huge.status, 413);
    assert.equal(huge.body.error.code, 'payload_too_large');
    const text = await request(app).post('/v1/webhooks').set(account.auth).type('text').send('url=x');
    assert.equal(text.status, 415);
    const list = await request(app).get('/v1/webhooks').set(account.auth).expect(200);
    assert.deepEqual(list.body.webhooks, []);
  });

  test('when a subscription is patched, then url and events change and enabling again clears the reason', async () => {
    const account = await createTestAccount(api);
    const { body } = await create(account.auth, { url: receiverUrl, events: ['graph.succeeded'] });
    const patched = await request(app)
      .patch(`/v1/webhooks/${body.id}`)
      .set(account.auth)
      .send({ url: 'https://other.example.com/h', events: ['batch.completed'], enabled: false })
      .expect(200);
    assert.equal(patched.body.url, 'https://other.example.com/h');
    assert.deepEqual(patched.body.events, ['batch.completed']);
    assert.equal(patched.body.enabled, false);

    const empty = await request(app).patch(`/v1/webhooks/${body.id}`).set(account.auth).send({}).expect(422);
    assert.equal(empty.body.error.code, 'invalid_body');
    const privateUrl = await request(app)
      .patch(`/v1/webhooks/${body.id}`)
      .set(account.auth)
      .send({ url: 'http://10.1.2.3/' })
      .expect(422);
    assert.deepEqual(issueCodes(privateUrl), [['/url', 'outbound_address_refused']]);

    const enabled = await request(app)
      .patch(`/v1/webhooks/${body.id}`)
      .set(account.auth)
      .send({ enabled: true })
      .expect(200);
    assert.equal(enabled.body.enabled, true);
    assert.equal(enabled.body.disabledReason, null);
    assert.equal(enabled.body.url, 'https://other.example.com/h');
  });

  test('when another account uses a subscription id, then every endpoint answers 404 and nothing changes', async () => {
    const owner = await createTestAccount(api);
    const intruder = await createTestAccount(api);
    const { body } = await create(owner.auth, { url: receiverUrl, events: ['graph.succeeded'] });
    const id = body.id as string;
    const attempts = [
      request(app).get(`/v1/webhooks/${id}`).set(intruder.auth),
      request(app).patch(`/v1/webhooks/${id}`).set(intruder.auth).send({ enabled: false }),
      request(app).delete(`/v1/webhooks/${id}`).set(intruder.auth),
      request(app).post(`/v1/webhooks/${id}/rotate-secret`).set(intruder.auth),
      request(app).get(`/v1/webhooks/${id}/deliveries`).set(intruder.auth),
      request(app)
        .post(`/v1/webhooks/${id}/deliveries/dlv_${'0'.repeat(32)}/redeliver`)
        .set(intruder.auth),
    ];
    for (const res of await Promise.all(attempts)) {
      assert.equal(res.status, 404);
      assert.equal(res.body.error.code, 'not_found');
    }
    const still = await request(app).get(`/v1/webhooks/${id}`).set(owner.auth).expect(200);
    assert.equal(still.body.enabled, true);
    for (const bad of ['nope', 'wh_' + 'x'.repeat(500), '%00']) {
      await request(app).get(`/v1/webhooks/${bad}`).set(owner.auth).expect(404);
    }
  });

  test('when a subscription is deleted, then it is gone', async () => {
    const account = await createTestAccount(api);
    const { body } = await create(account.auth, { url: receiverUrl, events: ['graph.succeeded'] });
    await request(app).delete(`/v1/webhooks/${body.id}`).set(account.auth).expect(204);
    await request(app).get(`/v1/webhooks/${body.id}`).set(account.auth).expect(404);
    await request(app).delete(`/v1/webhooks/${body.id}`).set(account.auth).expect(404);
  });

  test('when the secret is rotated, then the new one is shown once and the old one still signs for 24 hours', async () => {
    const account = await createTestAccount(api);
    const { body } = await create(account.auth, { url: receiverUrl, events: ['graph.succeeded'] });
    const rotated = await request(app)
      .post(`/v1/webhooks/${body.id}/rotate-secret`)
      .set(account.auth)
      .expect(200);
    assert.match(rotated.body.secret, /^whsec_/);
    assert.notEqual(rotated.body.secret, body.secret);
    const hours = (Date.parse(rotated.body.previousSecretExpiresAt) - Date.now()) / 3_600_000;
    assert.ok(hours > 23.9 && hours <= 24);
    const row = await getSubscription(api.db, account.accountId, body.id);
    const key = await loadOrCreateSecretsKey(api.config);
    assert.equal(openSecret(key, row!.secretSealed, row!.id), rotated.body.secret);
    assert.equal(openSecret(key, row!.previousSecretSealed!, row!.id), body.secret);
    const read = await request(app).get(`/v1/webhooks/${body.id}`).set(account.auth).expect(200);
    assert.equal(read.body.previousSecretExpiresAt, rotated.body.previousSecretExpiresAt);
  });

  test('when the callback secret is read twice, then it is one whsec_ secret per account', async () => {
    const one = await createTestAccount(api);
    const two = await createTestAccount(api);
    const a = await request(app).get('/v1/webhooks/callback-secret').set(one.auth).expect(200);
    const b = await request(app).get('/v1/webhooks/callback-secret').set(one.auth).expect(200);
    const c = await request(app).get('/v1/webhooks/callback-secret').set(two.auth).expect(200);
    assert.match(a.body.secret, /^whsec_/);
    assert.equal(a.body.secret, b.body.secret);
    assert.notEqual(a.body.secret, c.body.secret);
  });
});

describe('/v1/webhooks/{id}/deliveries', () => {
  async function seedDeliveries(accountId: string, subscriptionId: string, count: number): Promise<string[]> {
    const ids: string[] = [];
    for (let i = 0; i < count; i += 1) {
      const eventId = `evt_${String(i).padStart(32, '0')}${accountId.slice(-4)}`.slice(0, 36);
      await insertEvent(api.db, {
        id: `${eventId}-${accountId}`,
        accountId,
        type: 'graph.succeeded',
        payload: { type: 'graph.succeeded', timestamp: new Date().toISOString(), data: {} },
      });
      const workflowId = deliveryWorkflowIdFor(`${eventId}-${accountId}`, subscriptionId);
      const row = await insertDelivery(api.db, {
        id: deliveryIdFor(workflowId),
        accountId,
        eventId: `${eventId}-${accountId}`,
        subscriptionId,
        workflowId,
      });
      await recordAttempt(api.db, row.id, {
        status: 500,
        latencyMs: 12,
        error: 'http_status: 500',
        state: 'pending',
      });
      await recordAttempt(api.db, row.id, { status: 200, latencyMs: 8, error: null, state: 'succeeded' });
      ids.push(row.id);
    }
    return ids;
  }

  test('when deliveries are listed, then they come newest first, paged, each with its attempts', async () => {
    const account = await createTestAccount(api);
    const { body } = await create(account.auth, { url: receiverUrl, events: ['graph.succeeded'] });
    const ids = await seedDeliveries(account.accountId, body.id, 3);
    const first = await request(app)
      .get(`/v1/webhooks/${body.id}/deliveries?pageSize=2`)
      .set(account.auth)
      .expect(200);
    assert.equal(first.body.deliveries.length, 2);
    assert.ok(first.body.nextPageToken);
    const second = await request(app)
      .get(`/v1/webhooks/${body.id}/deliveries`)
      .query({ pageSize: 2, pageToken: first.body.nextPageToken })
      .set(account.auth)
      .expect(200);
    assert.equal(second.body.nextPageToken, null);
    const all = [...first.body.deliveries, ...second.body.deliveries].map((d: { id: string }) => d.id);
    assert.deepEqual(all.sort(), [...ids].sort());
    const delivery = first.body.deliveries[0];
    assert.equal(delivery.state, 'succeeded');
    assert.match(delivery.temporalUiUrl, /\/namespaces\/default\/workflows\/delivery%2Fevt_/);
    assert.equal(delivery.attempts, 2);
    assert.deepEqual(
      delivery.attemptLog.map((a: { number: number; status: number; latencyMs: number }) => [
        a.number,
        a.status,
        a.latencyMs,
      ]),
      [
        [1, 500, 12],
        [2, 200, 8],
      ],
    );
  });

  test('when the paging parameters are hostile, then 400 invalid_request', async () => {
    const account = await createTestAccount(api);
    const { body } = await create(account.auth, { url: receiverUrl, events: ['graph.succeeded'] });
    for (const query of ['pageSize=0', 'pageSize=101', 'pageSize=abc', 'pageToken=garbage', 'extra=1']) {
      const res = await request(app).get(`/v1/webhooks/${body.id}/deliveries?${query}`).set(account.auth);
      assert.equal(res.status, 400, query);
      assert.equal(res.body.error.code, 'invalid_request');
    }
  });

  test('when pageSize is out of range, then the message names the value received', async () => {
    const account = await createTestAccount(api);
    const { body } = await create(account.auth, { url: receiverUrl, events: ['graph.succeeded'] });
    for (const [pageSize, expected] of [
      ['101', 'Expected a number <= 100 for pageSize but received 101'],
      ['0', 'Expected a number >= 1 for pageSize but received 0'],
      ['2.5', 'Expected an integer for pageSize but received 2.5'],
    ] as const) {
      const res = await request(app)
        .get(`/v1/webhooks/${body.id}/deliveries`)
        .query({ pageSize })
        .set(account.auth)
        .expect(400);
      assert.equal(res.body.error.message, 'The query is invalid');
      assert.deepEqual(res.body.error.issues, [
        { path: '/pageSize', code: res.body.error.issues[0].code, message: expected },
      ]);
    }
  });

  test('when a pageToken was not issued by the API, then 400 at once, before the subscription is looked up', async () => {
    const account = await createTestAccount(api);
    // No such subscription: a lookup would answer 404, so a 400 shows the token was judged first.
    const unknown = `wh_${'0'.repeat(26)}`;
    for (const pageToken of [
      'garbage',
      'not a token',
      Buffer.from('["yesterday","dlv_x"]').toString('base64url'),
    ]) {
      const res = await request(app)
        .get(`/v1/webhooks/${unknown}/deliveries`)
        .query({ pageToken })
        .set(account.auth)
        .expect(400);
      assert.equal(res.body.error.code, 'invalid_request');
      assert.deepEqual(
        res.body.error.issues.map((issue: { path: string }) => issue.path),
        ['/pageToken'],
      );
    }
  });

  test('when the paging bounds are documented, then the document allows exactly what the server accepts', async () => {
    const account = await createTestAccount(api);
    const { body } = await create(account.auth, { url: receiverUrl, events: ['graph.succeeded'] });
    await seedDeliveries(account.accountId, body.id, 2);
    const doc = (await request(app).get('/swagger/v1/swagger.json').expect(200)).body as {
      paths: Record<string, { get: { parameters: { name: string; schema: Record<string, unknown> }[] } }>;
    };
    const parameters = doc.paths['/v1/webhooks/{id}/deliveries']!.get.parameters;
    const pageSize = parameters.find((p) => p.name === 'pageSize')!.schema;
    assert.deepEqual([pageSize.type, pageSize.minimum, pageSize.maximum], ['integer', 1, 100]);
    const tokenPattern = new RegExp(parameters.find((p) => p.name === 'pageToken')!.schema.pattern as string);

    const deliveries = (query: Record<string, string | number>) =>
      request(app).get(`/v1/webhooks/${body.id}/deliveries`).query(query).set(account.auth);
    await deliveries({ pageSize: 100 }).expect(200);
    const first = await deliveries({ pageSize: 1 }).expect(200);
    assert.match(first.body.nextPageToken, tokenPattern, 'the tokens the server issues are documented ones');
    await deliveries({ pageSize: 1, pageToken: first.body.nextPageToken }).expect(200);
    await deliveries({ pageSize: 101 }).expect(400);
    await deliveries({ pageToken: '' }).expect(400);
  });

  test('when a delivery is redelivered, then a new delivery workflow starts for the same event', async () => {
    const account = await createTestAccount(api);
    const { body } = await create(account.auth, { url: receiverUrl, events: ['graph.succeeded'] });
    const [deliveryId] = await seedDeliveries(account.accountId, body.id, 1);
    const before = starter.started.length;
    const res = await request(app)
      .post(`/v1/webhooks/${body.id}/deliveries/${deliveryId}/redeliver`)
      .set(account.auth)
      .expect(202);
    assert.match(res.body.workflowId, /^delivery\/evt_.+\/wh_[0-9a-z]{26}\/redeliver-1$/);
    assert.equal(starter.started.length, before + 1);
    assert.equal(starter.started.at(-1)!.workflowId, res.body.workflowId);
    const again = await request(app)
      .post(`/v1/webhooks/${body.id}/deliveries/${deliveryId}/redeliver`)
      .set(account.auth)
      .expect(202);
    assert.match(again.body.workflowId, /\/redeliver-2$/);

    // Another subscription's delivery, even of the same account, is not found under this one.
    const { body: sibling } = await create(account.auth, { url: receiverUrl, events: ['graph.succeeded'] });
    await request(app)
      .post(`/v1/webhooks/${sibling.id}/deliveries/${deliveryId}/redeliver`)
      .set(account.auth)
      .expect(404);
    const stranger = await createTestAccount(api);
    const { body: theirs } = await create(stranger.auth, { url: receiverUrl, events: ['graph.succeeded'] });
    await request(app)
      .post(`/v1/webhooks/${theirs.id}/deliveries/${deliveryId}/redeliver`)
      .set(stranger.auth)
      .expect(404);
    const startedSoFar = starter.started.length;

    await request(app)
      .patch(`/v1/webhooks/${body.id}`)
      .set(account.auth)
      .send({ enabled: false })
      .expect(200);
    const disabled = await request(app)
      .post(`/v1/webhooks/${body.id}/deliveries/${deliveryId}/redeliver`)
      .set(account.auth)
      .expect(409);
    assert.equal(disabled.body.error.code, 'webhook_disabled');
    await request(app)
      .post(`/v1/webhooks/${body.id}/deliveries/dlv_nope/redeliver`)
      .set(account.auth)
      .expect(404);
    assert.equal(starter.started.length, startedSoFar);
  });
});

describe('batch callbackUrl', () => {
  for (const callbackUrl of ['http://127.0.0.1:9/cb', 'http://[fd00::1]/cb', 'http://100.64.0.1/cb']) {
    test(`when a batch's callbackUrl is ${callbackUrl}, then the batch is refused and nothing starts`, async () => {
      const account = await createTestAccount(api);
      const res = await request(app)
        .post('/v1/batches')
        .set(account.auth)
        .send({ graphs: [validGraph()], callbackUrl });
      assert.equal(res.status, 422);
      assert.deepEqual(issueCodes(res), [['/callbackUrl', 'outbound_address_refused']]);
      assert.equal(
        api.orchestrator.calls.filter(
          (c) => c.method === 'startBatch' && c.input.accountId === account.accountId,
        ).length,
        0,
      );
    });
  }
});

describe('OpenAPI for webhooks', () => {
  test('when the document is read, then the endpoints and the four payloads are documented with their components', async () => {
    const doc = (await request(app).get('/swagger/v1/swagger.json').expect(200)).body as {
      paths: Record<string, Record<string, { tags: string[] }>>;
      webhooks: Record<string, { post: { requestBody: { content: Record<string, { schema: unknown }> } } }>;
      components: {
        schemas: Record<
          string,
          { properties: Record<string, Record<string, unknown>>; minProperties?: number }
        >;
      };
    };
    for (const [path, method] of [
      ['/v1/webhooks', 'post'],
      ['/v1/webhooks', 'get'],
      ['/v1/webhooks/{id}', 'patch'],
      ['/v1/webhooks/{id}', 'delete'],
      ['/v1/webhooks/{id}/rotate-secret', 'post'],
      ['/v1/webhooks/{id}/deliveries', 'get'],
      ['/v1/webhooks/{id}/deliveries/{deliveryId}/redeliver', 'post'],
      ['/v1/webhooks/{id}/test', 'post'],
      ['/v1/webhooks/callback-secret', 'get'],
    ] as const) {
      assert.deepEqual(doc.paths[path]?.[method]?.tags, ['webhooks'], `${method} ${path}`);
    }
    const schemas = doc.components.schemas;
    // As strict as the server: events are each named once, and a change names at least one field.
    for (const name of ['CreateWebhookRequest', 'UpdateWebhookRequest']) {
      assert.equal(schemas[name]!.properties.events!.uniqueItems, true, name);
      assert.equal(schemas[name]!.properties.events!.minItems, 1, name);
    }
    assert.equal(schemas.UpdateWebhookRequest!.minProperties, 1);
    const payloads = {
      'graph.succeeded': 'GraphSucceededEvent',
      'graph.failed': 'GraphFailedEvent',
      'batch.completed': 'BatchCompletedEvent',
      'webhook.test': 'WebhookTestEvent',
    };
    for (const [event, component] of Object.entries(payloads)) {
      assert.deepEqual(doc.webhooks[event]?.post.requestBody.content['application/json']?.schema, {
        $ref: `#/components/schemas/${component}`,
      });
      assert.deepEqual(Object.keys(doc.components.schemas[component]!.properties).sort(), [
        'data',
        'timestamp',
        'type',
      ]);
    }
  });
});

describe('POST /v1/webhooks/{id}/test', () => {
  test('when a test event is asked for, then a webhook.test delivery is started through the delivery path and shows in the delivery log', async () => {
    const account = await createTestAccount(api);
    // Subscribed to graph events only: the test event goes to it all the same.
    const created = await create(account.auth, { url: receiverUrl, events: ['graph.failed'] });
    const id = created.body.id as string;
    const startedBefore = starter.started.length;

    const res = await request(app).post(`/v1/webhooks/${id}/test`).set(account.auth).expect(202);
    assert.match(res.body.deliveryId, /^dlv_[0-9a-f]{32}$/);
    assert.match(res.body.eventId, /^evt_[0-9a-f]{32}$/);
    assert.equal(res.body.workflowId, deliveryWorkflowIdFor(res.body.eventId, id));
    assert.deepEqual(starter.started.slice(startedBefore), [
      {
        accountId: account.accountId,
        workflowId: res.body.workflowId,
        deliveryId: res.body.deliveryId,
        summary: 'webhook.test → hooks.example.com',
      },
    ]);

    const log = await request(app).get(`/v1/webhooks/${id}/deliveries`).set(account.auth).expect(200);
    assert.equal(log.body.deliveries.length, 1);
    assert.deepEqual(
      {
        id: log.body.deliveries[0].id,
        eventId: log.body.deliveries[0].eventId,
        eventType: log.body.deliveries[0].eventType,
        state: log.body.deliveries[0].state,
      },
      { id: res.body.deliveryId, eventId: res.body.eventId, eventType: 'webhook.test', state: 'pending' },
    );

    const again = await request(app).post(`/v1/webhooks/${id}/test`).set(account.auth).expect(202);
    assert.notEqual(again.body.eventId, res.body.eventId, 'each request is a new event');
    const both = await request(app).get(`/v1/webhooks/${id}/deliveries`).set(account.auth).expect(200);
    assert.equal(both.body.deliveries.length, 2);
  });

  test('when the webhook belongs to another account, does not exist or has a hostile id, then 404 not_found and nothing starts', async () => {
    const owner = await createTestAccount(api);
    const intruder = await createTestAccount(api);
    const created = await create(owner.auth, { url: receiverUrl, events: ['graph.failed'] });
    const startedBefore = starter.started.length;
    for (const id of [
      created.body.id as string,
      'wh_0000000000000000000000000a',
      '..%2F..%2Fetc',
      `wh_${'z'.repeat(5000)}`,
      '%00',
    ]) {
      const res = await request(app).post(`/v1/webhooks/${id}/test`).set(intruder.auth).expect(404);
      assert.equal(res.body.error.code, 'not_found', id.slice(0, 20));
    }
    assert.equal(starter.started.length, startedBefore);
    const log = await request(app)
      .get(`/v1/webhooks/${created.body.id}/deliveries`)
      .set(owner.auth)
      .expect(200);
    assert.deepEqual(log.body.deliveries, [], 'the owner’s log is untouched');
  });

  test('when the webhook is disabled, then 409 webhook_disabled and no delivery is logged', async () => {
    const account = await createTestAccount(api);
    const created = await create(account.auth, {
      url: receiverUrl,
      events: ['graph.failed'],
      enabled: false,
    });
    const res = await request(app).post(`/v1/webhooks/${created.body.id}/test`).set(account.auth).expect(409);
    assert.equal(res.body.error.code, 'webhook_disabled');
    const log = await request(app)
      .get(`/v1/webhooks/${created.body.id}/deliveries`)
      .set(account.auth)
      .expect(200);
    assert.deepEqual(log.body.deliveries, []);
  });

  test('when the API runs without a delivery starter, then 503 orchestrator_unavailable, as redeliver answers', async () => {
    const account = await createTestAccount(api);
    const created = await request(api.app)
      .post('/v1/webhooks')
      .set(account.auth)
      .send({ url: receiverUrl, events: ['graph.failed'] })
      .expect(201);
    const res = await request(api.app)
      .post(`/v1/webhooks/${created.body.id}/test`)
      .set(account.auth)
      .expect(503);
    assert.equal(res.body.error.code, 'orchestrator_unavailable');
  });

  test('when a body, a query or no token comes with it, then the body is ignored and no token is 401', async () => {
    const account = await createTestAccount(api);
    const created = await create(account.auth, { url: receiverUrl, events: ['graph.failed'] });
    await request(app).post(`/v1/webhooks/${created.body.id}/test`).expect(401);
    await request(app)
      .post(`/v1/webhooks/${created.body.id}/test`)
      .set(account.auth)
      .set('Content-Type', 'application/json')
      .send('{"x":'.repeat(1000))
      .expect(202);
  });
});
