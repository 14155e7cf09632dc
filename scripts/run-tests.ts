/**
 * Runs the whole suite with Node's own test runner. Shared real services (moto, the Temporal dev
 * server), the workflow bundle and the time-skipping test server's install are made once
 * here, not once per file, and handed to the test files through environment variables; a test file
 * run on its own starts what it needs itself (see test/support/services.ts).
 *
 * Usage: node --import tsx scripts/run-tests.ts [path-prefix ...]
 */
import { spawn } from 'node:child_process';
import { readdir } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startMoto, type MotoServer } from '../src/tools/moto.js';
import { startTemporalDevServer, type DevServer } from '../src/tools/temporal-cli.js';
import { ensureTemporalTestServer } from '../src/tools/temporal-test-server.js';
import { writeWorkflowBundle } from '../src/temporal/worker/workflow-bundle.js';
import { ensureChromium } from '../src/tools/chromium.js';
import { ensureDashboardBuilt } from '../src/app/dashboard-assets.js';
import { findPostgresBin, startPostgres, type PostgresServer } from './postgres.js';

async function findTests(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true });
  const found: string[] = [];
  for (const entry of entries) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) found.push(...(await findTests(full)));
    else if (entry.name.endsWith('.test.ts')) found.push(full);
  }
  return found.sort();
}

const filters = process.argv.slice(2);
const all = await findTests('test');
const files = filters.length ? all.filter((f) => filters.some((prefix) => f.startsWith(prefix))) : all;
if (files.length === 0) {
  console.error(`no test files match ${filters.join(' ')}`);
  process.exit(1);
}

let moto: MotoServer | undefined;
const env: NodeJS.ProcessEnv = { ...process.env };
if (!env.PIXELSHIFT_TEST_S3_ENDPOINT) {
  moto = await startMoto();
  env.PIXELSHIFT_TEST_S3_ENDPOINT = moto.endpoint;
}
// Database tests also run on a real PostgreSQL server when one is installed (CI requires it); the e2e
// fault tests run processes side by side and need one, so for them it is installed if missing.
const runsProcessTests = files.some((file) => file.startsWith('test/e2e/'));
let postgres: PostgresServer | undefined;
if (
  !env.PIXELSHIFT_TEST_DATABASE_URL &&
  (env.PIXELSHIFT_TEST_POSTGRES === '1' || runsProcessTests || findPostgresBin())
) {
  postgres = await startPostgres();
  env.PIXELSHIFT_TEST_DATABASE_URL = postgres.url;
}

// Files under these folders run workflows: they share one dev server and one workflow bundle per run.
const needsTemporal = files.some((file) =>
  /^test\/(temporal\/workflows|e2e|clients|browser)\/|^test\/deploy\/metrics-/.test(file),
);
// These run workflows too, each file on a time-skipping test server of its own: they share the bundle, and
// the test server is installed here once rather than by two files at the same time.
const timeSkipping = files.some((file) => file.startsWith('test/temporal/time-skipping/'));
let temporal: DevServer | undefined;
if (needsTemporal && !env.PIXELSHIFT_TEST_TEMPORAL_ADDRESS) {
  temporal = await startTemporalDevServer({ headless: true });
  env.PIXELSHIFT_TEST_TEMPORAL_ADDRESS = temporal.address;
}
if (timeSkipping) await ensureTemporalTestServer();
if ((needsTemporal || timeSkipping) && !env.PIXELSHIFT_WORKFLOW_BUNDLE) {
  const bundleFile = path.join(os.tmpdir(), `pixelshift-workflow-bundle-${process.pid}.js`);
  await writeWorkflowBundle(bundleFile);
  env.PIXELSHIFT_WORKFLOW_BUNDLE = bundleFile;
}

// The dashboard's browser tests drive Debian's Chromium (installed here once, as root, when missing) and
// need the dashboard built: once per run, here, rather than by each file.
if (files.some((file) => file.startsWith('test/browser/'))) {
  ensureChromium();
  await ensureDashboardBuilt({ log: (line) => console.log(line) });
}

const concurrency = Math.max(1, Math.min(4, os.availableParallelism()));
const child = spawn(
  process.execPath,
  [
    '--import',
    'tsx',
    // Without it, --test-force-exit can drop a file's last verdicts and still pass (the file says why).
    '--import',
    fileURLToPath(new URL('./blocking-test-reports.mjs', import.meta.url)),
    '--test',
    `--test-concurrency=${concurrency}`,
    '--test-reporter=spec',
    '--test-force-exit',
    ...files,
  ],
  { stdio: 'inherit', env },
);
const code = await new Promise<number>((resolve) =>
  child.once('exit', (c, signal) => resolve(c ?? (signal ? 1 : 0))),
);
await Promise.all([moto?.stop(), temporal?.stop(), postgres?.stop()]);
process.exit(code);
