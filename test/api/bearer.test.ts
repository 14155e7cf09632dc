import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { SignJWT, UnsecuredJWT } from 'jose';
import request from 'supertest';
import { issueAccessToken } from '../../src/core/auth/access-tokens.js';
import { revokeApiKey } from '../../src/db/index.js';
import { createTestAccount, createTestApi, type TestAccount, type TestApi } from '../support/api-harness.js';

let api: TestApi;
let account: TestAccount;
before(async () => {
  // A short status cache, so a revocation made behind the API's back shows within the test's patience.
  api = await createTestApi({ keyStatusTtlMs: 300 });
  account = await createTestAccount(api);
});
after(() => api.close());

async function assertUnauthorized(authorization: string | undefined, invalidToken = true): Promise<void> {
  const req = request(api.app).get('/v1/keys');
  if (authorization !== undefined) req.set('Authorization', authorization);
  const res = await req;
  assert.equal(res.status, 401, `${authorization}: ${JSON.stringify(res.body)}`);
  assert.equal(res.body.error.code, 'unauthorized');
  assert.equal(
    res.headers['www-authenticate'],
    invalidToken ? 'Bearer realm="pixelshift", error="invalid_token"' : 'Bearer realm="pixelshift"',
  );
}

/** A token with our claims, signed as the caller chooses. */
function claims(overrides: Record<string, unknown> = {}) {
  const now = Math.floor(Date.now() / 1000);
  return {
    sub: account.accountId,
    client_id: account.keyId,
    iss: 'pixelshift',
    aud: 'pixelshift-api',
    iat: now,
    exp: now + 600,
    jti: 'j1',
    ...overrides,
  };
}

describe('bearer authentication on /v1', () => {
  test('when a valid token is sent, then the request goes through', async () => {
    await request(api.app).get('/v1/keys').set(account.auth).expect(200);
  });

  test('when no token is sent, then 401 with a bare Bearer challenge', async () => {
    await assertUnauthorized(undefined, false);
  });

  test('when the Authorization header is malformed, then 401', async () => {
    await assertUnauthorized('Bearer');
    await assertUnauthorized('Token abc');
    await assertUnauthorized(`Basic ${Buffer.from(`${account.keyId}:${account.secret}`).toString('base64')}`);
    await assertUnauthorized('Bearer not-a-jwt');
    await assertUnauthorized(`Bearer ${account.token} extra`);
  });

  test('when the token has expired, then 401 says so', async () => {
    const past = Math.floor(Date.now() / 1000) - 7200;
    const { accessToken } = await issueAccessToken(
      { accountId: account.accountId, keyId: account.keyId },
      { secret: api.jwtSecret, ttlSeconds: 60, now: past },
    );
    const res = await request(api.app)
      .get('/v1/keys')
      .set('Authorization', `Bearer ${accessToken}`)
      .expect(401);
    assert.equal(res.body.error.message, 'The access token has expired');
  });

  test('when the token is signed with another secret, then 401', async () => {
    const forged = await new SignJWT(claims())
      .setProtectedHeader({ alg: 'HS256', typ: 'at+jwt' })
      .sign(randomBytes(32));
    await assertUnauthorized(`Bearer ${forged}`);
  });

  test('when the token uses alg "none", then 401', async () => {
    const unsigned = new UnsecuredJWT(claims()).encode();
    await assertUnauthorized(`Bearer ${unsigned}`);
  });

  test('when the token is signed right but is not an access token (wrong typ, issuer or audience), then 401', async () => {
    const sign = (payload: Record<string, unknown>, typ = 'at+jwt') =>
      new SignJWT(payload).setProtectedHeader({ alg: 'HS256', typ }).sign(api.jwtSecret);
    await assertUnauthorized(`Bearer ${await sign(claims(), 'JWT')}`);
    await assertUnauthorized(`Bearer ${await sign(claims({ iss: 'someone-else' }))}`);
    await assertUnauthorized(`Bearer ${await sign(claims({ aud: 'other-api' }))}`);
    await assertUnauthorized(`Bearer ${await sign(claims({ client_id: undefined }))}`);
  });

  test('when the token names an account its key does not belong to, then 401', async () => {
    const other = await createTestAccount(api);
    const { accessToken } = await issueAccessToken(
      { accountId: other.accountId, keyId: account.keyId },
      { secret: api.jwtSecret, ttlSeconds: 60 },
    );
    await assertUnauthorized(`Bearer ${accessToken}`);
  });

  test('when the token’s key is revoked, then the token stops working', async () => {
    const victim = await createTestAccount(api);
    await request(api.app).get('/v1/keys').set(victim.auth).expect(200);
    // Revoked behind the API's back (another replica): the cached answer lives for the cache's TTL only.
    await revokeApiKey(api.db, victim.accountId, victim.keyId);
    const deadline = Date.now() + 5_000;
    let status = 200;
    while (status !== 401 && Date.now() < deadline) {
      status = (await request(api.app).get('/v1/keys').set(victim.auth)).status;
      if (status !== 401) await new Promise((resolve) => setTimeout(resolve, 250));
    }
    assert.equal(status, 401);
  });

  test('when an unknown /v1 path is requested without a token, then 401 (routes are not revealed)', async () => {
    await request(api.app).get('/v1/nothing-here').expect(401);
    const res = await request(api.app).get('/v1/nothing-here').set(account.auth).expect(404);
    assert.equal(res.body.error.code, 'not_found');
  });
});
