import { createHash, randomUUID } from 'node:crypto';
import {
  closeSync,
  createReadStream,
  fstatSync,
  fsync,
  futimesSync,
  openSync,
  readSync,
  renameSync,
  unlinkSync,
  write,
  writeFileSync,
  writeSync,
  type BigIntStats,
} from 'node:fs';
import { readdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { addAbortSignal, Transform, type Readable } from 'node:stream';
import { z } from 'zod';
import type { ErrorCode } from '../errors.js';
import { isClassifiedError } from '../errors.js';
import { collectBody, feed, guardedBody, ownPutBody } from './body-streams.js';
import { ContainedFolder, CREATE_NO_FOLLOW, READ_NO_FOLLOW } from './contained-folders.js';
import {
  LOCAL_TEMP_DIR,
  localListStart,
  localObjectLocation,
  type LocalObjectLocation,
} from './local-paths.js';
import {
  abortReasonOf,
  isAbortError,
  objectTooLargeError,
  storeError,
  type ObjectTarget,
  type StoreOperation,
} from './store-errors.js';
import type { ObjectInfo, ObjectStore, PutResult, ReadOptions, WriteOptions } from './types.js';
import { normaliseUserMetadata } from './user-metadata.js';

const sidecarSchema = z.object({
  version: z.literal(1),
  // Size and mtime of the object the sidecar was written for: a file replaced by hand no longer
  // matches, and must not inherit stale metadata (least of all the generated-output marker).
  size: z.number(),
  mtimeMs: z.number(),
  etag: z.string(),
  contentType: z.string().optional(),
  cacheControl: z.string().optional(),
  metadata: z.record(z.string(), z.string()),
});
type Sidecar = z.infer<typeof sidecarSchema>;

/** Filesystems round mtimes (some to whole seconds); a closer match than this counts as the same write. */
const MTIME_TOLERANCE_MS = 1000;

// For files dropped into a bucket folder by hand, which have no sidecar.
const contentTypeByExtension: Record<string, string> = {
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.png': 'image/png',
  '.webp': 'image/webp',
  '.avif': 'image/avif',
  '.gif': 'image/gif',
  '.tif': 'image/tiff',
  '.tiff': 'image/tiff',
  '.heic': 'image/heic',
  '.heif': 'image/heif',
  '.svg': 'image/svg+xml',
  '.json': 'application/json',
};

interface FsErrorRule {
  code: ErrorCode;
  reason: string;
}

const fsErrorRules = new Map<string, FsErrorRule>([
  ['ENOENT', { code: 'source_not_found', reason: 'the object was not found' }],
  ['ENOTDIR', { code: 'source_not_found', reason: 'the object was not found' }],
  ['EISDIR', { code: 'source_not_found', reason: 'the object was not found' }],
  ['ELOOP', { code: 'access_denied', reason: 'the path has a symbolic link in it' }],
  ['EACCES', { code: 'access_denied', reason: 'access was denied' }],
  ['EPERM', { code: 'access_denied', reason: 'access was denied' }],
  ['EROFS', { code: 'access_denied', reason: 'the storage is read-only' }],
  ['ENAMETOOLONG', { code: 'invalid_graph', reason: 'the key is too long for local storage' }],
  ['EFBIG', { code: 'too_large', reason: 'the object is too large for local storage' }],
  ['ENOSPC', { code: 'transient', reason: 'local storage is full' }],
  ['EDQUOT', { code: 'transient', reason: 'local storage is full' }],
]);

// On a write these mean a folder/file clash (key `a/b` while `a` is an object): S3 allows
// both, a filesystem cannot, and retrying will not help.
const fsWriteConflictCodes = new Set(['ENOTDIR', 'EISDIR', 'EEXIST']);

function errnoOf(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | undefined)?.code;
  return typeof code === 'string' ? code : undefined;
}

function lowerCaseKeys(metadata: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(metadata).map(([key, value]) => [key.toLowerCase(), value]));
}

/** MD5 of the content and its length, taken as it streams to disk (the S3 single-part ETag). */
function hashingCounter(): { stream: Transform; digest: () => { etag: string; bytes: number } } {
  const hash = createHash('md5');
  let bytes = 0;
  const stream = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      hash.update(chunk);
      bytes += chunk.length;
      callback(null, chunk);
    },
  });
  return { stream, digest: () => ({ etag: hash.digest('hex'), bytes }) };
}

/** Reading "the latest" when a graph pinned a version would silently use the wrong image. */
function assertNoVersion(options: ReadOptions, target: ObjectTarget): void {
  if (options.versionId !== undefined) {
    throw storeError('invalid_graph', target, 'local storage does not keep object versions');
  }
}

/** The numbers ObjectInfo and sidecars speak in, from the exact (bigint) stats. */
function fileFacts(stats: BigIntStats): { size: number; mtimeMs: number; mtime: Date } {
  const mtimeMs = Number(stats.mtimeNs / 1000n) / 1000;
  return { size: Number(stats.size), mtimeMs, mtime: new Date(mtimeMs) };
}

/**
 * A file's revision (ObjectInfo.revision): its mtime in nanoseconds, size and inode, in hex. A write by
 * the store (a rename) or by hand gives a new one; the local watcher names each version of a file by it.
 */
export function fileRevision(stats: Pick<BigIntStats, 'mtimeNs' | 'size' | 'ino'>): string {
  return `${stats.mtimeNs.toString(16)}-${stats.size.toString(16)}-${stats.ino.toString(16)}`;
}

/** A sidecar holds a few hundred bytes; anything much bigger was not written by this store. */
const MAX_SIDECAR_BYTES = 64 * 1024;

/**
 * Content chunks up to this size are written synchronously: into the page cache that takes microseconds,
 * less than the hand-off to the thread pool. Bigger ones go through the pool, not to hold up the event loop.
 */
const SYNC_WRITE_BYTES = 64 * 1024;

function writeChunk(fd: number, chunk: Buffer): Promise<void> | void {
  if (chunk.length <= SYNC_WRITE_BYTES) {
    for (let offset = 0; offset < chunk.length;) offset += writeSync(fd, chunk, offset);
    return;
  }
  return new Promise((resolve, reject) => {
    const from = (offset: number) =>
      write(fd, chunk, offset, chunk.length - offset, null, (error, written) => {
        if (error) reject(error);
        else if (offset + written < chunk.length) from(offset + written);
        else resolve();
      });
    from(0);
  });
}

function fsyncFile(fd: number): Promise<void> {
  return new Promise((resolve, reject) => fsync(fd, (error) => (error ? reject(error) : resolve())));
}

/** Missing folders on the way to an object: the object is simply not there. */
const missingCodes = new Set(['ENOENT', 'ENOTDIR']);

/**
 * An object store over a folder: objects at `<root>/<bucket>/<key>`, with content type and user
 * metadata in JSON sidecars under `<root>/.pixelshift-meta/`. Writes land in
 * `<root>/.pixelshift-tmp/` and are renamed into place, so readers (and folder watchers) only
 * ever see whole files. Buckets must exist for reads; writes create them.
 *
 * Nothing below the root is reached through a symbolic link (contained-folders.ts): a link anywhere on
 * an object's path, or as the object itself, is refused with access_denied by reads, writes, deletes
 * and listings alike, so a link dropped into a bucket folder can neither expose nor overwrite a file
 * outside the root.
 */
export class LocalObjectStore implements ObjectStore {
  readonly kind = 'local' as const;
  readonly root: string;

  constructor(root: string) {
    this.root = path.resolve(root);
  }

  async head(bucket: string, key: string, options: ReadOptions = {}): Promise<ObjectInfo> {
    const target = this.target('head', bucket, key);
    const location = localObjectLocation(target);
    assertNoVersion(options, target);
    return this.call(target, options.signal, () =>
      this.inObjectFolder(location, target, (folder) => {
        const stats = folder.statEntry(location.name);
        if (!stats.isFile()) throw storeError('source_not_found', target, 'the object was not found');
        return this.objectInfo(bucket, key, stats, this.readSidecar(location, stats));
      }),
    );
  }

  async getStream(
    bucket: string,
    key: string,
    options: ReadOptions = {},
  ): Promise<{ info: ObjectInfo; body: Readable }> {
    const target = this.target('get', bucket, key);
    const location = localObjectLocation(target);
    assertNoVersion(options, target);
    const { maxBytes, signal } = options;
    return this.call(target, signal, async () => {
      // Size and content come from one open file, so a concurrent rename cannot mix two versions.
      const fd = await this.inObjectFolder(location, target, (folder) =>
        openSync(folder.entry(location.name), READ_NO_FOLLOW),
      );
      try {
        const stats = fstatSync(fd, { bigint: true });
        if (!stats.isFile()) throw storeError('source_not_found', target, 'the object was not found');
        const size = Number(stats.size);
        if (maxBytes !== undefined && size > maxBytes) throw objectTooLargeError(target, maxBytes, size);
        const info = this.objectInfo(bucket, key, stats, this.readSidecar(location, stats));
        // Only the bytes the stats describe: a writer still appending cannot slip more in. The stream
        // closes the file when it ends or is destroyed.
        const range = size > 0 ? { start: 0, end: size - 1 } : {};
        const stream = createReadStream(location.name, { fd, autoClose: true, ...range });
        const body = guardedBody(stream, {
          ...(maxBytes === undefined ? {} : { maxBytes }),
          ...(signal === undefined ? {} : { signal }),
          tooLarge: () => objectTooLargeError(target, maxBytes ?? 0),
          mapSourceError: (error) => this.classify(error, target, signal),
        });
        return { info, body };
      } catch (error) {
        closeSync(fd);
        throw error;
      }
    });
  }

  async getBuffer(
    bucket: string,
    key: string,
    options: ReadOptions = {},
  ): Promise<{ info: ObjectInfo; data: Buffer }> {
    const { info, body } = await this.getStream(bucket, key, options);
    return { info, data: await collectBody(body, info.size) };
  }

  async put(
    bucket: string,
    key: string,
    body: Buffer | Readable,
    options: WriteOptions = {},
  ): Promise<PutResult> {
    const target = this.target('put', bucket, key);
    const { signal } = options;
    const failedBody = ownPutBody(body);
    let root: ContainedFolder | undefined;
    let temp: ContainedFolder | undefined;
    const tempNames: string[] = [];
    try {
      const location = localObjectLocation(target);
      const metadata = normaliseUserMetadata(options.metadata, target);
      signal?.throwIfAborted();
      // The root is the operator's folder, trusted as it is; writes create it like they create buckets.
      root = ContainedFolder.openRoot(this.root, { create: true });
      temp = root.descend([LOCAL_TEMP_DIR], { create: true });
      const tempName = `${randomUUID()}.partial`;
      tempNames.push(tempName);
      const { etag, bytes, mtime } = await this.writeTempFile(temp, tempName, body, signal);
      const sidecar: Sidecar = {
        version: 1,
        size: bytes,
        mtimeMs: mtime.getTime(),
        etag,
        ...(options.contentType === undefined ? {} : { contentType: options.contentType }),
        ...(options.cacheControl === undefined ? {} : { cacheControl: options.cacheControl }),
        metadata,
      };
      // Sidecar first: whoever notices the new file (a folder watcher turning it into an
      // ObjectCreated event) must already see its metadata, including the generated marker.
      const sidecarName = `${randomUUID()}.meta.partial`;
      tempNames.push(sidecarName);
      this.writeTempSidecar(temp, sidecarName, sidecar);
      this.moveInto(root, temp, sidecarName, location.sidecarFolders, location.name);
      signal?.throwIfAborted();
      this.moveInto(root, temp, tempName, location.folders, location.name);
      return { bucket, key, bytes, etag };
    } catch (error) {
      // End a streamed body before cleaning up, so that its producer is not left blocked meanwhile.
      const producerFailure = failedBody(signal);
      for (const name of tempNames) if (temp) await rm(temp.entry(name), { force: true });
      throw producerFailure ?? this.classify(error, target, signal);
    } finally {
      temp?.close();
      root?.close();
    }
  }

  async delete(bucket: string, key: string, options: { signal?: AbortSignal } = {}): Promise<void> {
    const target = this.target('delete', bucket, key);
    const location = localObjectLocation(target);
    await this.call(target, options.signal, async () => {
      await this.inBucket(target, () => undefined);
      // Like S3, deleting a key that is not there succeeds.
      this.unlinkIfPresent(location.folders, location.name);
      this.unlinkIfPresent(location.sidecarFolders, location.name);
    });
  }

  async list(bucket: string, prefix = '', options: { signal?: AbortSignal } = {}): Promise<ObjectInfo[]> {
    const target = this.target('list', bucket, prefix);
    const [, ...startFolders] = localListStart(target);
    const { signal } = options;
    return this.call(target, signal, () =>
      this.inBucket(target, async (bucketFolder) => {
        let start: ContainedFolder;
        try {
          start = bucketFolder.descend(startFolders);
        } catch (error) {
          // A prefix naming a folder that does not exist simply matches nothing.
          if (missingCodes.has(errnoOf(error) ?? '')) return [];
          throw error;
        }
        let found: { key: string; stats: BigIntStats }[];
        try {
          found = await this.walk(start, startFolders, signal);
        } finally {
          start.close();
        }
        const files = found.filter((file) => file.key.startsWith(prefix));
        // S3 lists in UTF-8 byte order, which differs from JS string order for astral characters.
        files.sort((a, b) => Buffer.compare(Buffer.from(a.key), Buffer.from(b.key)));
        const objects: ObjectInfo[] = [];
        for (const { key: fileKey, stats } of files) {
          signal?.throwIfAborted();
          const location = this.addressable(target, fileKey);
          if (!location) continue; // a name made by hand that no key could reach (e.g. with a backslash)
          const sidecar = this.readSidecar(location, stats);
          // Mirrors S3 listings, which carry no content type or user metadata.
          objects.push({
            ...this.objectInfo(bucket, fileKey, stats, sidecar),
            contentType: undefined,
            metadata: {},
          });
        }
        return objects;
      }),
    );
  }

  /** Streams the body into a new temp file; the file's mtime is set to the moment the sidecar records. */
  private async writeTempFile(
    temp: ContainedFolder,
    name: string,
    body: Buffer | Readable,
    signal: AbortSignal | undefined,
  ): Promise<{ etag: string; bytes: number; mtime: Date }> {
    const fd = openSync(temp.entry(name), CREATE_NO_FOLLOW, 0o666);
    try {
      // Fed only now, when it is read at once: a producer error must find the reader listening.
      const hashing = hashingCounter();
      if (Buffer.isBuffer(body)) hashing.stream.end(body);
      else feed(body, hashing.stream);
      const source = signal ? addAbortSignal(signal, hashing.stream) : hashing.stream;
      for await (const chunk of source) await writeChunk(fd, chunk as Buffer);
      // Synced before the rename: a crash must not leave a renamed but empty file.
      await fsyncFile(fd);
      // The sidecar records this exact mtime, which rename preserves, to recognise its object later.
      const mtime = new Date();
      futimesSync(fd, mtime, mtime);
      return { ...hashing.digest(), mtime };
    } finally {
      closeSync(fd);
    }
  }

  private writeTempSidecar(temp: ContainedFolder, name: string, sidecar: Sidecar): void {
    const fd = openSync(temp.entry(name), CREATE_NO_FOLLOW, 0o666);
    try {
      writeFileSync(fd, JSON.stringify(sidecar));
    } finally {
      closeSync(fd);
    }
  }

  /** Renames a temp file to `<folders>/<name>` below `root`, creating the folders; a link there is refused. */
  private moveInto(
    root: ContainedFolder,
    temp: ContainedFolder,
    tempName: string,
    folders: readonly string[],
    name: string,
  ): void {
    const folder = root.descend(folders, { create: true });
    try {
      try {
        folder.statEntry(name);
      } catch (error) {
        if (errnoOf(error) !== 'ENOENT') throw error;
      }
      renameSync(temp.entry(tempName), folder.entry(name));
    } finally {
      folder.close();
    }
  }

  private readSidecar(location: LocalObjectLocation, stats: BigIntStats): Sidecar | undefined {
    const text = this.readSidecarText(location);
    if (text === undefined) return undefined;
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      return undefined;
    }
    const result = sidecarSchema.safeParse(parsed);
    if (!result.success) return undefined;
    const sidecar = result.data;
    const facts = fileFacts(stats);
    const sameWrite =
      sidecar.size === facts.size && Math.abs(sidecar.mtimeMs - facts.mtimeMs) < MTIME_TOLERANCE_MS;
    return sameWrite ? sidecar : undefined;
  }

  /** The sidecar's text, or undefined when there is none (or none this store could have written). */
  private readSidecarText(location: LocalObjectLocation): string | undefined {
    let folder: ContainedFolder | undefined;
    let fd: number | undefined;
    try {
      folder = ContainedFolder.openRoot(this.root).descendAndClose(location.sidecarFolders);
      fd = openSync(folder.entry(location.name), READ_NO_FOLLOW);
      const { size } = fstatSync(fd);
      if (size > MAX_SIDECAR_BYTES) return undefined;
      const bytes = Buffer.alloc(size);
      let filled = 0;
      for (let read = -1; read !== 0 && filled < size; filled += read) {
        read = readSync(fd, bytes, filled, size - filled, filled);
      }
      return bytes.toString('utf8', 0, filled);
    } catch {
      return undefined;
    } finally {
      if (fd !== undefined) closeSync(fd);
      folder?.close();
    }
  }

  private objectInfo(
    bucket: string,
    key: string,
    stats: BigIntStats,
    sidecar: Sidecar | undefined,
  ): ObjectInfo {
    const facts = fileFacts(stats);
    return {
      bucket,
      key,
      size: facts.size,
      // Files placed by hand have no recorded ETag; hashing them on every HEAD would cost a full read.
      etag: sidecar?.etag,
      contentType: sidecar?.contentType ?? contentTypeByExtension[path.extname(key).toLowerCase()],
      lastModified: facts.mtime,
      revision: fileRevision(stats),
      metadata: lowerCaseKeys(sidecar?.metadata ?? {}),
    };
  }

  /**
   * Regular files below `start` (at `startFolders` in the bucket), with keys relative to the bucket.
   * Links are skipped, never followed; a folder swapped for a link while walking is skipped too.
   */
  private async walk(
    start: ContainedFolder,
    startFolders: readonly string[],
    signal: AbortSignal | undefined,
  ): Promise<{ key: string; stats: BigIntStats }[]> {
    const files: { key: string; stats: BigIntStats }[] = [];
    const visit = async (folder: ContainedFolder, folders: readonly string[]): Promise<void> => {
      signal?.throwIfAborted();
      const entries = await readdir(folder.entry('.'), { withFileTypes: true });
      for (const entry of entries) {
        if (entry.isDirectory()) {
          let child: ContainedFolder;
          try {
            child = folder.descend([entry.name]);
          } catch {
            continue;
          }
          try {
            await visit(child, [...folders, entry.name]);
          } finally {
            child.close();
          }
        } else if (entry.isFile()) {
          let stats: BigIntStats | undefined;
          try {
            stats = folder.statEntry(entry.name);
          } catch {
            continue;
          }
          if (stats.isFile()) files.push({ key: [...folders, entry.name].join('/'), stats });
        }
      }
    };
    await visit(start, startFolders);
    return files;
  }

  private addressable(target: ObjectTarget, key: string): LocalObjectLocation | undefined {
    try {
      return localObjectLocation({ ...target, key });
    } catch {
      return undefined;
    }
  }

  /** Runs `use` in the bucket's folder; a missing bucket is source_not_found. */
  private async inBucket<T>(
    target: ObjectTarget,
    use: (folder: ContainedFolder) => Promise<T> | T,
  ): Promise<T> {
    let bucketFolder: ContainedFolder;
    try {
      bucketFolder = ContainedFolder.openRoot(this.root).descendAndClose([target.bucket]);
    } catch (error) {
      if (missingCodes.has(errnoOf(error) ?? ''))
        throw storeError('source_not_found', target, 'the bucket was not found');
      throw error;
    }
    try {
      return await use(bucketFolder);
    } finally {
      bucketFolder.close();
    }
  }

  /** Runs `use` in the folder that holds the object; the bucket must exist. */
  private inObjectFolder<T>(
    location: LocalObjectLocation,
    target: ObjectTarget,
    use: (folder: ContainedFolder) => Promise<T> | T,
  ): Promise<T> {
    return this.inBucket(target, async (bucketFolder) => {
      const folder = bucketFolder.descend(location.folders.slice(1));
      try {
        return await use(folder);
      } finally {
        folder.close();
      }
    });
  }

  private unlinkIfPresent(folders: readonly string[], name: string): void {
    let folder: ContainedFolder | undefined;
    try {
      folder = ContainedFolder.openRoot(this.root).descendAndClose(folders);
      const stats = folder.statEntry(name);
      if (stats.isFile()) unlinkSync(folder.entry(name));
    } catch (error) {
      if (!missingCodes.has(errnoOf(error) ?? '')) throw error;
    } finally {
      folder?.close();
    }
  }

  private target(operation: StoreOperation, bucket: string, key: string): ObjectTarget {
    return { scheme: 'local', operation, bucket, key };
  }

  private classify(error: unknown, target: ObjectTarget, signal: AbortSignal | undefined): Error {
    if (signal?.aborted) return isAbortError(error) ? (error as Error) : abortReasonOf(signal);
    if (isClassifiedError(error) || isAbortError(error)) return error as Error;
    const errno = errnoOf(error);
    if (target.operation === 'put' && errno !== undefined && fsWriteConflictCodes.has(errno)) {
      return storeError('invalid_graph', target, 'the key clashes with an existing object or prefix', {
        cause: error,
      });
    }
    const rule = errno === undefined ? undefined : fsErrorRules.get(errno);
    if (rule) return storeError(rule.code, target, rule.reason, { cause: error });
    return storeError('transient', target, 'local storage failed unexpectedly', { cause: error });
  }

  private async call<T>(
    target: ObjectTarget,
    signal: AbortSignal | undefined,
    run: () => Promise<T>,
  ): Promise<T> {
    try {
      signal?.throwIfAborted();
      return await run();
    } catch (error) {
      throw this.classify(error, target, signal);
    }
  }
}
