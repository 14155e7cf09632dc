/**
 * The local storage watcher (docs/architecture.md §6, §10): for a watched `local` connection, new or
 * replaced files under `<root>/<bucket>/<key>` become the same ObjectCreated events a real bucket sends,
 * so rules work on a laptop with no S3 at all.
 *
 * It scans periodically (robust on every filesystem, network mounts included) and emits a file only once
 * it is stable: the same size, mtime and inode seen by two scans at least `settleMs` apart (per
 * connection, DEFAULT_WATCH_SETTLE_MS by default). A file still being written keeps changing and is not
 * picked up half-written; the store's own writes land by rename, whole. Each version of a file is named
 * by its revision (mtime, size and inode), which serves as the event's sequencer, so a rescan or a
 * restart asks for the same workflow ID (the ingest finds the run already there) while a new upload of
 * the same key gets a new one. The event carries the revision too: a writer that resumes after a longer
 * pause than the settle time changes it, and the run started for the earlier version then ends as
 * `superseded` instead of failing on a half-written file, while the finished file gets a run of its own.
 */
import { readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { inSpan } from '../../core/telemetry/spans.js';
import type { Logger } from 'pino';
import { DEFAULT_WATCH_SETTLE_MS } from '../../core/storage/connections.js';
import { isGeneratedObject } from '../../core/storage/generated-metadata.js';
import { isLocalBucketName, localObjectLocation } from '../../core/storage/local-paths.js';
import { fileRevision, LocalObjectStore } from '../../core/storage/local-store.js';
import type { EventIngest, ObjectCreatedEvent } from '../../core/triggers/trigger-types.js';

export interface LocalWatcherOptions {
  connectionName: string;
  root: string;
  ingest: EventIngest;
  logger?: Logger | undefined;
  /** Time between scans (default 1 s). */
  intervalMs?: number;
  /** How long a file must stay unchanged before it is emitted (DEFAULT_WATCH_SETTLE_MS by default). */
  settleMs?: number;
  /** Events per ingest call. */
  batchSize?: number;
  /** Milliseconds clock, injectable for tests. */
  now?: () => number;
}

export interface LocalWatcher {
  /** One scan (waits for a scan already running first); resolves when its events are ingested. */
  scan(): Promise<void>;
  /** Scans every `intervalMs` until stopped. */
  start(): void;
  /** Stops the timer and waits for the scan in progress. */
  stop(): Promise<void>;
}

interface Sighting {
  /** Identity of this version of the file: its revision (mtime in ns, size and inode). */
  signature: string;
  /** When this signature was first seen (the watcher's clock). */
  since: number;
  /** Emitted (or deliberately skipped); set again only by a new signature. */
  done: boolean;
}

interface FoundFile {
  bucket: string;
  key: string;
  mtime: Date;
  signature: string;
}

/**
 * Files under one bucket folder. Names starting with a dot are skipped: editors, copy tools and desktops
 * write their temporary and housekeeping files that way (`.photo.jpg.tmp`, `.DS_Store`). Symlinks are
 * skipped, as the store does, so nothing outside the root is followed.
 */
async function walkBucket(root: string, bucket: string): Promise<FoundFile[]> {
  const bucketDir = path.join(root, bucket);
  const found: FoundFile[] = [];
  const pending = [bucketDir];
  for (let dir = pending.pop(); dir !== undefined; dir = pending.pop()) {
    const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
    for (const entry of entries) {
      if (entry.name.startsWith('.')) continue;
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) pending.push(full);
      if (!entry.isFile()) continue;
      const key = path.relative(bucketDir, full).split(path.sep).join('/');
      try {
        localObjectLocation({ scheme: 'local', operation: 'head', bucket, key });
      } catch {
        continue; // a name no key can address (a backslash, say): the store could not read it either
      }
      const stats = await stat(full, { bigint: true }).catch(() => undefined);
      if (!stats?.isFile()) continue; // gone since the listing
      found.push({
        bucket,
        key,
        mtime: stats.mtime,
        signature: fileRevision(stats),
      });
    }
  }
  return found;
}

export function createLocalWatcher(options: LocalWatcherOptions): LocalWatcher {
  const { connectionName, ingest } = options;
  const root = path.resolve(options.root);
  const store = new LocalObjectStore(root);
  const log = options.logger?.child({ connection: connectionName, root });
  const intervalMs = options.intervalMs ?? 1000;
  const settleMs = options.settleMs ?? DEFAULT_WATCH_SETTLE_MS;
  const batchSize = options.batchSize ?? 100;
  const now = options.now ?? Date.now;
  const sightings = new Map<string, Sighting>();
  let timer: NodeJS.Timeout | undefined;
  let current: Promise<void> = Promise.resolve();
  let stopped = false;

  async function listFiles(): Promise<FoundFile[]> {
    const entries = await readdir(root, { withFileTypes: true }).catch(() => []);
    const buckets = entries.filter((entry) => entry.isDirectory() && isLocalBucketName(entry.name));
    return (await Promise.all(buckets.map((entry) => walkBucket(root, entry.name)))).flat();
  }

  /** The event for a stable file, or undefined for a generated output (or a file changed meanwhile). */
  async function eventFor(file: FoundFile): Promise<ObjectCreatedEvent | undefined> {
    // HEAD through the store reads the sidecar the same way the graph will: content type, ETag and the
    // generated-output marker, which lets outputs be skipped here without asking the ingest.
    const info = await store.head(file.bucket, file.key);
    if (info.revision !== file.signature) return undefined; // changed since the scan: the next one sees it
    if (isGeneratedObject(info)) return undefined;
    return {
      connection: connectionName,
      bucket: file.bucket,
      key: file.key,
      size: info.size,
      ...(info.etag === undefined ? {} : { etag: info.etag }),
      ...(info.contentType === undefined ? {} : { contentType: info.contentType }),
      sequencer: file.signature,
      revision: file.signature,
      eventTime: file.mtime.toISOString(),
      eventName: 'ObjectCreated:Put',
    };
  }

  async function scanOnce(): Promise<void> {
    const files = await listFiles();
    const at = now();
    const present = new Set<string>();
    const ready: { id: string; file: FoundFile }[] = [];
    for (const file of files) {
      const id = `${file.bucket}/${file.key}`;
      present.add(id);
      const seen = sightings.get(id);
      if (seen?.signature !== file.signature) {
        sightings.set(id, { signature: file.signature, since: at, done: false });
      } else if (!seen.done && at - seen.since >= settleMs) {
        ready.push({ id, file });
      }
    }
    for (const id of sightings.keys()) if (!present.has(id)) sightings.delete(id);

    const pending: { id: string; signature: string; event: ObjectCreatedEvent }[] = [];
    for (const { id, file } of ready) {
      const event = await eventFor(file).catch(() => undefined);
      if (event) pending.push({ id, signature: file.signature, event });
      else sightings.get(id)!.done = true;
    }
    for (let start = 0; start < pending.length; start += batchSize) {
      const batch = pending.slice(start, start + batchSize);
      try {
        // Each ingest is a trace of its own: the runs it starts join it.
        await inSpan(
          'bucket-event local scan',
          { 'pixelshift.storage.connection': connectionName, 'pixelshift.events': batch.length },
          () => ingest.ingest(batch.map((item) => item.event)),
          { root: true },
        );
      } catch (error) {
        // Left not done: the next scan offers the same files (same sequencers) again.
        log?.warn(
          { err: error, files: batch.length },
          'ingest failed; the files are retried on the next scan',
        );
        continue;
      }
      for (const item of batch) {
        const sighting = sightings.get(item.id);
        if (sighting?.signature === item.signature) sighting.done = true;
      }
    }
  }

  function scan(): Promise<void> {
    current = current.then(scanOnce).catch((error: unknown) => {
      log?.error({ err: error }, 'local storage scan failed');
    });
    return current;
  }

  return {
    scan,
    start() {
      if (timer || stopped) return;
      void scan();
      timer = setInterval(() => void scan(), intervalMs);
      log?.info({ intervalMs, settleMs }, 'watching local storage for new files');
    },
    async stop() {
      stopped = true;
      if (timer) clearInterval(timer);
      timer = undefined;
      await current;
    },
  };
}
