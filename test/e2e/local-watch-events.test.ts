/**
 * The embedded default end to end: a photo copied into the `local` connection's folder is found by the
 * watcher, the example rule's graph runs on Temporal, and the thumbnail appears beside it — once.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { copyFile, open, readFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import sharp from 'sharp';
import { ensureExampleRule, EXAMPLE_RULE } from '../../src/app/example-rule.js';
import { startEventFeeders, type EventFeeders } from '../../src/app/feeders.js';
import { activityDeps } from '../../src/app/wiring.js';
import { loadConfig, type Config } from '../../src/core/config.js';
import { ensureAccount, migrate, openDatabase, type Database } from '../../src/db/index.js';
import { TemporalJobEngine } from '../../src/temporal/client/temporal-orchestrator.js';
import { createObjectStores, type StoreRegistry } from '../../src/core/storage/connections.js';
import { parseBucketNotification } from '../../src/core/triggers/bucket-notification.js';
import { createEventIngest } from '../../src/features/bucket-events/bucket-event-ingest.js';
import { createWorkers, type RunningWorkers } from '../../src/temporal/worker/worker.js';
import { DEFAULT_WATCH_SETTLE_MS } from '../../src/core/storage/connections.js';
import { fixturePath } from '../support/fixtures.js';
import { temporalForTests } from '../support/temporal.js';

let dataDir: string;
let config: Config;
let database: Database;
let stores: StoreRegistry;
let workers: RunningWorkers;
let feeders: EventFeeders;
let orchestrator: TemporalJobEngine;
const accountId = `watch-${randomBytes(3).toString('hex')}`;
const ingested = { started: 0, duplicates: 0, calls: 0 };

before(async () => {
  const temporal = await temporalForTests();
  dataDir = mkdtempSync(path.join(os.tmpdir(), 'pixelshift-watch-e2e-'));
  config = loadConfig({
    PIXELSHIFT_DATA_DIR: dataDir,
    PIXELSHIFT_JWT_SECRET: randomBytes(32).toString('base64url'),
    TEMPORAL_ADDRESS: temporal.address,
    PIXELSHIFT_TASK_QUEUE_PREFIX: temporal.taskQueues.orchestration.replace(/-orchestration$/, ''),
    PIXELSHIFT_IMAGING_SLOTS: '2',
    LOG_LEVEL: 'silent',
  });
  assert.deepEqual(config.storage.connections.default, {
    kind: 'local',
    root: path.join(dataDir, 'storage'),
    watch: true,
  });
  database = await openDatabase({ kind: 'pglite' });
  await migrate(database.db);
  await ensureAccount(database.db, { id: accountId, name: accountId });
  await ensureExampleRule({ db: database.db, config }, accountId);
  stores = createObjectStores(config.storage.connections);
  workers = await createWorkers({
    config,
    deps: await activityDeps(config, database, stores),
    bundle: temporal.bundle,
    connection: temporal.nativeConnection,
    shutdownGraceTime: '2 seconds',
  });
  void workers.run();
  orchestrator = new TemporalJobEngine(temporal.client, config);
  const ingest = createEventIngest({
    db: database.db,
    orchestrator,
    stores,
    storage: config.storage,
    onResult: (result) => {
      ingested.calls += 1;
      ingested.started += result.started;
      ingested.duplicates += result.duplicates;
    },
  });
  feeders = startEventFeeders({
    connections: config.storage.connections,
    ingest,
    parse: parseBucketNotification,
  });
});

after(async () => {
  await feeders.stop();
  await workers.shutdown();
  stores.destroy();
  await database.close();
  rmSync(dataDir, { recursive: true, force: true });
});

test('when a photo is copied into the uploads folder, then the example rule writes its thumbnail, once', async () => {
  const storage = path.join(dataDir, 'storage');
  mkdirSync(path.join(storage, EXAMPLE_RULE.bucket, 'pets'), { recursive: true });
  await copyFile(
    fixturePath('jpeg-exif-orientation-1.jpg'),
    path.join(storage, 'uploads', 'pets', 'cat.jpg'),
  );
  const thumbnail = path.join(storage, 'thumbnails', 'pets', 'cat.webp');
  const deadline = Date.now() + 90_000;
  while (!existsSync(thumbnail)) {
    if (Date.now() > deadline) assert.fail('the thumbnail did not appear');
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  const meta = await sharp(thumbnail).metadata();
  assert.equal(meta.format, 'webp');
  assert.equal(meta.width, 320);
  // Scans past the settle time: neither the original nor the thumbnail (a generated output) starts more.
  await new Promise((resolve) => setTimeout(resolve, DEFAULT_WATCH_SETTLE_MS + 1500));
  assert.equal(ingested.started, 1);
  let runs = await orchestrator.listGraphRuns({ accountId, trigger: 's3', pageSize: 10 });
  // Visibility is eventually consistent: give the listing the time to show the run.
  for (let attempt = 0; attempt < 50 && runs.runs.length === 0; attempt++) {
    await new Promise((resolve) => setTimeout(resolve, 200));
    runs = await orchestrator.listGraphRuns({ accountId, trigger: 's3', pageSize: 10 });
  }
  assert.deepEqual(
    runs.runs.map((run) => run.source),
    ['uploads/pets/cat.jpg'],
  );
});

test('when a writer pauses 3 s between chunks, then exactly one run succeeds and none fails', async () => {
  const storage = path.join(dataDir, 'storage');
  mkdirSync(path.join(storage, EXAMPLE_RULE.bucket, 'slow'), { recursive: true });
  const photo = await readFile(fixturePath('jpeg-exif-orientation-1.jpg'));
  // Like a copy over a slow network share: the file grows in three chunks with pauses in between.
  const file = await open(path.join(storage, 'uploads', 'slow', 'cat.jpg'), 'w');
  const third = Math.ceil(photo.length / 3);
  for (let chunk = 0; chunk < 3; chunk++) {
    if (chunk > 0) await new Promise((resolve) => setTimeout(resolve, 3000));
    await file.write(photo.subarray(chunk * third, (chunk + 1) * third));
    await file.sync();
  }
  await file.close();

  const thumbnail = path.join(storage, 'thumbnails', 'slow', 'cat.webp');
  const deadline = Date.now() + 90_000;
  while (!existsSync(thumbnail)) {
    if (Date.now() > deadline) assert.fail('the thumbnail did not appear');
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  assert.equal((await sharp(thumbnail).metadata()).width, 320);
  // Past another settle time: nothing else is started for the file.
  await new Promise((resolve) => setTimeout(resolve, DEFAULT_WATCH_SETTLE_MS + 1500));
  const states = async () =>
    (await orchestrator.listGraphRuns({ accountId, trigger: 's3', pageSize: 50 })).runs
      .filter((run) => run.source === 'uploads/slow/cat.jpg')
      .map((run) => run.state);
  let seen = await states();
  // Visibility is eventually consistent: give the listing the time to show the finished run.
  for (let attempt = 0; attempt < 50 && !seen.includes('succeeded'); attempt++) {
    await new Promise((resolve) => setTimeout(resolve, 200));
    seen = await states();
  }
  assert.deepEqual(seen, ['succeeded'], 'one run, which succeeded: none failed on a half-written file');
});
