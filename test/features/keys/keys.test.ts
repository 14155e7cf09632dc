import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import request from 'supertest';
import { createTestAccount, createTestApi, type TestApi } from '../../support/api-harness.js';

let api: TestApi;
before(async () => {
  api = await createTestApi();
});
after(() => api.close());

const basic = (id: string, secret: string) => `Basic ${Buffer.from(`${id}:${secret}`).toString('base64')}`;

async function exchange(keyId: string, secret: string): Promise<request.Response> {
  return request(api.app)
    .post('/oauth/token')
    .type('form')
    .set('Authorization', basic(keyId, secret))
    .send({ grant_type: 'client_credentials' });
}

describe('/v1/keys', () => {
  test('when a key is created, then its secret is shown once and it can obtain tokens', async () => {
    const account = await createTestAccount(api);
    const res = await request(api.app)
      .post('/v1/keys')
      .set(account.auth)
      .send({ label: 'billing backend' })
      .expect(201);
    assert.match(res.body.keyId, /^pk_[0-9a-z]{24}$/);
    assert.match(res.body.secret, /^sk_[A-Za-z0-9_-]{43}$/);
    assert.equal(res.body.label, 'billing backend');
    assert.equal(res.headers['cache-control'], 'no-store');
    await exchange(res.body.keyId, res.body.secret).then((r) => assert.equal(r.status, 200));
  });

  test('when a key is created without a body, then it has no label', async () => {
    const account = await createTestAccount(api);
    const res = await request(api.app).post('/v1/keys').set(account.auth).expect(201);
    assert.equal(res.body.label, null);
  });

  test('when the create body has unknown fields or a bad label, then 422 invalid_body and no key is made', async () => {
    const account = await createTestAccount(api);
    const bad = await request(api.app)
      .post('/v1/keys')
      .set(account.auth)
      .send({ label: '', admin: true })
      .expect(422);
    assert.equal(bad.body.error.code, 'invalid_body');
    assert.deepEqual(
      bad.body.error.issues.map((issue: { path: string; code: string }) => [issue.path, issue.code]).sort(),
      [
        ['/admin', 'unknown_field'],
        ['/label', 'out_of_range'],
      ],
    );
    const list = await request(api.app).get('/v1/keys').set(account.auth).expect(200);
    assert.equal(list.body.keys.length, 1, 'only the key the account started with');
  });

  test('when keys are listed, then no secret or hash appears and other accounts’ keys are absent', async () => {
    const account = await createTestAccount(api);
    const other = await createTestAccount(api);
    const created = await request(api.app)
      .post('/v1/keys')
      .set(account.auth)
      .send({ label: 'second' })
      .expect(201);
    const res = await request(api.app).get('/v1/keys').set(account.auth).expect(200);
    assert.deepEqual(
      res.body.keys.map((key: { keyId: string }) => key.keyId),
      [account.keyId, created.body.keyId],
    );
    for (const key of res.body.keys) {
      assert.deepEqual(Object.keys(key).sort(), ['createdAt', 'keyId', 'label', 'lastUsedAt', 'revokedAt']);
    }
    const text = JSON.stringify(res.body);
    assert.ok(!text.includes(created.body.secret) && !text.includes(account.secret), 'no secret');
    assert.doesNotMatch(text, /[0-9a-f]{64}/, 'no hash');
    assert.ok(!text.includes(other.keyId));
  });

  test('when a key is revoked, then token exchange with it fails and its existing tokens stop working at once', async () => {
    const account = await createTestAccount(api);
    const spare = await request(api.app)
      .post('/v1/keys')
      .set(account.auth)
      .send({ label: 'spare' })
      .expect(201);
    const issued = await exchange(spare.body.keyId, spare.body.secret);
    const spareAuth = { Authorization: `Bearer ${issued.body.access_token}` };
    await request(api.app).get('/v1/keys').set(spareAuth).expect(200); // cached as active now

    await request(api.app).delete(`/v1/keys/${spare.body.keyId}`).set(account.auth).expect(204);

    const res = await exchange(spare.body.keyId, spare.body.secret);
    assert.equal(res.status, 401);
    assert.equal(res.body.error, 'invalid_client');
    await request(api.app).get('/v1/keys').set(spareAuth).expect(401);
    const list = await request(api.app).get('/v1/keys').set(account.auth).expect(200);
    const revoked = list.body.keys.find((key: { keyId: string }) => key.keyId === spare.body.keyId);
    assert.equal(typeof revoked.revokedAt, 'string');
  });

  test('when another account’s key or an unknown key is revoked, then 404 and the key keeps working', async () => {
    const owner = await createTestAccount(api);
    const intruder = await createTestAccount(api);
    const res = await request(api.app).delete(`/v1/keys/${owner.keyId}`).set(intruder.auth).expect(404);
    assert.equal(res.body.error.code, 'not_found');
    await request(api.app).delete('/v1/keys/pk_unknown').set(intruder.auth).expect(404);
    assert.equal((await exchange(owner.keyId, owner.secret)).status, 200);
  });
});
