/**
 * Turns sharp/libvips and storage failures into the one classification of docs/architecture.md §5. Every message has
 * one form: a sentence about the problem (naming the value where there is one), then the unit it belongs
 * to as "(<UnitType> at <JSON pointer>)". libvips' own words appear only as a short quoted detail.
 */
import { ClassifiedError, isClassifiedError, type ErrorCode } from '../errors.js';
import { HeicDecodeError } from './heic/heic-decoder.js';

export interface UnitRef {
  /** JSON pointer of the unit in the submitted graph. */
  unit: string;
  type: string;
}

export const heicMessage =
  'The source is HEIC (HEVC-coded), which this server cannot decode; convert it to JPEG, PNG, WebP or AVIF first';
/** An operator turned HEIC decoding off (PIXELSHIFT_HEIC=off). */
export const heicOffMessage =
  'The source is HEIC (HEVC-coded), and HEIC decoding is turned off on this server; convert it to JPEG, PNG, WebP or AVIF first';

export function unitError(code: ErrorCode, text: string, ref: UnitRef, cause?: unknown): ClassifiedError {
  return new ClassifiedError(code, `${text} (${ref.type} at ${ref.unit})`, {
    unit: ref.unit,
    ...(cause === undefined ? {} : { cause }),
  });
}

/** Re-attributes a storage failure (already classified by the store) to the unit that asked for it. */
export function forUnit(error: unknown, ref: UnitRef): unknown {
  if (!isClassifiedError(error) || error.unit !== undefined) return error;
  return new ClassifiedError(error.code, `${error.message} (${ref.type} at ${ref.unit})`, {
    unit: ref.unit,
    ...(error.retryAfterMs === undefined ? {} : { retryAfterMs: error.retryAfterMs }),
    cause: error,
  });
}

/** ISO-BMFF brands of HEVC-coded HEIF; AVIF files share `mif1` but also carry `avif`/`avis`. */
const hevcBrands = new Set(['heic', 'heix', 'hevc', 'hevx', 'heim', 'heis', 'hevm', 'hevs']);
const avifBrands = new Set(['avif', 'avis']);

/** Sniffs the `ftyp` box: true for HEIC/HEVC content (or bare `mif1` HEIF without an AVIF brand). */
export function isHevcHeif(data: Buffer): boolean {
  if (data.length < 16 || data.toString('latin1', 4, 8) !== 'ftyp') return false;
  const boxSize = Math.min(data.readUInt32BE(0), data.length, 256);
  const brands: string[] = [data.toString('latin1', 8, 12)];
  for (let at = 16; at + 4 <= boxSize; at += 4) brands.push(data.toString('latin1', at, at + 4));
  if (brands.some((b) => avifBrands.has(b))) return false;
  return brands.some((b) => hevcBrands.has(b)) || brands[0] === 'mif1';
}

/** The first line of a libvips message without its loader prefix, bounded, for the public message. */
function detail(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  const line = (message.split('\n').find((l) => l.trim()) ?? message).trim();
  const bare = line.replace(/^(?:Vips\w+|\w+load(?:_buffer)?|\w+2vips|source):\s*/, '');
  return bare.length > 120 ? `${bare.slice(0, 117)}…` : bare;
}

const messageOf = (error: unknown) => (error instanceof Error ? error.message : String(error));

/** Loader/decoder failures: the bytes are an image sharp recognised, but damaged. */
const decodeFailure =
  /VipsJpeg|jpegload|premature end|truncated|libpng|pngload|spng|png2vips|gifload|cgif|webpload|WebP|tiff2vips|TIFFRead|heifload|svgload|rsvg|read error|corrupt|unexpected end|bad seek|Invalid (?:SOS|JPEG|marker)|not enough data/i;

/** Failures while probing or decoding the source (or another stored image, such as a watermark). */
export function classifySourceError(
  error: unknown,
  source: UnitRef,
  maxInputPixels: number,
  subject = 'the source',
): ClassifiedError {
  if (isClassifiedError(error)) return error;
  const message = messageOf(error);
  const Subject = subject.charAt(0).toUpperCase() + subject.slice(1);
  if (/Input (?:buffer|file) is empty/i.test(message)) {
    return unitError(
      'unsupported_input',
      `${Subject} is empty (0 bytes), which is not a supported image format`,
      source,
      error,
    );
  }
  if (/unsupported image format/i.test(message)) {
    return unitError(
      'unsupported_input',
      `${Subject} is not a supported image format; send JPEG, PNG, WebP, AVIF, GIF, TIFF or SVG`,
      source,
      error,
    );
  }
  if (
    /heif/i.test(message) &&
    /hevc|compression format has not been built in|decoder plugin/i.test(message)
  ) {
    return unitError('unsupported_input', heicMessage.replace('The source', Subject), source, error);
  }
  if (/exceeds pixel limit/i.test(message)) {
    return unitError(
      'too_large',
      `Expected at most ${maxInputPixels} pixels for ${subject} but received more`,
      source,
      error,
    );
  }
  if (/corrupt header/i.test(message)) {
    return unitError(
      'corrupt_input',
      `${Subject} is a damaged image whose header cannot be read ("${detail(error)}")`,
      source,
      error,
    );
  }
  if (/out of memory|Could not allocate|vips_malloc/i.test(message)) {
    return unitError('transient', `The server ran out of memory while decoding ${subject}`, source, error);
  }
  return unitError('corrupt_input', `${Subject} could not be decoded ("${detail(error)}")`, source, error);
}

/** Failures of the HEIC decoder thread (heic/heic-decoder.ts), for the source or an overlay image. */
export function classifyHeicError(
  error: unknown,
  ref: UnitRef,
  maxInputPixels: number,
  subject = 'the source',
): unknown {
  if (!(error instanceof HeicDecodeError)) return error; // cancellation
  const Subject = subject.charAt(0).toUpperCase() + subject.slice(1);
  switch (error.kind) {
    case 'too_large':
      return unitError(
        'too_large',
        `Expected at most ${maxInputPixels} pixels for ${subject} but received more (${error.message})`,
        ref,
        error,
      );
    case 'memory':
      return unitError('transient', `The server ran out of memory while decoding ${subject}`, ref, error);
    case 'unsupported':
      return unitError(
        'unsupported_input',
        `${Subject} could not be decoded as HEIC ("${detail(error)}")`,
        ref,
        error,
      );
    case 'corrupt':
      return unitError('corrupt_input', `${Subject} could not be decoded ("${detail(error)}")`, ref, error);
  }
}

export interface PipelineRefs {
  source: UnitRef;
  /** The operations of the pipeline that failed, in order. */
  ops: readonly (UnitRef & { slot?: string })[];
  /** The encode, when the pipeline ends in one. */
  format?: UnitRef & { format: string };
  maxInputPixels: number;
  /** The pipeline read the downloaded source (not raw pixels from an earlier stage). */
  readsSource: boolean;
}

/**
 * Failures of one sharp pipeline. Decoder failures are the source's fault (the whole graph fails); the
 * rest belong to an operation or the encode, and only fail the sinks below it.
 */
export function classifyPipelineError(error: unknown, refs: PipelineRefs): ClassifiedError {
  if (isClassifiedError(error)) return error;
  const message = messageOf(error);
  const firstOp = refs.ops[0] ?? refs.format ?? refs.source;
  const opOf = (type: string) => refs.ops.find((o) => o.type === type);

  const multiPage = /^(\w[\w ]*) is not supported for multi-page images/.exec(message);
  if (multiPage) {
    const sharpName = multiPage[1] ?? '';
    const culprit =
      (sharpName === 'Rotate' && (opOf('Rotate') ?? opOf('AutoOrient'))) ||
      (sharpName === 'Trim' && opOf('AutoCrop')) ||
      (sharpName === 'Resize strategy' && (opOf('AutoCrop') ?? opOf('Resize'))) ||
      firstOp;
    return unitError(
      'unsupported_input',
      `${culprit.type} is not supported for animated or multi-page images; read one frame with StorageSource.page or output a still format`,
      culprit,
      error,
    );
  }
  if (/extract_area|bad extract area/i.test(message)) {
    const crop = opOf('Crop') ?? firstOp;
    return unitError(
      'invalid_graph',
      'Expected a crop area inside the image for Crop but received one that extends past its edges',
      crop,
      error,
    );
  }
  const tooLarge = /too large for the (\w+) format/i.exec(message);
  if (tooLarge && refs.format) {
    return unitError(
      'too_large',
      `Expected an image within the ${refs.format.format} size limit for the output but received a larger one`,
      refs.format,
      error,
    );
  }
  if (/exceeds pixel limit/i.test(message)) {
    if (refs.readsSource) return classifySourceError(error, refs.source, refs.maxInputPixels);
    return unitError(
      'too_large',
      `Expected at most ${refs.maxInputPixels} pixels for the image entering this operation but received more`,
      firstOp,
      error,
    );
  }
  if (/out of memory|Could not allocate|vips_malloc/i.test(message)) {
    return unitError('transient', 'The server ran out of memory while processing the image', firstOp, error);
  }
  if (refs.readsSource && (decodeFailure.test(message) || /heif|hevc/i.test(message))) {
    return classifySourceError(error, refs.source, refs.maxInputPixels);
  }
  // Not a known failure of the input: report it against the step, without guessing a cause.
  const owner =
    refs.format && /save|encode|gif|webp|heif|jpeg|png|tiff/i.test(message) ? refs.format : firstOp;
  return unitError(
    'unsupported_input',
    `The image could not be processed ("${detail(error)}")`,
    owner,
    error,
  );
}

/** Source-level failures fail the whole graph; the rest fail only the sinks below them. */
export function isSourceFailure(error: ClassifiedError, source: UnitRef): boolean {
  return error.unit === source.unit && error.code !== 'transient';
}
