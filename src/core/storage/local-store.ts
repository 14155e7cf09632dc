import { createHash, randomUUID } from 'node:crypto';
import { createWriteStream, type Stats } from 'node:fs';
import {
  mkdir,
  open,
  readdir,
  readFile,
  rename,
  rm,
  stat,
  unlink,
  utimes,
  writeFile,
} from 'node:fs/promises';
import path from 'node:path';
import { Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { z } from 'zod';
import type { ErrorCode } from '../errors.js';
import { isClassifiedError } from '../errors.js';
import { collectBody, feed, guardedBody, ownPutBody } from './body-streams.js';
import { LOCAL_TEMP_DIR, localListStart, localObjectPaths, type LocalObjectPaths } from './local-paths.js';
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

/**
 * An object store over a folder: objects at `<root>/<bucket>/<key>`, with content type and user
 * metadata in JSON sidecars under `<root>/.pixelshift-meta/`. Writes land in
 * `<root>/.pixelshift-tmp/` and are renamed into place, so readers (and folder watchers) only
 * ever see whole files. Buckets must exist for reads; writes create them.
 */
export class LocalObjectStore implements ObjectStore {
  readonly kind = 'local' as const;
  readonly root: string;

  constructor(root: string) {
    this.root = path.resolve(root);
  }

  async head(bucket: string, key: string, options: ReadOptions = {}): Promise<ObjectInfo> {
    const target = this.target('head', bucket, key);
    const paths = localObjectPaths(this.root, target);
    assertNoVersion(options, target);
    return this.call(target, options.signal, async () => {
      await this.assertBucketExists(paths.bucketDir, target);
      const stats = await stat(paths.objectPath);
      if (!stats.isFile()) throw storeError('source_not_found', target, 'the object was not found');
      return this.objectInfo(bucket, key, stats, await this.readSidecar(paths.sidecarPath, stats));
    });
  }

  async getStream(
    bucket: string,
    key: string,
    options: ReadOptions = {},
  ): Promise<{ info: ObjectInfo; body: Readable }> {
    const target = this.target('get', bucket, key);
    const paths = localObjectPaths(this.root, target);
    assertNoVersion(options, target);
    const { maxBytes, signal } = options;
    return this.call(target, signal, async () => {
      await this.assertBucketExists(paths.bucketDir, target);
      // Size and content come from one open file, so a concurrent rename cannot mix two versions.
      const handle = await open(paths.objectPath, 'r');
      try {
        const stats = await handle.stat();
        if (!stats.isFile()) throw storeError('source_not_found', target, 'the object was not found');
        if (maxBytes !== undefined && stats.size > maxBytes)
          throw objectTooLargeError(target, maxBytes, stats.size);
        const info = this.objectInfo(bucket, key, stats, await this.readSidecar(paths.sidecarPath, stats));
        const body = guardedBody(handle.createReadStream(), {
          ...(maxBytes === undefined ? {} : { maxBytes }),
          ...(signal === undefined ? {} : { signal }),
          tooLarge: () => objectTooLargeError(target, maxBytes ?? 0),
          mapSourceError: (error) => this.classify(error, target, signal),
        });
        return { info, body };
      } catch (error) {
        await handle.close();
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
    return { info, data: await collectBody(body) };
  }

  async put(
    bucket: string,
    key: string,
    body: Buffer | Readable,
    options: WriteOptions = {},
  ): Promise<PutResult> {
    const target = this.target('put', bucket, key);
    const { signal } = options;
    const tempPath = path.join(this.root, LOCAL_TEMP_DIR, `${randomUUID()}.partial`);
    const failedBody = ownPutBody(body);
    try {
      const paths = localObjectPaths(this.root, target);
      const metadata = normaliseUserMetadata(options.metadata, target);
      signal?.throwIfAborted();
      await mkdir(path.dirname(tempPath), { recursive: true });
      const { etag, bytes } = await this.writeTempFile(tempPath, body, signal);
      // The sidecar records this exact mtime, which rename preserves, to recognise its object later.
      const mtime = new Date();
      await utimes(tempPath, mtime, mtime);
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
      await this.writeSidecar(paths.sidecarPath, sidecar);
      signal?.throwIfAborted();
      await mkdir(path.dirname(paths.objectPath), { recursive: true });
      await rename(tempPath, paths.objectPath);
      return { bucket, key, bytes, etag };
    } catch (error) {
      await rm(tempPath, { force: true });
      throw failedBody(signal) ?? this.classify(error, target, signal);
    }
  }

  async delete(bucket: string, key: string, options: { signal?: AbortSignal } = {}): Promise<void> {
    const target = this.target('delete', bucket, key);
    const paths = localObjectPaths(this.root, target);
    await this.call(target, options.signal, async () => {
      await this.assertBucketExists(paths.bucketDir, target);
      // Like S3, deleting a key that is not there succeeds.
      await this.unlinkIfPresent(paths.objectPath);
      await this.unlinkIfPresent(paths.sidecarPath);
    });
  }

  async list(bucket: string, prefix = '', options: { signal?: AbortSignal } = {}): Promise<ObjectInfo[]> {
    const target = this.target('list', bucket, prefix);
    const { bucketDir, startDir } = localListStart(this.root, target);
    const { signal } = options;
    return this.call(target, signal, async () => {
      await this.assertBucketExists(bucketDir, target);
      const keys = (await this.walk(bucketDir, startDir, signal)).filter((key) => key.startsWith(prefix));
      // S3 lists in UTF-8 byte order, which differs from JS string order for astral characters.
      keys.sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
      const objects: ObjectInfo[] = [];
      for (const key of keys) {
        signal?.throwIfAborted();
        const paths = this.addressable(target, key);
        if (!paths) continue; // a name made by hand that no key could reach (e.g. with a backslash)
        const stats = await stat(paths.objectPath).catch(() => undefined);
        if (!stats?.isFile()) continue; // deleted while listing
        const sidecar = await this.readSidecar(paths.sidecarPath, stats);
        // Mirrors S3 listings, which carry no content type or user metadata.
        objects.push({
          ...this.objectInfo(bucket, key, stats, sidecar),
          contentType: undefined,
          metadata: {},
        });
      }
      return objects;
    });
  }

  private async writeTempFile(
    tempPath: string,
    body: Buffer | Readable,
    signal: AbortSignal | undefined,
  ): Promise<{ etag: string; bytes: number }> {
    const hashing = hashingCounter();
    if (Buffer.isBuffer(body)) hashing.stream.end(body);
    else feed(body, hashing.stream);
    // `flush` fsyncs before close: a crash must not leave a renamed but empty file.
    await pipeline(hashing.stream, createWriteStream(tempPath, { flags: 'wx', flush: true }), {
      ...(signal === undefined ? {} : { signal }),
    });
    return hashing.digest();
  }

  private async writeSidecar(sidecarPath: string, sidecar: Sidecar): Promise<void> {
    const tempPath = path.join(this.root, LOCAL_TEMP_DIR, `${randomUUID()}.meta.partial`);
    try {
      await writeFile(tempPath, JSON.stringify(sidecar), { flag: 'wx' });
      await mkdir(path.dirname(sidecarPath), { recursive: true });
      await rename(tempPath, sidecarPath);
    } catch (error) {
      await rm(tempPath, { force: true });
      throw error;
    }
  }

  private async readSidecar(sidecarPath: string, stats: Stats): Promise<Sidecar | undefined> {
    const text = await readFile(sidecarPath, 'utf8').catch(() => undefined);
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
    const sameWrite =
      sidecar.size === stats.size && Math.abs(sidecar.mtimeMs - stats.mtimeMs) < MTIME_TOLERANCE_MS;
    return sameWrite ? sidecar : undefined;
  }

  private objectInfo(bucket: string, key: string, stats: Stats, sidecar: Sidecar | undefined): ObjectInfo {
    return {
      bucket,
      key,
      size: stats.size,
      // Files placed by hand have no recorded ETag; hashing them on every HEAD would cost a full read.
      etag: sidecar?.etag,
      contentType: sidecar?.contentType ?? contentTypeByExtension[path.extname(key).toLowerCase()],
      lastModified: stats.mtime,
      metadata: lowerCaseKeys(sidecar?.metadata ?? {}),
    };
  }

  /** Keys of all regular files under `startDir`, relative to the bucket, with `/` separators. */
  private async walk(
    bucketDir: string,
    startDir: string,
    signal: AbortSignal | undefined,
  ): Promise<string[]> {
    const keys: string[] = [];
    const pending = [startDir];
    for (let dir = pending.pop(); dir !== undefined; dir = pending.pop()) {
      signal?.throwIfAborted();
      const entries = await readdir(dir, { withFileTypes: true }).catch((error: unknown) => {
        // A prefix naming a folder that does not exist simply matches nothing.
        if (errnoOf(error) === 'ENOENT' || errnoOf(error) === 'ENOTDIR') return [];
        throw error;
      });
      for (const entry of entries) {
        const full = path.join(dir, entry.name);
        // Symlinks are skipped: they could lead outside the root.
        if (entry.isDirectory()) pending.push(full);
        else if (entry.isFile()) keys.push(path.relative(bucketDir, full).split(path.sep).join('/'));
      }
    }
    return keys;
  }

  private addressable(target: ObjectTarget, key: string): LocalObjectPaths | undefined {
    try {
      return localObjectPaths(this.root, { ...target, key });
    } catch {
      return undefined;
    }
  }

  private async assertBucketExists(bucketDir: string, target: ObjectTarget): Promise<void> {
    const stats = await stat(bucketDir).catch(() => undefined);
    if (!stats?.isDirectory()) throw storeError('source_not_found', target, 'the bucket was not found');
  }

  private async unlinkIfPresent(filePath: string): Promise<void> {
    try {
      await unlink(filePath);
    } catch (error) {
      if (!['ENOENT', 'ENOTDIR', 'EISDIR'].includes(errnoOf(error) ?? '')) throw error;
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
