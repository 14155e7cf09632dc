import {
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  type PutObjectCommandInput,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { Readable, Transform } from 'node:stream';
import { collectBody, feed, guardedBody, ownPutBody } from './body-streams.js';
import { classifyS3Error } from './s3-errors.js';
import { LeanS3Head } from './s3-lean-head.js';
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

export interface S3Credentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
}

export interface S3ObjectStoreOptions {
  /** For S3-compatible servers (MinIO, moto, R2…); omit for AWS. */
  endpoint?: string;
  region: string;
  forcePathStyle?: boolean;
  /** Omit to use the SDK's default chain (environment, profile, instance role). */
  credentials?: S3Credentials;
  /** SDK attempts per call (default 3). Set 1 where an outer layer (Temporal) owns retries. */
  maxAttempts?: number;
}

/**
 * Multipart sizing: the uploader holds about (queueSize + 1) × partSize bytes at once, so memory
 * stays near 24 MB whatever the object size. 8 MB parts allow objects up to ~80 GB (10,000 parts).
 */
export const MULTIPART_PART_SIZE = 8 * 1024 * 1024;
export const MULTIPART_QUEUE_SIZE = 2;

function unquoteEtag(etag: string | undefined): string | undefined {
  return etag?.replace(/^"(.*)"$/, '$1');
}

function lowerCaseKeys(metadata: Record<string, string> | undefined): Record<string, string> {
  return Object.fromEntries(Object.entries(metadata ?? {}).map(([key, value]) => [key.toLowerCase(), value]));
}

interface HeadLikeOutput {
  ContentLength?: number;
  ETag?: string;
  ContentType?: string;
  LastModified?: Date;
  Metadata?: Record<string, string>;
}

function objectInfoFrom(bucket: string, key: string, output: HeadLikeOutput): ObjectInfo {
  const etag = unquoteEtag(output.ETag);
  return {
    bucket,
    key,
    size: output.ContentLength ?? 0,
    etag,
    revision: etag,
    contentType: output.ContentType,
    lastModified: output.LastModified,
    metadata: lowerCaseKeys(output.Metadata),
  };
}

/** Counts bytes as a stream passes through, so a streamed put can report its size. */
function byteCounter(): { stream: Transform; bytes: () => number } {
  let bytes = 0;
  const stream = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      bytes += chunk.length;
      callback(null, chunk);
    },
  });
  return { stream, bytes: () => bytes };
}

export class S3ObjectStore implements ObjectStore {
  readonly kind = 's3' as const;
  private readonly client: S3Client;
  /** HEADs are the most frequent request (one per bucket event on a type, one per graph's source). */
  private readonly leanHead: LeanS3Head;

  constructor(options: S3ObjectStoreOptions) {
    this.client = new S3Client({
      region: options.region,
      ...(options.endpoint === undefined ? {} : { endpoint: options.endpoint }),
      ...(options.forcePathStyle === undefined ? {} : { forcePathStyle: options.forcePathStyle }),
      ...(options.credentials === undefined ? {} : { credentials: options.credentials }),
      ...(options.maxAttempts === undefined ? {} : { maxAttempts: options.maxAttempts }),
      // Recent SDKs otherwise send aws-chunked bodies with trailing checksums, which many
      // S3-compatible servers reject or store corrupted (docs/architecture.md §6).
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
    });
    this.leanHead = new LeanS3Head(this.client);
  }

  /** Releases the client's pooled sockets; the store is unusable afterwards. */
  destroy(): void {
    this.client.destroy();
    this.leanHead.destroy();
  }

  async head(bucket: string, key: string, options: ReadOptions = {}): Promise<ObjectInfo> {
    return this.headAs('head', bucket, key, options);
  }

  async getStream(
    bucket: string,
    key: string,
    options: ReadOptions = {},
  ): Promise<{ info: ObjectInfo; body: Readable }> {
    const target = this.target('get', bucket, key);
    const { maxBytes, signal } = options;
    if (maxBytes !== undefined) {
      // Refuse before any body byte is transferred (imgproxy-style: limits before work).
      const headed = await this.headAs('get', bucket, key, options);
      if (headed.size > maxBytes) throw objectTooLargeError(target, maxBytes, headed.size);
    }
    const output = await this.call('get', bucket, key, signal, () =>
      this.client.send(new GetObjectCommand({ Bucket: bucket, Key: key, VersionId: options.versionId }), {
        abortSignal: signal,
      }),
    );
    const info = objectInfoFrom(bucket, key, output);
    const source = output.Body;
    if (!(source instanceof Readable)) {
      throw storeError('transient', target, 'the storage service returned no readable body');
    }
    // The object may have been replaced since the HEAD; the stream guard catches any later growth.
    if (maxBytes !== undefined && info.size > maxBytes) {
      source.destroy();
      throw objectTooLargeError(target, maxBytes, info.size);
    }
    const body = guardedBody(source, {
      ...(maxBytes === undefined ? {} : { maxBytes }),
      ...(signal === undefined ? {} : { signal }),
      tooLarge: () => objectTooLargeError(target, maxBytes ?? 0),
      mapSourceError: (error) => classifyS3Error(error, { bucket, key, operation: 'get' }),
    });
    return { info, body };
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
    try {
      signal?.throwIfAborted();
      const params: PutObjectCommandInput = {
        Bucket: bucket,
        Key: key,
        ContentType: options.contentType,
        CacheControl: options.cacheControl,
        Metadata: normaliseUserMetadata(options.metadata, target),
      };
      if (Buffer.isBuffer(body) && body.length <= MULTIPART_PART_SIZE) {
        // One request, cancellable mid-flight; the multipart machinery would add nothing.
        const output = await this.client.send(new PutObjectCommand({ ...params, Body: body }), {
          abortSignal: signal,
        });
        return { bucket, key, bytes: body.length, etag: unquoteEtag(output.ETag) ?? '' };
      }
      return await this.putMultipart(params, body, signal);
    } catch (error) {
      throw failedBody(signal) ?? this.classify(error, target, signal);
    }
  }

  private async putMultipart(
    params: PutObjectCommandInput,
    body: Buffer | Readable,
    signal: AbortSignal | undefined,
  ): Promise<PutResult> {
    const counter = Buffer.isBuffer(body) ? undefined : byteCounter();
    if (counter) feed(body as Readable, counter.stream);
    // lib-storage only listens to its own controller, so the caller's signal is relayed to it.
    const abortController = new AbortController();
    const relayAbort = () => abortController.abort(signal?.reason);
    signal?.addEventListener('abort', relayAbort, { once: true });
    try {
      const upload = new Upload({
        client: this.client,
        params: { ...params, Body: counter ? counter.stream : body },
        partSize: MULTIPART_PART_SIZE,
        queueSize: MULTIPART_QUEUE_SIZE,
        leavePartsOnError: false,
        abortController,
      });
      const output = await upload.done();
      return {
        bucket: params.Bucket!,
        key: params.Key!,
        bytes: counter ? counter.bytes() : (body as Buffer).length,
        etag: unquoteEtag(output.ETag) ?? '',
      };
    } finally {
      signal?.removeEventListener('abort', relayAbort);
    }
  }

  async delete(bucket: string, key: string, options: { signal?: AbortSignal } = {}): Promise<void> {
    await this.call('delete', bucket, key, options.signal, () =>
      this.client.send(new DeleteObjectCommand({ Bucket: bucket, Key: key }), {
        abortSignal: options.signal,
      }),
    );
  }

  async list(bucket: string, prefix = '', options: { signal?: AbortSignal } = {}): Promise<ObjectInfo[]> {
    return this.call('list', bucket, prefix, options.signal, async () => {
      const objects: ObjectInfo[] = [];
      let continuationToken: string | undefined;
      do {
        const page = await this.client.send(
          new ListObjectsV2Command({
            Bucket: bucket,
            Prefix: prefix || undefined,
            ContinuationToken: continuationToken,
          }),
          { abortSignal: options.signal },
        );
        for (const entry of page.Contents ?? []) {
          if (entry.Key === undefined) continue;
          // Listings carry no content type or user metadata; HEAD the object when they matter.
          const etag = unquoteEtag(entry.ETag);
          objects.push({
            bucket,
            key: entry.Key,
            size: entry.Size ?? 0,
            etag,
            revision: etag,
            contentType: undefined,
            lastModified: entry.LastModified,
            metadata: {},
          });
        }
        continuationToken = page.IsTruncated ? page.NextContinuationToken : undefined;
      } while (continuationToken);
      return objects;
    });
  }

  /** HEAD, with failures worded for the operation the caller asked for. */
  private async headAs(
    operation: StoreOperation,
    bucket: string,
    key: string,
    options: ReadOptions,
  ): Promise<ObjectInfo> {
    return this.call(operation, bucket, key, options.signal, async () => {
      const output =
        (await this.leanHead.head(bucket, key, options)) ??
        (await this.client.send(
          new HeadObjectCommand({ Bucket: bucket, Key: key, VersionId: options.versionId }),
          { abortSignal: options.signal },
        ));
      return objectInfoFrom(bucket, key, output);
    });
  }

  private target(operation: StoreOperation, bucket: string, key: string): ObjectTarget {
    return { scheme: 's3', operation, bucket, key };
  }

  private classify(error: unknown, target: ObjectTarget, signal: AbortSignal | undefined): Error {
    // Whatever the SDK reports after the caller aborted is a consequence of the abort.
    if (signal?.aborted) return isAbortError(error) ? (error as Error) : abortReasonOf(signal);
    return classifyS3Error(error, { bucket: target.bucket, key: target.key, operation: target.operation });
  }

  private async call<T>(
    operation: StoreOperation,
    bucket: string,
    key: string,
    signal: AbortSignal | undefined,
    run: () => Promise<T>,
  ): Promise<T> {
    try {
      return await run();
    } catch (error) {
      throw this.classify(error, this.target(operation, bucket, key), signal);
    }
  }
}
