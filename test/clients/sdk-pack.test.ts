/**
 * @pixelshift/client is publishable, and its examples run: built with the repo's TypeScript and packed
 * with `npm pack`, the tarball installs into an empty project next to the examples/node-sdk programs; the
 * webhook receiver and the submit-and-wait program then run against the real stack.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { copyFileSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';
import { createClient } from '../../packages/client/src/index.js';
import {
  assertOutputsWritten,
  parseSmokeResult,
  runProcess,
  startClientSmoke,
  type ClientSmoke,
} from '../support/generated-clients.js';

const projectRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const packageDir = path.join(projectRoot, 'packages/client');
const exampleDir = path.join(projectRoot, 'examples/node-sdk');
let smoke: ClientSmoke;
before(async () => {
  smoke = await startClientSmoke('sdk-pack');
});
after(() => smoke?.close());

/** Builds and packs the SDK in a staged copy, so the test never writes into the working tree. */
async function packSdk(workDir: string): Promise<string> {
  const staged = path.join(workDir, 'package');
  mkdirSync(staged);
  for (const file of ['package.json', 'README.md', 'CHANGELOG.md']) {
    copyFileSync(path.join(packageDir, file), path.join(staged, file));
  }
  const tsc = path.join(projectRoot, 'node_modules/.bin/tsc');
  const built = await runProcess(
    tsc,
    ['-p', path.join(packageDir, 'tsconfig.json'), '--outDir', path.join(staged, 'dist')],
    { cwd: projectRoot },
  );
  assert.equal(built.exitCode, 0, built.output);
  const packed = await runProcess('npm', ['pack', '--loglevel=error'], { cwd: staged });
  assert.equal(packed.exitCode, 0, packed.output);
  const tarball = readdirSync(staged).find((name) => name.endsWith('.tgz'));
  assert.equal(tarball, 'pixelshift-client-0.1.0.tgz');
  return path.join(staged, tarball);
}

describe('the packed @pixelshift/client and examples/node-sdk', { timeout: 300_000 }, () => {
  test('when the tarball is installed into an empty project, then the example submits and waits, and the example receiver verifies the batch’s webhooks', async () => {
    const tarball = await packSdk(smoke.workDir);
    const project = path.join(smoke.workDir, 'project');
    mkdirSync(project);
    writeFileSync(path.join(project, 'package.json'), JSON.stringify({ private: true, type: 'module' }));
    const installed = await runProcess(
      'npm',
      ['install', '--no-audit', '--no-fund', '--loglevel=error', tarball, 'express@5.3.0'],
      { cwd: project },
    );
    assert.equal(installed.exitCode, 0, installed.output);
    for (const file of ['submit-and-wait.mjs', 'webhook-receiver.mjs']) {
      copyFileSync(path.join(exampleDir, file), path.join(project, file));
    }

    const env = smoke.env;
    const secret = await createClient({
      baseUrl: env.PIXELSHIFT_URL!,
      clientId: env.PIXELSHIFT_CLIENT_ID!,
      clientSecret: env.PIXELSHIFT_CLIENT_SECRET!,
    }).webhooks.callbackSecret();
    const receiver = spawn(process.execPath, ['webhook-receiver.mjs'], {
      cwd: project,
      env: { ...process.env, PIXELSHIFT_WEBHOOK_SECRET: secret, PORT: '0' },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    try {
      const lines = createInterface({ input: receiver.stdout })[Symbol.asyncIterator]();
      const listening = JSON.parse(String((await lines.next()).value)) as { listening: number };

      const run = await runProcess(process.execPath, ['submit-and-wait.mjs'], {
        cwd: project,
        env: { ...env, PIXELSHIFT_CALLBACK_URL: `http://127.0.0.1:${listening.listening}/pixelshift-events` },
      });
      assert.equal(run.exitCode, 0, run.output);
      const { batchId, state } = parseSmokeResult(run.stdout);
      assert.equal(state, 'succeeded', run.output);
      await assertOutputsWritten(smoke);

      // The receiver prints one line per verified delivery; deliveries may arrive in either order.
      const received: { type: string; batchId?: string; state?: string; keys?: string[] }[] = [];
      const expectedTypes = ['graph.succeeded', 'batch.completed'];
      while (!expectedTypes.every((type) => received.some((event) => event.type === type))) {
        const next = await lines.next();
        assert.ok(!next.done, `the receiver stopped having printed ${JSON.stringify(received)}`);
        received.push(JSON.parse(String(next.value)));
      }
      assert.deepEqual(
        received.find((event) => event.type === 'batch.completed'),
        {
          type: 'batch.completed',
          batchId,
          state: 'succeeded',
        },
      );
      const graphEvent = received.find((event) => event.type === 'graph.succeeded');
      assert.deepEqual(graphEvent?.keys?.sort(), smoke.outputs.map((output) => output.key).sort());
    } finally {
      if (receiver.exitCode === null) {
        receiver.kill();
        await once(receiver, 'exit');
      }
    }
  });
});
