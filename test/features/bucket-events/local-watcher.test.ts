import assert from 'node:assert/strict';
import { appendFileSync, mkdirSync, mkdtempSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, test } from 'node:test';
import { generatedMetadata } from '../../../src/core/storage/generated-metadata.js';
import { LocalObjectStore } from '../../../src/core/storage/local-store.js';
import { createLocalWatcher, type LocalWatcher } from '../../../src/features/bucket-events/local-watcher.js';
import { FakeIngest } from '../../support/fake-ingest.js';

let root: string;
let ingest: FakeIngest;
let clock: number;
let watcher: LocalWatcher;

beforeEach(() => {
  root = mkdtempSync(path.join(os.tmpdir(), 'pixelshift-watch-'));
  ingest = new FakeIngest();
  clock = 0;
  watcher = createLocalWatcher({ connectionName: 'default', root, ingest, settleMs: 1000, now: () => clock });
});
afterEach(async () => {
  await watcher.stop();
  rmSync(root, { recursive: true, force: true });
});

function drop(relative: string, content: string | Buffer = 'jpeg bytes'): string {
  const file = path.join(root, relative);
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, content);
  return file;
}

/** One scan, then the clock moves past the settle time. */
async function tick(): Promise<void> {
  await watcher.scan();
  clock += 1000;
}

const keys = () => ingest.events.map((event) => `${event.bucket}/${event.key}`);

describe('local storage watcher', () => {
  test('when a file is dropped into a bucket folder, then it becomes exactly one ObjectCreated event once stable', async () => {
    drop('uploads/2024/cat photo.jpg');
    await tick();
    assert.deepEqual(keys(), [], 'not on first sight');
    await tick();
    await tick();
    await tick();
    assert.deepEqual(keys(), ['uploads/2024/cat photo.jpg']);
    const [event] = ingest.events;
    assert.equal(event!.connection, 'default');
    assert.equal(event!.eventName, 'ObjectCreated:Put');
    assert.equal(event!.size, 'jpeg bytes'.length);
    assert.equal(event!.contentType, 'image/jpeg');
    assert.match(event!.sequencer!, /^[0-9a-f]+-[0-9a-f]+-[0-9a-f]+$/);
  });

  test('when a file is emitted, then its event carries the revision the store reports for that version', async () => {
    drop('uploads/rev.jpg');
    await tick();
    await tick();
    const [event] = ingest.events;
    const info = await new LocalObjectStore(root).head('uploads', 'rev.jpg');
    assert.equal(event!.revision, info.revision);
    assert.equal(event!.sequencer, info.revision);
  });

  test('when no settle time is given, then a file must stay unchanged for five seconds of scans', async () => {
    const patient = createLocalWatcher({ connectionName: 'default', root, ingest, now: () => clock });
    try {
      drop('uploads/slow.jpg');
      for (let second = 0; second < 5; second += 1) {
        await patient.scan();
        clock += 1000;
      }
      assert.deepEqual(keys(), [], 'still settling after four seconds unchanged');
      await patient.scan();
      assert.deepEqual(keys(), ['uploads/slow.jpg']);
    } finally {
      await patient.stop();
    }
  });

  test('when a file is still being written across several scans, then it is emitted once, whole, after it stops changing', async () => {
    const file = drop('uploads/big.jpg', Buffer.alloc(1000, 1));
    for (let chunk = 0; chunk < 6; chunk += 1) {
      await tick();
      appendFileSync(file, Buffer.alloc(1000, chunk));
    }
    assert.deepEqual(keys(), [], 'never picked up while growing');
    await tick();
    await tick();
    await tick();
    assert.deepEqual(keys(), ['uploads/big.jpg']);
    assert.equal(ingest.events[0]!.size, 7000);
  });

  test('when a file is replaced by a new upload of the same key, then a second event with a new sequencer follows', async () => {
    const file = drop('uploads/a.jpg', 'first');
    await tick();
    await tick();
    unlinkSync(file);
    drop('uploads/a.jpg', 'second version');
    await tick();
    await tick();
    await tick();
    assert.deepEqual(keys(), ['uploads/a.jpg', 'uploads/a.jpg']);
    assert.notEqual(ingest.events[0]!.sequencer, ingest.events[1]!.sequencer);
  });

  test('when the watcher restarts, then an unchanged file is offered again with the same sequencer (so the same workflow ID)', async () => {
    drop('uploads/a.jpg');
    await tick();
    await tick();
    await watcher.stop();
    watcher = createLocalWatcher({
      connectionName: 'default',
      root,
      ingest,
      settleMs: 1000,
      now: () => clock,
    });
    await tick();
    await tick();
    assert.equal(ingest.events.length, 2);
    assert.equal(ingest.events[0]!.sequencer, ingest.events[1]!.sequencer);
  });

  test('when objects are written through the local store, then originals are emitted with their ETag and generated outputs are skipped', async () => {
    const store = new LocalObjectStore(root);
    await store.put('uploads', 'in.png', Buffer.from('png'), { contentType: 'image/png' });
    await store.put('thumbnails', 'in.webp', Buffer.from('webp'), {
      contentType: 'image/webp',
      metadata: generatedMetadata({ sourceBucket: 'uploads', sourceKey: 'in.png' }),
    });
    await tick();
    await tick();
    await tick();
    assert.deepEqual(keys(), ['uploads/in.png']);
    assert.equal(ingest.events[0]!.contentType, 'image/png');
    assert.match(ingest.events[0]!.etag!, /^[0-9a-f]{32}$/);
  });

  test('when the store keeps sidecars and temp files, or a tool leaves dotfiles, then none of them is an event', async () => {
    drop('.pixelshift-tmp/abc.partial');
    drop('.pixelshift-meta/uploads/a.jpg', '{}');
    drop('uploads/.DS_Store');
    drop('uploads/.a.jpg.tmp');
    drop('uploads/.hidden/inside.jpg');
    drop('loose-file-at-root.jpg');
    await tick();
    await tick();
    assert.deepEqual(keys(), []);
  });

  test('when a file disappears before it settled, then no event is sent for it', async () => {
    const file = drop('uploads/gone.jpg');
    await tick();
    unlinkSync(file);
    await tick();
    await tick();
    assert.deepEqual(keys(), []);
  });

  test('when the ingest fails, then the file is offered again on the next scan until it succeeds, then never again', async () => {
    drop('uploads/a.jpg');
    ingest.failNext = 2;
    for (let scan = 0; scan < 6; scan += 1) await tick();
    assert.equal(ingest.failedCalls.length, 2);
    assert.deepEqual(keys(), ['uploads/a.jpg']);
    assert.equal(ingest.failedCalls[0]![0]!.sequencer, ingest.events[0]!.sequencer);
  });

  test('when the root does not exist yet, then scans find nothing and fail nothing', async () => {
    rmSync(root, { recursive: true, force: true });
    await tick();
    await tick();
    assert.deepEqual(keys(), []);
  });

  test('when started with a timer, then a dropped file is picked up by the periodic scans and stop ends them', async () => {
    const live = createLocalWatcher({
      connectionName: 'default',
      root,
      ingest,
      intervalMs: 20,
      settleMs: 40,
    });
    live.start();
    try {
      drop('uploads/live.jpg');
      await ingest.waitForEvents(1);
      assert.deepEqual(keys(), ['uploads/live.jpg']);
    } finally {
      await live.stop();
    }
    const count = ingest.calls.length;
    drop('uploads/after-stop.jpg');
    await new Promise((resolve) => setTimeout(resolve, 150));
    assert.equal(ingest.calls.length, count, 'no scans after stop');
  });
});
