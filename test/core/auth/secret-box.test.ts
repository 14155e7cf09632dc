import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import {
  generateSigningSecret,
  loadOrCreateSecretsKey,
  openSecret,
  sealSecret,
  secretsKeyFromBase64,
} from '../../../src/core/auth/secret-box.js';

const key = secretsKeyFromBase64(randomBytes(32).toString('base64'));

describe('secret box', () => {
  it('when a secret is sealed, then it opens with the same key and context only', () => {
    const secret = generateSigningSecret();
    assert.match(secret, /^whsec_[A-Za-z0-9+/]{43}=$/);
    const sealed = sealSecret(key, secret, 'wh_1');
    assert.ok(!sealed.includes(secret.slice(6)));
    assert.equal(openSecret(key, sealed, 'wh_1'), secret);
    assert.throws(() => openSecret(key, sealed, 'wh_2'));
    const otherKey = secretsKeyFromBase64(randomBytes(32).toString('base64'));
    assert.throws(() => openSecret(otherKey, sealed, 'wh_1'));
  });

  it('when a sealed value is tampered with or truncated, then opening throws', () => {
    const sealed = sealSecret(key, 'whsec_abc', 'ctx');
    const flipped = sealed.slice(0, -2) + (sealed.endsWith('A') ? 'B' : 'A') + sealed.slice(-1);
    assert.throws(() => openSecret(key, flipped, 'ctx'));
    assert.throws(() => openSecret(key, 'v1.AAAA', 'ctx'));
    assert.throws(() => openSecret(key, 'plain', 'ctx'));
  });

  it('when no key is configured, then one is generated once under the data dir and reused', async () => {
    const dataDir = await mkdtemp(path.join(os.tmpdir(), 'pixelshift-secrets-'));
    try {
      const first = await loadOrCreateSecretsKey({ dataDir, secrets: { key: undefined } });
      const second = await loadOrCreateSecretsKey({ dataDir, secrets: { key: undefined } });
      assert.equal(first.length, 32);
      assert.deepEqual(first, second);
      const file = path.join(dataDir, 'secrets-key');
      assert.equal((await stat(file)).mode & 0o777, 0o600);
      assert.equal(Buffer.from((await readFile(file, 'utf8')).trim(), 'base64').length, 32);
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  });

  it('when a configured key is not 32 bytes, then loading it fails', async () => {
    await assert.rejects(loadOrCreateSecretsKey({ dataDir: '/nonexistent', secrets: { key: 'c2hvcnQ=' } }));
  });
});
