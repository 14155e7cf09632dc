import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createApiKey, hashSecret, verifyApiKey } from '../../src/db/api-key-credentials.js';
import { createKeyStatusCache } from '../../src/api/key-status.js';
import { createAccount, findApiKey, revokeApiKey } from '../../src/db/index.js';
import { databaseTargets, openMigrated, type TestDatabase } from '../support/test-databases.js';

let database: TestDatabase;
before(async () => {
  database = await openMigrated(databaseTargets()[0]!);
  await createAccount(database.db, { id: 'acme', name: 'Acme' });
  await createAccount(database.db, { id: 'globex', name: 'Globex' });
});
after(() => database.close());

describe('API key pairs', () => {
  test('when a key is created, then only the SHA-256 of its secret is stored', async () => {
    const key = await createApiKey(database.db, 'acme', 'ci');
    assert.match(key.keyId, /^pk_[0-9a-z]{24}$/);
    assert.match(key.secret, /^sk_[A-Za-z0-9_-]{43}$/);
    const row = await findApiKey(database.db, key.keyId);
    assert.equal(row?.secretHash, hashSecret(key.secret));
    assert.ok(!JSON.stringify(row).includes(key.secret));
  });

  test('when the right secret is presented, then the account is returned and the use recorded', async () => {
    const key = await createApiKey(database.db, 'acme');
    assert.equal((await findApiKey(database.db, key.keyId))?.lastUsedAt, null);
    assert.deepEqual(await verifyApiKey(database.db, key.keyId, key.secret), {
      accountId: 'acme',
      keyId: key.keyId,
    });
    assert.ok((await findApiKey(database.db, key.keyId))?.lastUsedAt instanceof Date);
  });

  test('when the secret is wrong, the id unknown or malformed, or the key revoked, then nothing is returned', async () => {
    const key = await createApiKey(database.db, 'acme');
    assert.equal(await verifyApiKey(database.db, key.keyId, `${key.secret}x`), undefined);
    assert.equal(await verifyApiKey(database.db, key.keyId, ''), undefined);
    assert.equal(await verifyApiKey(database.db, 'pk_000000000000000000000000', key.secret), undefined);
    assert.equal(await verifyApiKey(database.db, `${key.keyId}' or '1'='1`, key.secret), undefined);
    await revokeApiKey(database.db, 'acme', key.keyId);
    assert.equal(await verifyApiKey(database.db, key.keyId, key.secret), undefined);
  });

  test('when an account has several keys, then each works on its own', async () => {
    const a = await createApiKey(database.db, 'globex');
    const b = await createApiKey(database.db, 'globex');
    assert.notEqual(a.keyId, b.keyId);
    assert.equal(await verifyApiKey(database.db, a.keyId, b.secret), undefined);
    assert.equal((await verifyApiKey(database.db, b.keyId, b.secret))?.accountId, 'globex');
  });
});

describe('key status cache', () => {
  test('when a key is revoked, then the cache reports it within its TTL, or at once after forget()', async () => {
    let now = 0;
    const cache = createKeyStatusCache(database.db, { ttlMs: 5_000, now: () => now });
    const key = await createApiKey(database.db, 'acme');
    assert.equal(await cache.isActive(key.keyId, 'acme'), true);
    assert.equal(await cache.isActive(key.keyId, 'globex'), false, 'a key only speaks for its own account');
    await revokeApiKey(database.db, 'acme', key.keyId);
    assert.equal(await cache.isActive(key.keyId, 'acme'), true, 'still cached');
    now += 5_000;
    assert.equal(await cache.isActive(key.keyId, 'acme'), false, 'expired entry re-read');

    const other = await createApiKey(database.db, 'acme');
    assert.equal(await cache.isActive(other.keyId, 'acme'), true);
    await revokeApiKey(database.db, 'acme', other.keyId);
    cache.forget(other.keyId);
    assert.equal(await cache.isActive(other.keyId, 'acme'), false);
    assert.equal(await cache.isActive('pk_unknown', 'acme'), false);
  });
});
