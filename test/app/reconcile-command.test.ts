/**
 * `pixelshift reconcile` as an operator runs it: arguments are checked before anything is opened, each bad
 * one with its own code and exit code 1; a batch Temporal does not know is named as such. The rebuilding itself is tested
 * in test/temporal/client/reconcile.test.ts.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { reconcileScopeOf } from '../../src/app/admin-commands.js';
import { newBatchId } from '../../src/core/ids.js';
import { temporalForTests } from '../support/temporal.js';

const run = promisify(execFile);

describe('reconcile arguments', () => {
  const refusal = (options: { batch?: string; since?: string }) => {
    const scope = reconcileScopeOf(options);
    return 'error' in scope ? scope.error.code : undefined;
  };

  test('when given neither or both of --batch and --since, then it refuses with invalid_arguments', () => {
    assert.equal(refusal({}), 'invalid_arguments');
    assert.equal(refusal({ batch: newBatchId(), since: '2025-01-02T00:00:00Z' }), 'invalid_arguments');
  });

  test('when the time is not an ISO 8601 time with its offset or a date, then it refuses with invalid_since', () => {
    for (const bad of ['yesterday', '2025-13-01', '2025-01-02T00:00:00', '1735776000', '']) {
      assert.equal(refusal({ since: bad }), 'invalid_since', bad);
    }
  });

  test('when the batch id is not one, then it refuses with invalid_batch_id', () => {
    for (const bad of ['42', 'b_short', `${newBatchId()}x`, '']) {
      assert.equal(refusal({ batch: bad }), 'invalid_batch_id', bad);
    }
  });

  test('when given one batch id or one time, then that is the scope', () => {
    const batchId = newBatchId();
    assert.deepEqual(reconcileScopeOf({ batch: batchId }), { batchId });
    assert.deepEqual(reconcileScopeOf({ since: '2025-01-02T03:04:05+02:00' }), {
      since: new Date('2025-01-02T01:04:05Z'),
    });
    assert.deepEqual(reconcileScopeOf({ since: '2025-01-02' }), { since: new Date('2025-01-02T00:00:00Z') });
  });
});

describe('pixelshift reconcile', () => {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'pixelshift-reconcile-'));
  after(() => rmSync(dataDir, { recursive: true, force: true }));
  // PGlite in a fresh data dir, whatever database the test runner points other tests at.
  const { DATABASE_URL: _unused, ...inherited } = process.env;

  async function reconcile(
    args: string[],
    env: Record<string, string> = {},
  ): Promise<{ code: number; json: unknown; stderr: string }> {
    try {
      const { stdout, stderr } = await run(
        process.execPath,
        ['--import', 'tsx', 'src/app/main.ts', 'reconcile', ...args],
        // An address nothing listens on: argument errors must be reported before any connection.
        { env: { ...inherited, PIXELSHIFT_DATA_DIR: dataDir, TEMPORAL_ADDRESS: '127.0.0.1:9', ...env } },
      );
      return { code: 0, json: JSON.parse(stdout) as unknown, stderr };
    } catch (error) {
      const failed = error as { code: number; stdout: string; stderr: string };
      return {
        code: failed.code,
        json: failed.stdout ? (JSON.parse(failed.stdout) as unknown) : undefined,
        stderr: failed.stderr,
      };
    }
  }

  const errorCode = (json: unknown) => (json as { error?: { code: string } } | undefined)?.error?.code;

  test('when given neither --batch nor --since, then it exits 1 with invalid_arguments before connecting', async () => {
    const { code, json } = await reconcile([]);
    assert.equal(code, 1);
    assert.equal(errorCode(json), 'invalid_arguments');
  });

  test('when Temporal has no workflow for the batch, then it fails with batch_not_found', async () => {
    const temporal = await temporalForTests();
    const batchId = newBatchId();
    const { code, json } = await reconcile(['--batch', batchId], { TEMPORAL_ADDRESS: temporal.address });
    assert.equal(code, 1);
    assert.deepEqual(json, {
      error: { code: 'batch_not_found', message: `Temporal has no workflow for batch ${batchId}` },
    });
  });

  test('when given a time, then it prints what it rebuilt', async () => {
    const temporal = await temporalForTests();
    // A time to come: nothing has started since, so nothing is read or written.
    const { code, json, stderr } = await reconcile(['--since', '2999-01-01'], {
      TEMPORAL_ADDRESS: temporal.address,
    });
    assert.equal(code, 0, stderr);
    assert.deepEqual(json, {
      graphRuns: { inserted: 0, advanced: 0, unchanged: 0 },
      batches: { restored: 0, finished: 0, unchanged: 0 },
      skipped: [],
    });
    assert.match(stderr, /graph runs: 0 inserted, 0 advanced, 0 unchanged; batches: 0 restored, 0 finished/);
  });
});
