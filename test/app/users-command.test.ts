import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import { verifyPassword } from '../../src/core/auth/passwords.js';
import {
  findDashboardUserByEmail,
  findLiveSession,
  openDatabase,
  startSession,
  type Db,
} from '../../src/db/index.js';

interface Outcome {
  code: number;
  json: unknown;
  stderr: string;
}

describe('pixelshift users', () => {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'pixelshift-users-'));
  after(() => rmSync(dataDir, { recursive: true, force: true }));
  // PGlite in a fresh data dir, whatever database the test runner points other tests at.
  const { DATABASE_URL: _unused, ...inherited } = process.env;
  const env = { ...inherited, PIXELSHIFT_DATA_DIR: dataDir, PUBLIC_URL: 'https://img.example.com' };

  /** Runs the CLI with `stdin` piped in (not a terminal: the password is its first line). */
  function users(args: string[], stdin = ''): Promise<Outcome> {
    return new Promise((resolve, reject) => {
      const child = spawn(process.execPath, ['--import', 'tsx', 'src/app/main.ts', 'users', ...args], {
        env,
      });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
      child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
      child.on('error', reject);
      child.on('close', (code) =>
        resolve({
          code: code ?? -1,
          json: stdout.trim() ? (JSON.parse(stdout) as unknown) : undefined,
          stderr,
        }),
      );
      child.stdin.end(stdin);
    });
  }

  /** The data dir's database, opened between two commands (PGlite has one process at a time). */
  async function withDb<T>(use: (db: Db) => Promise<T>): Promise<T> {
    const database = await openDatabase({ kind: 'pglite', dir: path.join(dataDir, 'pglite') });
    try {
      return await use(database.db);
    } finally {
      await database.close();
    }
  }

  const passwordWorks = (email: string, password: string) =>
    withDb(async (db) => verifyPassword(password, (await findDashboardUserByEmail(db, email))?.passwordHash));

  const errorCode = (outcome: Outcome) => (outcome.json as { error: { code: string } }).error.code;

  test('when a user is created with a piped password, then it is listed (not its password) and can sign in; a second user with the same email in any case is refused', async () => {
    const created = await users(
      ['create', '--account', 'acme', '--email', 'Ada@Example.com', '--json'],
      'a good long password\nignored second line\n',
    );
    assert.equal(created.code, 0, created.stderr);
    const user = created.json as Record<string, string>;
    assert.match(user.id!, /^usr_[0-9a-z]{24}$/);
    assert.deepEqual(
      { ...user, id: undefined, createdAt: undefined },
      {
        id: undefined,
        createdAt: undefined,
        accountId: 'acme',
        email: 'ada@example.com',
      },
    );

    const duplicate = await users(
      ['create', '--account', 'other', '--email', 'ADA@example.com'],
      'another password\n',
    );
    assert.equal(duplicate.code, 1);
    assert.equal(errorCode(duplicate), 'user_exists');

    const listed = await users(['list', '--account', 'acme', '--json']);
    assert.equal(listed.code, 0);
    assert.deepEqual(listed.json, { users: [user] });
    assert.equal(await passwordWorks('ada@example.com', 'a good long password'), true);
    assert.equal(await passwordWorks('ada@example.com', 'ignored second line'), false);
  });

  test('when --generate-password is given, then the password is printed once and works', async () => {
    const created = await users([
      'create',
      '--account',
      'acme',
      '--email',
      'gen@example.com',
      '--generate-password',
      '--json',
    ]);
    assert.equal(created.code, 0, created.stderr);
    const { password } = created.json as { password: string };
    assert.match(password, /^[A-Za-z0-9_-]{22}$/);
    assert.equal(await passwordWorks('gen@example.com', password), true);
  });

  test('when the input is wrong, then the command fails with a precise code and creates nothing', async () => {
    const short = await users(['create', '--account', 'acme', '--email', 'short@example.com'], 'short\n');
    assert.equal(errorCode(short), 'invalid_password');
    const badEmail = await users(
      ['create', '--account', 'acme', '--email', 'not an email'],
      'a good long password\n',
    );
    assert.equal(errorCode(badEmail), 'invalid_email');
    const badAccount = await users(
      ['create', '--account', 'Acme/1', '--email', 'x@example.com'],
      'a good long password\n',
    );
    assert.equal(errorCode(badAccount), 'invalid_account');
    const missing = await users(['create', '--email', 'x@example.com']);
    assert.equal(errorCode(missing), 'invalid_arguments');
    const stored = await withDb(async (db) => [
      await findDashboardUserByEmail(db, 'short@example.com'),
      await findDashboardUserByEmail(db, 'x@example.com'),
    ]);
    assert.deepEqual(stored, [undefined, undefined]);
  });

  test('when a one-time link is asked for, then it is printed under PUBLIC_URL; when the user is deleted, then it is gone with its sessions', async () => {
    const created = await users(
      ['create', '--account', 'acme', '--email', 'link@example.com'],
      'a good long password\n',
    );
    assert.equal(created.code, 0, created.stderr);
    const link = await users(['link', '--email', 'LINK@example.com']);
    assert.equal(link.code, 0, link.stderr);
    assert.match(
      link.stderr,
      /Sign in \(one-time link, valid 15 minutes\): https:\/\/img\.example\.com\/auth\/link\/[A-Za-z0-9_-]{43}\n/,
    );

    const token = await withDb(async (db) => {
      const user = (await findDashboardUserByEmail(db, 'link@example.com'))!;
      return (await startSession(db, user, { idleMs: 3_600_000, maxAgeMs: 86_400_000 }, new Date())).token;
    });
    const deleted = await users(['delete', '--email', 'link@example.com']);
    assert.equal(deleted.code, 0, deleted.stderr);
    assert.equal((deleted.json as { deleted: { email: string } }).deleted.email, 'link@example.com');
    assert.equal(await withDb((db) => findLiveSession(db, token, new Date())), undefined);
    const again = await users(['delete', '--email', 'link@example.com']);
    assert.equal(errorCode(again), 'user_not_found');
  });
});
