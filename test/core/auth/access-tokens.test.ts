import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, test } from 'node:test';
import { decodeJwt } from 'jose';
import { issueAccessToken, verifyAccessToken } from '../../../src/core/auth/access-tokens.js';

const secret = randomBytes(32);
const claims = { accountId: 'acme', keyId: 'pk_abc' };

describe('access tokens', () => {
  test('when a token is issued, then it verifies to the same account and key and expires after the TTL', async () => {
    const now = Math.floor(Date.now() / 1000);
    const { accessToken, expiresIn } = await issueAccessToken(claims, { secret, ttlSeconds: 900, now });
    assert.equal(expiresIn, 900);
    assert.equal(decodeJwt(accessToken).exp, now + 900);
    assert.deepEqual(await verifyAccessToken(accessToken, secret), { ok: true, value: claims });
  });

  test('when two tokens are issued, then their ids differ', async () => {
    const a = await issueAccessToken(claims, { secret, ttlSeconds: 60 });
    const b = await issueAccessToken(claims, { secret, ttlSeconds: 60 });
    assert.notEqual(decodeJwt(a.accessToken).jti, decodeJwt(b.accessToken).jti);
  });

  test('when the token has expired, then it is refused as expired', async () => {
    const { accessToken } = await issueAccessToken(claims, {
      secret,
      ttlSeconds: 60,
      now: Math.floor(Date.now() / 1000) - 3600,
    });
    assert.deepEqual(await verifyAccessToken(accessToken, secret), { ok: false, error: 'expired' });
  });

  test('when the token was signed with another secret or tampered with, then it is refused as invalid', async () => {
    const { accessToken } = await issueAccessToken(claims, { secret: randomBytes(32), ttlSeconds: 60 });
    assert.deepEqual(await verifyAccessToken(accessToken, secret), { ok: false, error: 'invalid' });
    const good = (await issueAccessToken(claims, { secret, ttlSeconds: 60 })).accessToken;
    const [header, , signature] = good.split('.');
    const payload = Buffer.from(JSON.stringify({ ...decodeJwt(good), sub: 'globex' })).toString('base64url');
    assert.deepEqual(await verifyAccessToken(`${header}.${payload}.${signature}`, secret), {
      ok: false,
      error: 'invalid',
    });
    assert.deepEqual(await verifyAccessToken('garbage', secret), { ok: false, error: 'invalid' });
  });
});
