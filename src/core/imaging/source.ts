/**
 * Downloads the source once per graph and probes it before any pixel is decoded (imgproxy's rule: limits
 * are checked on the header). What the probe learns (size, orientation, animation) drives every stage.
 */
import sharp, { type Metadata } from 'sharp';
import { ClassifiedError } from '../errors.js';
import { generatedOrigin } from '../storage/generated-metadata.js';
import type { ObjectInfo, ObjectStore } from '../storage/types.js';
import {
  classifyHeicError,
  classifySourceError,
  forUnit,
  heicOffMessage,
  isHevcHeif,
  unitError,
  type UnitRef,
} from './classify.js';
import { decodeHeic } from './heic/heic-decoder.js';
import { sourceMetadataOf, type SourceMetadata } from './metadata.js';
import type { PlanSource } from './plan.js';

export interface LoadedSource {
  ref: UnitRef;
  /** What sharp reads: the stored bytes, or for HEIC the decoded image (an uncompressed TIFF). */
  data: Buffer;
  info: ObjectInfo;
  /** sharp's name of the decoder, e.g. `jpeg`, `png`, `heif`. */
  format: string;
  /** The page of `data` to read; undefined for the first (or all, when animated). */
  page: number | undefined;
  /** EXIF and XMP from the header, for metadata policies that outlive one pipeline (metadata.ts). */
  metadata: SourceMetadata;
  /** Whether `data` still holds that metadata (not so for a decoded HEIC). */
  metadataInData: boolean;
  /** Size of one page as stored (before orientation). */
  storedWidth: number;
  storedHeight: number;
  /** EXIF orientation 1..8 (1 when absent or invalid). */
  orientation: number;
  /** Animated GIF/WebP whose frames can all be decoded (and no page was asked for). */
  animatable: boolean;
  pages: number;
  loop: number | undefined;
  delay: number[] | undefined;
  /** Formats whose decoder can shrink while loading (sharp's shrink-on-load). */
  shrinkOnLoad: boolean;
  /** Greyscale pixels (with or without alpha). */
  grey: boolean;
}

export interface SourceLimits {
  maxInputPixels: number;
  maxSourceBytes: number;
  /** Decode HEIC (HEVC-coded HEIF) sources; `false` refuses them as `unsupported_input`. Default on. */
  heic?: boolean;
  signal?: AbortSignal;
  /** The revision (ObjectInfo.revision) the run was started for; another one means it was superseded. */
  expectedRevision?: string;
  /**
   * The run was started by a bucket event, and pixelshift's own outputs never trigger rules: a source
   * that carries the generated mark ends the run (GeneratedSourceError) instead of being processed.
   */
  skipGenerated?: boolean;
}

/**
 * The source is no longer the version the run was started for (its event named another revision): the
 * run must not process it, and must not report a failure either. Not a ClassifiedError: it is no failure.
 */
export class SourceSupersededError extends Error {
  override readonly name = 'SourceSupersededError';
  constructor(
    readonly expected: string,
    readonly found: string | undefined,
  ) {
    super(
      found === undefined
        ? `The source was deleted after its event (revision ${expected}); there is nothing to process`
        : `The source changed after its event (revision ${expected}, now ${found}); the newer version has its own run`,
    );
  }
}

/**
 * The source is one of pixelshift's own outputs, read by a run a bucket event started: outputs never
 * trigger rules, so there is nothing to process and nothing failed. Ingest does not HEAD an object only to
 * find this out (docs/decisions.md, "The generated check"); the run's own read of the source does.
 */
export class GeneratedSourceError extends Error {
  override readonly name = 'GeneratedSourceError';
  /** `writtenBy`: the ID of the graph that wrote it, when its metadata names one. */
  constructor(readonly writtenBy: string | undefined) {
    super(
      `The source is an output of pixelshift${writtenBy ? ` (written by graph ${writtenBy})` : ''}, and outputs never trigger rules; there is nothing to process`,
    );
  }
}

const animatedFormats = new Set(['gif', 'webp']);
const shrinkOnLoadFormats = new Set(['jpeg', 'webp', 'svg']);

export async function loadSource(
  source: PlanSource,
  store: ObjectStore,
  limits: SourceLimits,
): Promise<LoadedSource> {
  const ref: UnitRef = { unit: source.unit, type: 'StorageSource' };
  let downloaded: { info: ObjectInfo; data: Buffer };
  try {
    downloaded = await store.getBuffer(source.bucket, source.key, {
      maxBytes: limits.maxSourceBytes,
      ...(source.versionId === undefined ? {} : { versionId: source.versionId }),
      ...(limits.signal ? { signal: limits.signal } : {}),
    });
  } catch (error) {
    // A run started for one revision of an object that is gone since (deleted after its event; an event
    // that reports everything the rules need is not checked with a HEAD first) has nothing to process.
    if (
      limits.expectedRevision !== undefined &&
      error instanceof ClassifiedError &&
      error.code === 'source_not_found'
    )
      throw new SourceSupersededError(limits.expectedRevision, undefined);
    throw forUnit(error, ref);
  }
  const { data, info } = downloaded;
  if (limits.expectedRevision !== undefined && info.revision !== limits.expectedRevision) {
    throw new SourceSupersededError(limits.expectedRevision, info.revision);
  }
  const origin = limits.skipGenerated ? generatedOrigin(info) : undefined;
  if (origin) throw new GeneratedSourceError(origin.graphId);
  if (data.length === 0) {
    throw unitError(
      'unsupported_input',
      'The source is empty (0 bytes), which is not a supported image format',
      ref,
    );
  }
  // Prebuilt sharp reads HEIC headers but has no HEVC decoder: HEIC is decoded below, in a worker thread.
  const heicAllowed = limits.heic !== false;
  if (!heicAllowed && isHevcHeif(data)) throw unitError('unsupported_input', heicOffMessage, ref);

  let meta: Metadata;
  try {
    // The header only; the pixel limit is checked below so that the message can give the size.
    meta = await sharp(data, { limitInputPixels: false, failOn: 'error' }).metadata();
    if (!heicAllowed && isHevc(meta)) throw unitError('unsupported_input', heicOffMessage, ref);
    const pages = meta.pages ?? 1;
    if (source.page !== undefined && source.page >= pages) {
      throw unitError(
        'invalid_graph',
        `Expected a page below ${pages} for page but received ${source.page}`,
        ref,
      );
    }
    // Pages of a TIFF may differ in size: measure the one asked for.
    if (source.page) {
      const page = await sharp(data, {
        limitInputPixels: false,
        failOn: 'error',
        page: source.page,
      }).metadata();
      meta = { ...page, pages };
    }
  } catch (error) {
    throw classifySourceError(error, ref, limits.maxInputPixels);
  }

  const pages = meta.pages ?? 1;
  const width = meta.width;
  const height = meta.pageHeight ?? meta.height;
  const animatable = source.page === undefined && pages > 1 && animatedFormats.has(meta.format);
  // Animated decodes hold every frame; count them all against the limit.
  const pixels = width * height * (animatable ? pages : 1);
  if (!(width > 0 && height > 0)) {
    throw unitError('corrupt_input', 'The source has no readable dimensions', ref);
  }
  if (pixels > limits.maxInputPixels) {
    throw new ClassifiedError(
      'too_large',
      `Expected at most ${limits.maxInputPixels} pixels for the source but received ${width}×${height}${
        animatable ? `×${pages} frames` : ''
      } (${pixels} pixels) (StorageSource at ${ref.unit})`,
      { unit: ref.unit },
    );
  }
  if (isHevc(meta)) {
    // The header passed the limit: decode the primary image (or the page asked for) once, upright.
    const image = await decodeHeic(data, {
      ...(source.page === undefined ? {} : { page: source.page }),
      pixels,
      maxPixels: limits.maxInputPixels,
      ...(limits.signal ? { signal: limits.signal } : {}),
    }).catch((error: unknown) => {
      throw classifyHeicError(error, ref, limits.maxInputPixels);
    });
    return {
      ref,
      data: image.tiff,
      info,
      format: 'heif',
      page: undefined,
      metadata: sourceMetadataOf(meta),
      metadataInData: false,
      storedWidth: image.width,
      storedHeight: image.height,
      // HEIF orients with its irot/imir properties, applied while decoding; Exif Orientation is ignored.
      orientation: 1,
      animatable: false,
      pages,
      loop: undefined,
      delay: undefined,
      shrinkOnLoad: false,
      grey: false,
    };
  }
  const orientation =
    meta.orientation !== undefined && meta.orientation >= 1 && meta.orientation <= 8 ? meta.orientation : 1;
  return {
    ref,
    data,
    info,
    format: meta.format,
    page: source.page,
    metadata: sourceMetadataOf(meta),
    metadataInData: true,
    storedWidth: width,
    storedHeight: height,
    orientation,
    animatable,
    pages,
    loop: meta.loop,
    delay: meta.delay,
    shrinkOnLoad: shrinkOnLoadFormats.has(meta.format),
    grey: meta.space === 'b-w' || meta.space === 'grey16',
  };
}

/** HEVC-coded HEIF (AVIF is HEIF too, with AV1, and stays with sharp's own decoder). */
function isHevc(meta: Metadata): boolean {
  return meta.format === 'heif' && meta.compression === 'hevc';
}
