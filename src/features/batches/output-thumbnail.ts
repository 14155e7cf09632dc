/**
 * A downscaled WebP preview of an output a batch graph wrote (the dashboard's batch page), read through
 * the storage layer with the account's grants, as the graph's own sink was written. The object is
 * HEADed on every request (a replaced or deleted output is noticed at once); its revision and the size
 * name the thumbnail, which the in-process cache keeps and the ETag lets browsers revalidate with 304.
 */
import { createHash } from 'node:crypto';
import sharp from 'sharp';
import type { Config } from '../../core/config.js';
import { isClassifiedError, type ClassifiedError } from '../../core/errors.js';
import { classifySourceError } from '../../core/imaging/classify.js';
import { failOn } from '../../core/imaging/index.js';
import type { StoreRegistry } from '../../core/storage/connections.js';
import { effectiveGrants, isBucketGranted } from '../../core/storage/grants.js';
import type { ObjectInfo } from '../../core/storage/types.js';
import type { Db } from '../../db/database.js';
import { getBatchGraphRun } from '../../db/graph-runs.js';
import { ApiError, notFound } from '../../api/api-error.js';
import { findStartedBatch } from './get-batch-status.js';
import type { ThumbnailCache } from './thumbnail-cache.js';

/** The largest stored output a thumbnail is made from (the source limit applies when it is lower). */
export const maxThumbnailSourceBytes = 32 * 1024 * 1024;
export const thumbnailCacheControl = 'private, max-age=300';

export interface ThumbnailDeps {
  db: Db;
  stores: Pick<StoreRegistry, 'get'>;
  config: Pick<Config, 'storage' | 'imaging'>;
  cache: ThumbnailCache;
}

export interface ThumbnailRequest {
  accountId: string;
  batchId: string;
  index: number;
  outputIndex: number;
  /** The longest side in pixels: the image fits inside a size × size square, never enlarged. */
  size: number;
  ifNoneMatch?: string | undefined;
}

export type ThumbnailResult =
  { etag: string; notModified: true } | { etag: string; notModified: false; body: Buffer };

export async function outputThumbnail(
  deps: ThumbnailDeps,
  request: ThumbnailRequest,
): Promise<ThumbnailResult> {
  const batch = await findStartedBatch(deps.db, request.accountId, request.batchId);
  const run = await getBatchGraphRun(deps.db, batch.id, request.index);
  const sink = run?.sinks[request.outputIndex];
  if (!sink) {
    throw notFound(
      `Output ${request.outputIndex} of graph ${request.index} of batch ${JSON.stringify(batch.id)}`,
    );
  }
  const { connections, grants } = deps.config.storage;
  // A connection removed from the config since: the output cannot be reached any more.
  if (!Object.hasOwn(connections, sink.storage)) {
    throw notFound(
      `Output ${request.outputIndex} of graph ${request.index} of batch ${JSON.stringify(batch.id)}`,
    );
  }
  if (!isBucketGranted(effectiveGrants(grants, request.accountId), sink.storage, sink.bucket)) {
    throw new ApiError(
      403,
      'access_denied',
      `Bucket ${JSON.stringify(sink.bucket)} on connection ${JSON.stringify(sink.storage)} is no longer granted to this account`,
    );
  }
  const maxBytes = Math.min(maxThumbnailSourceBytes, deps.config.imaging.maxSourceBytes);
  const store = deps.stores.get(sink.storage);
  const info = await storeCall(() => store.head(sink.bucket, sink.key));
  if (info.size > maxBytes) throw tooLarge(info.size, maxBytes);

  const etag = thumbnailEtag(sink.storage, info, request.size);
  if (request.ifNoneMatch !== undefined && etagMatches(request.ifNoneMatch, etag)) {
    return { etag, notModified: true };
  }
  const cacheKey = [request.accountId, sink.storage, sink.bucket, sink.key, etag, request.size].join('\0');
  const cached = deps.cache.get(cacheKey);
  if (cached) return { etag, notModified: false, body: cached };

  const { data } = await storeCall(() => store.getBuffer(sink.bucket, sink.key, { maxBytes }));
  const body = await render(data, request.size, deps.config.imaging.maxInputPixels);
  deps.cache.set(cacheKey, body);
  return { etag, notModified: false, body };
}

const decodeRef = { type: 'output', unit: 'thumbnail' };

async function render(data: Buffer, size: number, maxInputPixels: number): Promise<Buffer> {
  if (data.length === 0) {
    throw new ApiError(
      422,
      'unsupported_input',
      'The stored output is empty (0 bytes), which is not an image',
    );
  }
  try {
    // The first frame of an animation; the pixel limit is the engine's, so no output decodes without bound.
    return await sharp(data, { limitInputPixels: maxInputPixels, failOn })
      .resize(size, size, { fit: 'inside', withoutEnlargement: true })
      .webp({ quality: 75 })
      .toBuffer();
  } catch (error) {
    const classified = classifySourceError(error, decodeRef, maxInputPixels, 'the stored output');
    throw new ApiError(422, imageErrorCode(classified), publicMessage(classified));
  }
}

function imageErrorCode(error: ClassifiedError): 'unsupported_input' | 'corrupt_input' | 'too_large' {
  return error.code === 'too_large' || error.code === 'corrupt_input' ? error.code : 'unsupported_input';
}

/** The engine's message without the unit it names (a thumbnail is not a unit of the graph). */
function publicMessage(error: ClassifiedError): string {
  const suffix = ` (${decodeRef.type} at ${decodeRef.unit})`;
  return error.message.endsWith(suffix) ? error.message.slice(0, -suffix.length) : error.message;
}

function tooLarge(size: number, limit: number): ApiError {
  return new ApiError(
    422,
    'too_large',
    `The stored output is ${size} bytes, larger than the ${limit} bytes a thumbnail is made from`,
  );
}

/** Storage failures as the API answers them: a missing object is not found, like an unwritten output. */
async function storeCall<T>(call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    if (!isClassifiedError(error)) throw error;
    switch (error.code) {
      case 'source_not_found':
        throw new ApiError(404, 'not_found', 'The output is no longer in its bucket');
      case 'too_large':
        throw new ApiError(422, 'too_large', error.message);
      case 'access_denied':
        throw new ApiError(403, 'access_denied', error.message);
      default:
        throw new ApiError(503, 'storage_unavailable', error.message, undefined, {
          'Retry-After': String(Math.max(1, Math.ceil((error.retryAfterMs ?? 1000) / 1000))),
        });
    }
  }
}

/**
 * A strong ETag of the thumbnail: the object's revision (its ETag on S3; mtime, size and inode on local
 * storage) and the size asked for; hashed, so nothing about the store shows.
 */
function thumbnailEtag(connection: string, info: ObjectInfo, size: number): string {
  const revision = info.revision ?? info.etag ?? `${info.size}:${info.lastModified?.getTime() ?? ''}`;
  const hash = createHash('sha256')
    .update(['thumbnail-v1', connection, info.bucket, info.key, revision, info.size, size].join('\0'))
    .digest('base64url')
    .slice(0, 27);
  return `"${hash}"`;
}

/** `If-None-Match`: `*` or a list of entity tags, weak ones compared weakly (RFC 9110 §13.1.2). */
export function etagMatches(header: string, etag: string): boolean {
  if (header.trim() === '*') return true;
  return header.split(',').some((candidate) => candidate.trim().replace(/^W\//, '') === etag);
}
