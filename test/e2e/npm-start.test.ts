/**
 * `npm start` (the dev command) as the README's first command runs it: its own Temporal dev server, the
 * API, a worker and the local watcher in one process, on free ports and a fresh data folder. A photo
 * dropped into the example rule's folder gets its thumbnail, a batch submitted with the printed dev key
 * succeeds, both started eagerly on the process's own worker, and Ctrl-C stops everything cleanly. Started
 * again on the same data folder, it still has the batch; when its Temporal dev server dies, it stops with
 * the server's exit and last output instead of serving on while nothing can run.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { copyFile, mkdtemp, readFile, readdir, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Client, Connection } from '@temporalio/client';
import { freePort } from '../../src/tools/ports.js';
import { fixturePath } from '../support/fixtures.js';
import { resizedCopyGraph } from '../support/graphs.js';
import { waitFor } from '../support/wait.js';

describe('npm start', () => {
  let dataDir: string;
  let child: ChildProcess;
  let output = '';
  let exited: Promise<number | null>;
  let apiUrl: string;
  let temporalAddress: string;
  let temporal: Connection;
  let env: NodeJS.ProcessEnv;
  let batchWorkflowId: string | undefined;

  /** Runs the dev command as `npm start` does, and waits for its banner. */
  async function startDev(): Promise<void> {
    output = '';
    child = spawn(process.execPath, ['--import', 'tsx', 'src/app/main.ts', 'dev'], {
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    exited = new Promise((resolve) => child.once('exit', (code) => resolve(code)));
    await waitFor('npm start says it is running', () => output.includes('Ctrl-C stops everything.'), {
      timeoutMs: 240_000,
    });
  }

  before(async () => {
    dataDir = await mkdtemp(path.join(os.tmpdir(), 'pixelshift-npm-start-'));
    const temporalPort = await freePort();
    temporalAddress = `127.0.0.1:${temporalPort}`;
    const apiPort = await freePort();
    apiUrl = `http://127.0.0.1:${apiPort}`;
    env = {
      ...process.env,
      PIXELSHIFT_DATA_DIR: dataDir,
      PIXELSHIFT_DEV_TEMPORAL_PORT: String(temporalPort),
      PIXELSHIFT_DEV_TEMPORAL_UI_PORT: String(await freePort()),
      PORT: String(apiPort),
      // Set up front, so the process that gets Ctrl-C is the dev command itself, not a parent re-executing it.
      MALLOC_ARENA_MAX: '2',
    };
    for (const name of ['TEMPORAL_ADDRESS', 'TEMPORAL_UI_URL', 'PIXELSHIFT_CONFIG', 'DATABASE_URL'])
      delete env[name];
    await startDev();
    temporal = await Connection.connect({ address: temporalAddress });
  });

  after(async () => {
    await temporal?.close();
    if (child.exitCode === null) child.kill('SIGKILL');
    await rm(dataDir, { recursive: true, force: true });
  });

  /** Whether the server handed the workflow's first task back with its start (eager start). */
  async function startedEagerly(workflowId: string): Promise<boolean> {
    const history = await new Client({ connection: temporal }).workflow.getHandle(workflowId).fetchHistory();
    return history.events?.[0]?.workflowExecutionStartedEventAttributes?.eagerExecutionAccepted === true;
  }

  test('when a photo is dropped into the uploads folder, then its thumbnail appears, from a run started eagerly', async () => {
    await copyFile(
      fixturePath('jpeg-exif-orientation-1.jpg'),
      path.join(dataDir, 'storage', 'uploads', 'dropped.jpg'),
    );
    const thumbnail = path.join(dataDir, 'storage', 'thumbnails', 'dropped.webp');
    await waitFor('the thumbnail is written', () =>
      stat(thumbnail).then(
        (found) => found.size > 0,
        () => false,
      ),
    );

    const runs = new Client({ connection: temporal }).workflow.list({
      query: `WorkflowType = 'graphWorkflow'`,
    });
    const ids: string[] = [];
    for await (const run of runs) ids.push(run.workflowId);
    const run = ids.find((id) => id.startsWith('s3/default/uploads/dropped.jpg/'));
    assert.ok(run, `a run of the example rule among ${ids.join(', ')}`);
    assert.equal(await startedEagerly(run), true);
  });

  test('when a batch is submitted with the printed dev key, then it succeeds and was started eagerly', async () => {
    const clientId = /client_id\s+(\S+)/.exec(output)?.[1];
    const clientSecret = /client_secret\s+(\S+)/.exec(output)?.[1];
    assert.ok(clientId && clientSecret, 'the banner prints the dev key pair');
    const tokenResponse = await fetch(`${apiUrl}/oauth/token`, {
      method: 'POST',
      headers: {
        authorization: `Basic ${Buffer.from(`${clientId}:${clientSecret}`).toString('base64')}`,
        'content-type': 'application/x-www-form-urlencoded',
      },
      body: 'grant_type=client_credentials',
    });
    assert.equal(tokenResponse.status, 200);
    const { access_token: token } = (await tokenResponse.json()) as { access_token: string };
    const headers = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };

    const submitted = await fetch(`${apiUrl}/v1/batches`, {
      method: 'POST',
      headers,
      body: JSON.stringify({
        graphs: [
          resizedCopyGraph({ bucket: 'uploads', key: 'dropped.jpg' }, 40, 'png', {
            bucket: 'thumbnails',
            key: 'from-batch.png',
          }),
        ],
      }),
    });
    assert.equal(submitted.status, 201);
    const { batchId, workflowId } = (await submitted.json()) as { batchId: string; workflowId: string };
    batchWorkflowId = workflowId;

    let state = '';
    await waitFor('the batch ends', async () => {
      const status = await fetch(`${apiUrl}/v1/batches/${batchId}`, { headers });
      state = ((await status.json()) as { state: string }).state;
      return state !== 'running';
    });
    assert.equal(state, 'succeeded');
    assert.ok((await stat(path.join(dataDir, 'storage', 'thumbnails', 'from-batch.png'))).size > 0);
    assert.equal(await startedEagerly(workflowId), true);
  });

  test('when Ctrl-C is pressed, then everything stops cleanly', async () => {
    child.kill('SIGINT');
    assert.equal(await exited, 0);
    assert.match(output, /stopping…/);
    assert.doesNotMatch(output, /while stopping/);
  });

  test('when started again on the same data and its Temporal dev server then dies, then it stops with exit code 1 and says why', async () => {
    await temporal.close();
    await startDev();
    temporal = await Connection.connect({ address: temporalAddress });
    assert.ok(batchWorkflowId, 'the batch test ran first');
    // The batch of the first start is still there. Its workflow may have been stopped by Ctrl-C just
    // after the batch was reported done, before its last steps; it then finishes on this start's worker.
    const batch = new Client({ connection: temporal }).workflow.getHandle(batchWorkflowId);
    await waitFor('the first start’s batch workflow completes', async () => {
      const { status } = await batch.describe();
      assert.ok(['RUNNING', 'COMPLETED'].includes(status.name), status.name);
      return status.name === 'COMPLETED';
    });

    const server = await childNamed(child.pid!, 'temporal');
    process.kill(server, 'SIGKILL');

    assert.equal(await exited, 1);
    assert.match(
      output,
      /the Temporal dev server at [\d.:]+ exited on its own \(signal SIGKILL\); its last output:\n[^]*stopping…/,
    );
    assert.match(
      output,
      /pixelshift: stopped because its Temporal dev server exited; a new start resumes every run\n$/,
    );
  });
});

/** The pid of `parent`'s child process whose command name is `name` (from /proc). */
async function childNamed(parent: number, name: string): Promise<number> {
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = await readFile(`/proc/${entry}/stat`, 'utf8').catch(() => '');
    // pid (comm) state ppid …; comm may hold spaces, so read after its closing parenthesis.
    const comm = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
    const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    if (comm === name && ppid === parent) return Number(entry);
  }
  throw new Error(`no child process named ${name} under ${parent}`);
}
