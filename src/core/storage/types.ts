import type { Readable } from 'node:stream';

/** What a store knows about one object without reading it. */
export interface ObjectInfo {
  bucket: string;
  key: string;
  size: number;
  etag: string | undefined;
  contentType: string | undefined;
  lastModified: Date | undefined;
  /**
   * Changes whenever the content may have changed: the ETag on S3, the file's mtime, size and inode on
   * local storage (hand-placed files have no ETag). An event that recorded it lets a run notice that the
   * object was replaced before it read it (the run is then superseded).
   */
  revision: string | undefined;
  /** User metadata, keys lower-cased (S3 semantics). */
  metadata: Record<string, string>;
}

export interface ReadOptions {
  versionId?: string;
  signal?: AbortSignal;
  /** Refuse (too_large) objects bigger than this, both on HEAD and while streaming. */
  maxBytes?: number;
}

export interface WriteOptions {
  contentType?: string;
  cacheControl?: string;
  metadata?: Record<string, string>;
  signal?: AbortSignal;
}

export interface PutResult {
  bucket: string;
  key: string;
  bytes: number;
  etag: string;
}

/**
 * The object-store port. Every failure is a ClassifiedError (src/errors.ts):
 * missing → source_not_found, refused → access_denied, throttled/network → transient
 * (with retryAfterMs when the server said when to come back), oversized → too_large.
 */
export interface ObjectStore {
  readonly kind: 's3' | 'local';
  head(bucket: string, key: string, options?: ReadOptions): Promise<ObjectInfo>;
  /** Streams the body; checks the size with a HEAD first when `maxBytes` is set. */
  getStream(
    bucket: string,
    key: string,
    options?: ReadOptions,
  ): Promise<{ info: ObjectInfo; body: Readable }>;
  /** Reads the whole body into memory (bounded by `maxBytes`). */
  getBuffer(bucket: string, key: string, options?: ReadOptions): Promise<{ info: ObjectInfo; data: Buffer }>;
  /** Writes (overwrites) an object. Streams use multipart uploads where the store has them. */
  put(bucket: string, key: string, body: Buffer | Readable, options?: WriteOptions): Promise<PutResult>;
  delete(bucket: string, key: string, options?: { signal?: AbortSignal }): Promise<void>;
  list(bucket: string, prefix?: string, options?: { signal?: AbortSignal }): Promise<ObjectInfo[]>;
}
