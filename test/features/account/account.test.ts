import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import request from 'supertest';
import { createTestAccount, createTestApi, type TestApi } from '../../support/api-harness.js';

describe('GET /v1/account', () => {
  let api: TestApi;
  before(async () => {
    api = await createTestApi();
  });
  after(() => api.close());

  test('when an account reads itself, then it sees its id, its throttle and its key counts', async () => {
    const account = await createTestAccount(api);
    const second = await request(api.app)
      .post('/v1/keys')
      .set(account.auth)
      .send({ label: 'spare' })
      .expect(201);
    await request(api.app).delete(`/v1/keys/${second.body.keyId}`).set(account.auth).expect(204);
    await request(api.app)
      .put('/v1/account/throttle')
      .set(account.auth)
      .send({ transformsPerHour: 50 })
      .expect(200);

    const res = await request(api.app).get('/v1/account').set(account.auth).expect(200);
    assert.deepEqual(res.body, {
      accountId: account.accountId,
      throttle: { transformsPerHour: 50, windowSeconds: 3600 },
      activeKeyCount: 1,
      keyCount: 2,
    });
  });

  test('when two accounts read themselves, then neither sees the other', async () => {
    const alice = await createTestAccount(api, 'alice');
    const bob = await createTestAccount(api, 'bob');
    const res = await request(api.app).get('/v1/account').set(bob.auth).expect(200);
    assert.equal(res.body.accountId, bob.accountId);
    assert.notEqual(res.body.accountId, alice.accountId);
  });

  test('when no token is sent, then 401', async () => {
    await request(api.app).get('/v1/account').expect(401);
  });

  test('when another method is sent, then 405 names the one it has', async () => {
    const account = await createTestAccount(api);
    const res = await request(api.app).delete('/v1/account').set(account.auth).expect(405);
    assert.equal(res.headers.allow, 'GET, HEAD, OPTIONS');
  });
});
