import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { decodeJwt, decodeProtectedHeader } from 'jose';
import request from 'supertest';
import { findApiKey, revokeApiKey } from '../../../src/db/index.js';
import {
  createTestAccount,
  createTestApi,
  type TestAccount,
  type TestApi,
} from '../../support/api-harness.js';

let api: TestApi;
before(async () => {
  api = await createTestApi();
});
after(() => api.close());

/** HTTP Basic as RFC 6749 §2.3.1 wants it: form-urlencode each part, then join with ":" and base64. */
function basic(id: string, secret: string): string {
  const form = (text: string) => encodeURIComponent(text).replace(/%20/g, '+');
  return `Basic ${Buffer.from(`${form(id)}:${form(secret)}`).toString('base64')}`;
}

const token = () => request(api.app).post('/oauth/token').type('form');

function assertOAuthError(res: request.Response, status: number, error: string): void {
  assert.equal(res.status, status, JSON.stringify(res.body));
  assert.equal(res.body.error, error);
  assert.equal(typeof res.body.error_description, 'string');
  assert.equal(res.headers['cache-control'], 'no-store');
  if (status === 401) assert.equal(res.headers['www-authenticate'], 'Basic realm="pixelshift"');
}

describe('POST /oauth/token', () => {
  let account: TestAccount;
  before(async () => {
    account = await createTestAccount(api);
  });

  test('when a key pair is sent with HTTP Basic, then a Bearer token comes back, uncached, and it opens the API', async () => {
    const res = await token()
      .set('Authorization', basic(account.keyId, account.secret))
      .send({ grant_type: 'client_credentials' })
      .expect(200);
    assert.deepEqual(Object.keys(res.body).sort(), ['access_token', 'expires_in', 'token_type']);
    assert.equal(res.body.token_type, 'Bearer');
    assert.equal(res.body.expires_in, api.config.auth.tokenTtlSeconds);
    assert.equal(res.headers['cache-control'], 'no-store');
    assert.equal(res.headers.pragma, 'no-cache');

    const claims = decodeJwt(res.body.access_token);
    assert.equal(claims.sub, account.accountId);
    assert.equal(claims.client_id, account.keyId);
    assert.equal(claims.iss, 'pixelshift');
    assert.equal(claims.aud, 'pixelshift-api');
    assert.equal(claims.exp! - claims.iat!, api.config.auth.tokenTtlSeconds);
    assert.equal(typeof claims.jti, 'string');
    assert.deepEqual(decodeProtectedHeader(res.body.access_token), { alg: 'HS256', typ: 'at+jwt' });

    await request(api.app)
      .get('/v1/keys')
      .set('Authorization', `Bearer ${res.body.access_token}`)
      .expect(200);
    assert.ok((await findApiKey(api.db, account.keyId))?.lastUsedAt, 'last_used_at was recorded');
  });

  test('when the key pair is sent in the body (client_secret_post), then a token comes back', async () => {
    const res = await token()
      .send({ grant_type: 'client_credentials', client_id: account.keyId, client_secret: account.secret })
      .expect(200);
    assert.equal(res.body.token_type, 'Bearer');
  });

  test('when Basic credentials were form-urlencoded before base64, then they are decoded before checking', async () => {
    // Our ids and secrets use only URL-safe characters, so prove the decoding with characters that change:
    // an encoded id must still match, and an encoded "+" in the secret must not turn into a space.
    const encodedId = `${account.keyId.slice(0, 3)}%${account.keyId.charCodeAt(3).toString(16)}${account.keyId.slice(4)}`;
    const header = `Basic ${Buffer.from(`${encodedId}:${encodeURIComponent(account.secret)}`).toString('base64')}`;
    await token().set('Authorization', header).send({ grant_type: 'client_credentials' }).expect(200);
    const plusSecret = `Basic ${Buffer.from(`${account.keyId}:${account.secret}+`).toString('base64')}`;
    const res = await token().set('Authorization', plusSecret).send({ grant_type: 'client_credentials' });
    assertOAuthError(res, 401, 'invalid_client');
  });

  test('when grant_type is missing, then 400 invalid_request', async () => {
    const res = await token().set('Authorization', basic(account.keyId, account.secret)).send({});
    assertOAuthError(res, 400, 'invalid_request');
  });

  test('when grant_type is not client_credentials, then 400 unsupported_grant_type', async () => {
    const res = await token()
      .set('Authorization', basic(account.keyId, account.secret))
      .send({ grant_type: 'password', username: 'a', password: 'b' });
    assertOAuthError(res, 400, 'unsupported_grant_type');
  });

  test('when a parameter is repeated, then 400 invalid_request', async () => {
    const res = await token()
      .set('Authorization', basic(account.keyId, account.secret))
      .send('grant_type=client_credentials&grant_type=client_credentials');
    assertOAuthError(res, 400, 'invalid_request');
  });

  test('when credentials come both in Basic and in the body, then 400 invalid_request', async () => {
    const res = await token()
      .set('Authorization', basic(account.keyId, account.secret))
      .send({ grant_type: 'client_credentials', client_id: account.keyId, client_secret: account.secret });
    assertOAuthError(res, 400, 'invalid_request');
  });

  test('when the secret is wrong, the key unknown or there are no credentials, then 401 invalid_client with WWW-Authenticate', async () => {
    const cases = [
      // Flip the last character to one it cannot already be.
      basic(account.keyId, `${account.secret.slice(0, -1)}${account.secret.endsWith('A') ? 'B' : 'A'}`),
      basic('pk_aaaaaaaaaaaaaaaaaaaaaaaa', account.secret),
      basic('not-a-key', 'x'),
      'Basic !!!not-base64',
      `Basic ${Buffer.from('no-colon').toString('base64')}`,
      `Basic ${Buffer.from(`${account.keyId}:%zz`).toString('base64')}`,
      'Bearer something',
    ];
    for (const header of cases) {
      const res = await token().set('Authorization', header).send({ grant_type: 'client_credentials' });
      assertOAuthError(res, 401, 'invalid_client');
    }
    assertOAuthError(await token().send({ grant_type: 'client_credentials' }), 401, 'invalid_client');
    assertOAuthError(
      await token().send({ grant_type: 'client_credentials', client_id: account.keyId }),
      401,
      'invalid_client',
    );
  });

  test('when the key was revoked, then 401 invalid_client', async () => {
    const revoked = await createTestAccount(api);
    await revokeApiKey(api.db, revoked.accountId, revoked.keyId);
    const res = await token()
      .set('Authorization', basic(revoked.keyId, revoked.secret))
      .send({ grant_type: 'client_credentials' });
    assertOAuthError(res, 401, 'invalid_client');
  });

  test('when a scope is requested, then 400 invalid_scope; an empty scope counts as none', async () => {
    const auth = basic(account.keyId, account.secret);
    assertOAuthError(
      await token().set('Authorization', auth).send({ grant_type: 'client_credentials', scope: 'admin' }),
      400,
      'invalid_scope',
    );
    await token()
      .set('Authorization', auth)
      .send({ grant_type: 'client_credentials', scope: '' })
      .expect(200);
  });

  test('when the body is JSON, then 400 invalid_request (RFC 6749 §4.4.2 allows only form encoding)', async () => {
    const res = await request(api.app)
      .post('/oauth/token')
      .set('Authorization', basic(account.keyId, account.secret))
      .send({ grant_type: 'client_credentials' });
    assert.equal(res.request.getHeader('Content-Type'), 'application/json');
    assertOAuthError(res, 400, 'invalid_request');
  });

  test('when the form is oversized, then 413 invalid_request in the OAuth format, naming the limit', async () => {
    const res = await token()
      .set('Authorization', basic(account.keyId, account.secret))
      .send(`grant_type=client_credentials&pad=${'x'.repeat(20_000)}`);
    assertOAuthError(res, 413, 'invalid_request');
    assert.match(res.body.error_description, /16384 bytes/);
  });
});
