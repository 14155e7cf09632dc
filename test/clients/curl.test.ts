/**
 * examples/curl.sh, run as a user runs it against the real stack: a token, a branching batch, polling
 * until it ends, and every output in S3.
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';
import {
  assertOutputsWritten,
  parseSmokeResult,
  runProcess,
  startClientSmoke,
  type ClientSmoke,
} from '../support/generated-clients.js';

const script = path.join(path.dirname(fileURLToPath(import.meta.url)), '../../examples/curl.sh');
let smoke: ClientSmoke;
before(async () => {
  smoke = await startClientSmoke('curl');
});
after(() => smoke?.close());

describe('examples/curl.sh', { timeout: 120_000 }, () => {
  test('when run with a key pair, then it submits a branching batch, waits for it, and every output is written', async () => {
    const run = await runProcess('bash', [script], { cwd: smoke.workDir, env: smoke.env });
    assert.equal(run.exitCode, 0, run.output);
    const result = parseSmokeResult(run.stdout);
    assert.equal(result.state, 'succeeded', run.output);
    await assertOutputsWritten(smoke);
  });

  test('when the key pair is wrong, then it stops at the token with the API error and exit code 22', async () => {
    const run = await runProcess('bash', [script], {
      cwd: smoke.workDir,
      env: { ...smoke.env, PIXELSHIFT_CLIENT_SECRET: 'not-the-secret' },
    });
    assert.equal(run.exitCode, 22, run.output);
    assert.match(run.output, /invalid_client/);
  });
});
