/**
 * The imaging use-case: run one Transform Graph end to end (download once, compile, execute, write).
 *
 * Outcomes: a failure of the source (missing, refused, corrupt, too large, unsupported) rejects with its
 * ClassifiedError and nothing is written. A failure below the source (an operation, an encode, a write)
 * fails only the sinks below it and is listed in `failures` while the other sinks complete. If any of
 * those failures is `transient`, the call rejects with it once everything else is done, so that a retry
 * reruns the graph; writes are idempotent (same keys, same bytes).
 *
 * A run started for one version of its source (`expectedSourceRevision`, from the event) rejects with
 * SourceSupersededError when it finds another, and also when the source fails to decode and has changed
 * by then: a file still being written when the run read it is then not reported as corrupt.
 */
import { isClassifiedError, type ErrorCode } from '../errors.js';
import { limits, type OutputFormat, type TransformGraph } from '../graph/index.js';
import type { ObjectStore } from '../storage/types.js';
import { inSpan } from '../telemetry/spans.js';
import { executePlan } from './execute.js';
import { compilePlan } from './plan.js';
import { isSourceFailure } from './classify.js';
import { provenanceOf, type Provenance } from './provenance.js';
import { loadSource, SourceSupersededError } from './source.js';

export interface ExecuteDeps {
  stores: { get(connection: string): ObjectStore };
  maxInputPixels?: number;
  maxSourceBytes?: number;
  /** Decode HEIC sources (PIXELSHIFT_HEIC); `false` refuses them as `unsupported_input`. Default on. */
  heic?: boolean;
  signal?: AbortSignal;
  onProgress?: (progress: { stage: string; completedSinks: number; totalSinks: number }) => void;
  /** Merged into every sink's metadata (and wins over the graph's), e.g. the generated-output marker. */
  sinkMetadata?: Record<string, string>;
  /** The source revision the run was started for (ObjectInfo.revision); see SourceSupersededError. */
  expectedSourceRevision?: string;
  /** A bucket event's run: a source pixelshift wrote is not processed (GeneratedSourceError). */
  skipGeneratedSource?: boolean;
}

export interface SinkResult {
  bucket: string;
  key: string;
  storage: string;
  bytes: number;
  /** The format actually written. */
  format: OutputFormat;
  /** Size of the image (of one frame, for animations). */
  width: number;
  height: number;
  etag: string;
  /** The quality a byte budget (ImageFormat.maxBytes) chose; absent without one. */
  quality?: number;
  /** What wrote this output from what (also written as the object's metadata, see provenance.ts). */
  provenance: Provenance;
}

export interface SinkFailure {
  bucket: string;
  key: string;
  storage: string;
  error: { code: ErrorCode; message: string; unit?: string };
}

export interface GraphResult {
  sinks: SinkResult[];
  failures: SinkFailure[];
  /** Pixels of the source that were decoded (every frame of an animation): what usage counts as read. */
  sourcePixels: number;
  /** Bytes of the source object as stored (what was downloaded). */
  sourceBytes: number;
}

export async function executeGraph(graph: TransformGraph, deps: ExecuteDeps): Promise<GraphResult> {
  deps.signal?.throwIfAborted();
  const plan = compilePlan(graph);
  const maxInputPixels = deps.maxInputPixels ?? limits.defaultMaxInputPixels;
  const totalSinks = plan.outputCount;
  deps.onProgress?.({ stage: 'download', completedSinks: 0, totalSinks });
  const store = deps.stores.get(plan.source.connection);
  const expected = deps.expectedSourceRevision;
  try {
    const source = await inSpan(
      'imaging.download',
      {
        'pixelshift.storage.connection': plan.source.connection,
        'pixelshift.storage.bucket': plan.source.bucket,
        'pixelshift.storage.key': plan.source.key,
      },
      async (span) => {
        const loaded = await loadSource(plan.source, store, {
          maxInputPixels,
          maxSourceBytes: deps.maxSourceBytes ?? limits.maxSourceBytes,
          ...(deps.heic === undefined ? {} : { heic: deps.heic }),
          ...(deps.signal ? { signal: deps.signal } : {}),
          ...(expected === undefined ? {} : { expectedRevision: expected }),
          ...(deps.skipGeneratedSource ? { skipGenerated: true } : {}),
        });
        span.setAttributes({
          'pixelshift.image.bytes': loaded.info.size,
          'pixelshift.image.width': loaded.storedWidth,
          'pixelshift.image.height': loaded.storedHeight,
        });
        return loaded;
      },
    );
    deps.signal?.throwIfAborted();
    const provenance = provenanceOf(graph, source.info, plan.source.versionId);
    return await executePlan(plan, source, { ...deps, maxInputPixels, provenance });
  } catch (error) {
    if (expected === undefined || !isClassifiedError(error)) throw error;
    if (!isSourceFailure(error, { unit: plan.source.unit, type: 'StorageSource' })) throw error;
    // A pinned version cannot change; a missing source has nothing newer to defer to.
    if (plan.source.versionId !== undefined || error.code === 'source_not_found') throw error;
    // The version read was the expected one but would not decode: if a writer has replaced it since,
    // it was still being written, and the finished file is the newer version's run to process.
    const now = await store
      .head(plan.source.bucket, plan.source.key, deps.signal ? { signal: deps.signal } : {})
      .then((info) => info.revision)
      .catch(() => expected);
    if (now !== expected) throw new SourceSupersededError(expected, now);
    throw error;
  }
}
