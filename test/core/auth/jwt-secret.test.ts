import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import { jwtSecretPath, loadOrCreateJwtSecret } from '../../../src/core/auth/jwt-secret.js';

const dirs: string[] = [];
after(() => dirs.forEach((dir) => rmSync(dir, { recursive: true, force: true })));
function dataDir(): string {
  const dir = path.join(mkdtempSync(path.join(os.tmpdir(), 'pixelshift-jwt-')), 'data');
  dirs.push(path.dirname(dir));
  return dir;
}
const config = (dir: string, jwtSecret?: string) => ({
  dataDir: dir,
  auth: { jwtSecret, tokenTtlSeconds: 3600 },
});

describe('JWT secret', () => {
  test('when a secret is configured, then it is used and nothing is written', async () => {
    const dir = dataDir();
    const configured = 'c'.repeat(40);
    assert.deepEqual(
      await loadOrCreateJwtSecret(config(dir, configured)),
      new TextEncoder().encode(configured),
    );
    assert.throws(() => statSync(jwtSecretPath({ dataDir: dir })));
  });

  test('when none is configured, then one is generated once, private to the owner, and kept across restarts', async () => {
    const dir = dataDir();
    const first = await loadOrCreateJwtSecret(config(dir));
    assert.ok(first.length >= 32);
    assert.equal(statSync(jwtSecretPath({ dataDir: dir })).mode & 0o777, 0o600);
    assert.deepEqual(await loadOrCreateJwtSecret(config(dir)), first);
  });

  test('when several processes start at once, then they all end up with the same secret', async () => {
    const dir = dataDir();
    const secrets = await Promise.all(Array.from({ length: 8 }, () => loadOrCreateJwtSecret(config(dir))));
    for (const secret of secrets) assert.deepEqual(secret, secrets[0]);
  });

  test('when the stored secret is too short to be safe, then start-up fails with a clear message', async () => {
    const dir = dataDir();
    await loadOrCreateJwtSecret(config(dir));
    writeFileSync(jwtSecretPath({ dataDir: dir }), 'short\n');
    await assert.rejects(loadOrCreateJwtSecret(config(dir)), /shorter than 32 characters/);
  });
});
