/**
 * The encode at the end of each branch (docs/architecture.md §4): format options, metadata policy, alpha and animation.
 *
 * Colour and metadata policy:
 * - Output is sRGB: sharp converts through the embedded ICC profile (CMYK through its profile, or sharp's
 *   built-in CMYK one), never reinterpreting the numbers.
 * - `strip` (default): no EXIF, XMP, IPTC or ICC; untagged pixels are read as sRGB by every viewer.
 * - `keepIcc`: the pixels are still converted to sRGB and an sRGB profile is attached. Keeping the
 *   source's profile instead would mean leaving the pixels in that space (sharp skips the conversion when
 *   it keeps the input profile), breaking the sRGB rule; attaching sRGB keeps profile and pixels truthful.
 * - `keepCopyright`: the sRGB profile plus Exif Artist/Copyright and XMP dc:creator/dc:rights, rewritten
 *   from the source's values, and in JPEG the IPTC By-line and Copyright Notice (metadata.ts, iptc.ts);
 *   GPS, camera data, location, keywords and everything else are dropped.
 * - `keepAll`: EXIF, XMP and IPTC are kept as well (orientation already applied and its tag reset),
 *   again with an sRGB profile. sharp keeps them only when the encoding pipeline reads the source itself;
 *   otherwise (several stages, a HEIC source, a byte budget) metadata.ts carries XMP over, writes EXIF into
 *   JPEG, PNG and WebP, and the IPTC block into JPEG.
 */
import type { OutputInfo, Sharp } from 'sharp';
import type { ImageFormat, OutputFormat } from '../graph/index.js';
import { white, type Rgba } from './colours.js';
import {
  exifArtist,
  rightsOf,
  rightsXmp,
  withPolicyMetadata,
  xmpText,
  type SourceMetadata,
} from './metadata.js';

export const mimeTypes: Record<OutputFormat, string> = {
  jpeg: 'image/jpeg',
  png: 'image/png',
  webp: 'image/webp',
  avif: 'image/avif',
  tiff: 'image/tiff',
  gif: 'image/gif',
};

/** Formats that hold an alpha channel; JPEG is flattened instead. */
export const alphaFormats: ReadonlySet<OutputFormat> = new Set(['png', 'webp', 'avif', 'tiff', 'gif']);
/** Formats that hold an animation. */
export const animatedFormats: ReadonlySet<OutputFormat> = new Set(['gif', 'webp']);

/** sharp's names for what it wrote → ours (AVIF is written by the HEIF saver). */
const formatNames: Record<string, OutputFormat> = {
  jpeg: 'jpeg',
  png: 'png',
  webp: 'webp',
  heif: 'avif',
  avif: 'avif',
  tiff: 'tiff',
  gif: 'gif',
};

export function outputFormatOf(sharpFormat: string, asked: OutputFormat): OutputFormat {
  return formatNames[sharpFormat] ?? asked;
}

/** The source's metadata, and whether the encoding pipeline reads the source (so sharp can keep it). */
export interface EncodeMetadata {
  source: SourceMetadata;
  readsSource: boolean;
}

const metadataPolicies: Record<
  NonNullable<ImageFormat['metadata']>,
  (pipeline: Sharp, metadata: EncodeMetadata) => void
> = {
  strip: () => {}, // sharp's default
  keepIcc: (pipeline) => pipeline.withIccProfile('srgb'),
  keepCopyright: (pipeline, metadata) => {
    pipeline.withIccProfile('srgb');
    const rights = rightsOf(metadata.source);
    const { creators, copyright } = rights;
    if (creators === undefined && copyright === undefined) return;
    pipeline.withExif({
      IFD0: {
        ...(creators === undefined ? {} : { Artist: exifArtist(creators) }),
        ...(copyright === undefined ? {} : { Copyright: copyright }),
      },
    });
    pipeline.withXmp(rightsXmp(rights));
  },
  keepAll: (pipeline, metadata) => {
    // From raw pixels, sharp would write a stub EXIF block of its own: EXIF is written in after encoding.
    if (metadata.readsSource) pipeline.keepMetadata();
    else if (metadata.source.xmp) pipeline.withXmp(xmpText(metadata.source.xmp));
    pipeline.withIccProfile('srgb');
  },
};

export function wantsAnimation(format: ImageFormat): boolean {
  return animatedFormats.has(format.format) && format.animated !== false;
}

/** The colour JPEG output is flattened onto: the last Flatten of the branch, else white. */
export function flattenColourFor(format: ImageFormat, lastFlatten: Rgba | undefined): Rgba | undefined {
  return alphaFormats.has(format.format) ? undefined : (lastFlatten ?? white);
}

export interface Animation {
  loop: number | undefined;
  delay: number[] | undefined;
}

/** Encodes: format options and metadata policy applied, EXIF and IPTC written in where sharp could not. */
export async function encode(
  pipeline: Sharp,
  format: ImageFormat,
  animation: Animation | undefined,
  metadata: EncodeMetadata,
): Promise<{ data: Buffer; info: OutputInfo }> {
  applyEncode(pipeline, format, animation, metadata);
  const { data, info } = await pipeline.toBuffer({ resolveWithObject: true });
  const written = outputFormatOf(info.format, format.format);
  const policy = format.metadata ?? 'strip';
  return { data: withPolicyMetadata(policy, written, data, metadata.source, metadata.readsSource), info };
}

function applyEncode(
  pipeline: Sharp,
  format: ImageFormat,
  animation: Animation | undefined,
  metadata: EncodeMetadata,
): void {
  pipeline.toColourspace('srgb');
  metadataPolicies[format.metadata ?? 'strip'](pipeline, metadata);
  const frames = animation
    ? {
        ...(animation.loop === undefined ? {} : { loop: animation.loop }),
        ...(animation.delay === undefined ? {} : { delay: animation.delay }),
      }
    : {};
  switch (format.format) {
    case 'jpeg':
      pipeline.jpeg({
        quality: format.quality,
        progressive: format.progressive,
        mozjpeg: format.mozjpeg,
        chromaSubsampling: format.chromaSubsampling,
      });
      return;
    case 'png':
      pipeline.png({
        palette: format.palette,
        colours: format.colors,
        compressionLevel: format.compressionLevel,
        quality: format.quality,
        effort: format.effort,
        progressive: format.progressive,
      });
      return;
    case 'webp':
      pipeline.webp({
        quality: format.quality,
        lossless: format.lossless,
        nearLossless: format.nearLossless,
        effort: format.effort,
        ...frames,
      });
      return;
    case 'avif':
      pipeline.avif({
        quality: format.quality,
        lossless: format.lossless,
        effort: format.effort,
        chromaSubsampling: format.chromaSubsampling,
      });
      return;
    case 'tiff':
      pipeline.tiff({ quality: format.quality, compression: format.compression });
      return;
    case 'gif':
      pipeline.gif({ colours: format.colors, effort: format.effort, ...frames });
      return;
  }
}
