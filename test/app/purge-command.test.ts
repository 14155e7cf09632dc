import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import { promisify } from 'node:util';

const run = promisify(execFile);

describe('pixelshift purge', () => {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'pixelshift-purge-'));
  after(() => rmSync(dataDir, { recursive: true, force: true }));
  // PGlite in a fresh data dir, whatever database the test runner points other tests at.
  const { DATABASE_URL: _unused, ...inherited } = process.env;
  const env = { ...inherited, PIXELSHIFT_DATA_DIR: dataDir };

  async function purge(...args: string[]): Promise<{ code: number; json: unknown }> {
    try {
      const { stdout } = await run(
        process.execPath,
        ['--import', 'tsx', 'src/app/main.ts', 'purge', ...args],
        {
          env,
        },
      );
      return { code: 0, json: JSON.parse(stdout) as unknown };
    } catch (error) {
      const failed = error as { code: number; stdout: string };
      return { code: failed.code, json: failed.stdout ? (JSON.parse(failed.stdout) as unknown) : undefined };
    }
  }

  test('when the retention is shorter than the delivery retries or not a duration, then it refuses and deletes nothing', async () => {
    for (const bad of ['1d', '72h', 'forever', '-5d']) {
      const { code, json } = await purge(`--older-than=${bad}`);
      assert.equal(code, 1, bad);
      assert.equal((json as { error: { code: string } }).error.code, 'invalid_retention');
    }
  });

  test('when run on a database, then it reports what it removed per table', async () => {
    const { code, json } = await purge('--older-than', '45d');
    assert.equal(code, 0);
    const report = json as Record<string, unknown>;
    assert.deepEqual(
      { ...report, olderThan: typeof report.olderThan },
      {
        olderThan: 'string',
        idempotencyKeys: 0,
        hookMessages: 0,
        webhookEvents: 0,
        dashboardSessions: 0,
        signInLinks: 0,
        signInFailureCounters: 0,
      },
    );
  });
});
