/**
 * An in-memory ObjectStore for engine tests: serves seeded objects (e.g. fixture files), records writes,
 * counts calls, and can be told to refuse writes to a bucket or to fail them transiently.
 */
import { readFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { ClassifiedError } from '../../src/core/errors.js';
import type {
  ObjectInfo,
  ObjectStore,
  PutResult,
  ReadOptions,
  WriteOptions,
} from '../../src/core/storage/types.js';
import { fixturePath } from './fixtures.js';

export interface StoredObject {
  data: Buffer;
  contentType: string | undefined;
  cacheControl: string | undefined;
  metadata: Record<string, string>;
  etag: string;
  lastModified: Date;
}

export class MemoryStore implements ObjectStore {
  readonly kind = 'local' as const;
  readonly calls = { head: 0, getStream: 0, getBuffer: 0, put: 0, delete: 0, list: 0 };
  private readonly objects = new Map<string, StoredObject>();
  private readonly refused = new Set<string>();
  private readonly transient = new Map<string, number | undefined>();

  private static id(bucket: string, key: string): string {
    return `${bucket}\u0000${key}`;
  }

  seed(bucket: string, key: string, data: Buffer, contentType?: string): this {
    this.objects.set(MemoryStore.id(bucket, key), {
      data,
      contentType,
      cacheControl: undefined,
      metadata: {},
      etag: `"${createHash('md5').update(data).digest('hex')}"`,
      lastModified: new Date(0),
    });
    return this;
  }

  /** Serves a shared fixture file (read from ../shared, never copied into the repository). */
  seedFixture(bucket: string, key: string, file: string): this {
    return this.seed(bucket, key, readFileSync(fixturePath(file)));
  }

  /** Writes to this bucket fail with access_denied. */
  refuseWrites(bucket: string): this {
    this.refused.add(bucket);
    return this;
  }

  /** Writes to this bucket fail with transient (as S3 SlowDown would). */
  failWritesTransiently(bucket: string, retryAfterMs?: number): this {
    this.transient.set(bucket, retryAfterMs);
    return this;
  }

  object(bucket: string, key: string): StoredObject | undefined {
    return this.objects.get(MemoryStore.id(bucket, key));
  }

  keys(bucket: string): string[] {
    const prefix = `${bucket}\u0000`;
    return [...this.objects.keys()].filter((k) => k.startsWith(prefix)).map((k) => k.slice(prefix.length));
  }

  private read(bucket: string, key: string, options: ReadOptions = {}): StoredObject {
    options.signal?.throwIfAborted();
    const stored = this.objects.get(MemoryStore.id(bucket, key));
    if (!stored) throw new ClassifiedError('source_not_found', `The object ${bucket}/${key} does not exist`);
    if (options.maxBytes !== undefined && stored.data.length > options.maxBytes) {
      throw new ClassifiedError(
        'too_large',
        `Expected at most ${options.maxBytes} bytes for the object but received ${stored.data.length}`,
      );
    }
    return stored;
  }

  private info(bucket: string, key: string, stored: StoredObject): ObjectInfo {
    return {
      bucket,
      key,
      size: stored.data.length,
      etag: stored.etag,
      contentType: stored.contentType,
      lastModified: stored.lastModified,
      revision: stored.etag.replace(/"/g, ''),
      metadata: { ...stored.metadata },
    };
  }

  head(bucket: string, key: string, options?: ReadOptions): Promise<ObjectInfo> {
    this.calls.head += 1;
    return Promise.resolve().then(() => this.info(bucket, key, this.read(bucket, key, options)));
  }

  getStream(
    bucket: string,
    key: string,
    options?: ReadOptions,
  ): Promise<{ info: ObjectInfo; body: Readable }> {
    this.calls.getStream += 1;
    return Promise.resolve().then(() => {
      const stored = this.read(bucket, key, options);
      return { info: this.info(bucket, key, stored), body: Readable.from([stored.data]) };
    });
  }

  getBuffer(bucket: string, key: string, options?: ReadOptions): Promise<{ info: ObjectInfo; data: Buffer }> {
    this.calls.getBuffer += 1;
    return Promise.resolve().then(() => {
      const stored = this.read(bucket, key, options);
      return { info: this.info(bucket, key, stored), data: stored.data };
    });
  }

  async put(
    bucket: string,
    key: string,
    body: Buffer | Readable,
    options: WriteOptions = {},
  ): Promise<PutResult> {
    this.calls.put += 1;
    options.signal?.throwIfAborted();
    if (this.refused.has(bucket)) {
      throw new ClassifiedError('access_denied', `Writing to the bucket ${bucket} is not allowed`);
    }
    if (this.transient.has(bucket)) {
      const retryAfterMs = this.transient.get(bucket);
      throw new ClassifiedError('transient', 'The store asked to slow down', {
        ...(retryAfterMs === undefined ? {} : { retryAfterMs }),
      });
    }
    const chunks: Buffer[] = [];
    if (Buffer.isBuffer(body)) chunks.push(body);
    else for await (const chunk of body) chunks.push(Buffer.from(chunk as Uint8Array));
    const data = Buffer.concat(chunks);
    const etag = `"${createHash('md5').update(data).digest('hex')}"`;
    this.objects.set(MemoryStore.id(bucket, key), {
      data,
      contentType: options.contentType,
      cacheControl: options.cacheControl,
      metadata: { ...options.metadata },
      etag,
      lastModified: new Date(),
    });
    return { bucket, key, bytes: data.length, etag };
  }

  delete(bucket: string, key: string): Promise<void> {
    this.calls.delete += 1;
    this.objects.delete(MemoryStore.id(bucket, key));
    return Promise.resolve();
  }

  list(bucket: string, prefix = ''): Promise<ObjectInfo[]> {
    this.calls.list += 1;
    return Promise.resolve(
      this.keys(bucket)
        .filter((key) => key.startsWith(prefix))
        .sort()
        .map((key) => this.info(bucket, key, this.object(bucket, key)!)),
    );
  }
}

/** A `stores` dependency serving one MemoryStore under every connection name. */
export function storesOf(store: ObjectStore): { get(connection: string): ObjectStore } {
  return { get: () => store };
}
