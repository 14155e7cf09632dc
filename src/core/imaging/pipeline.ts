/**
 * Builds one sharp pipeline: opens its input (the downloaded source, or raw pixels handed off by an
 * earlier stage) and applies a stage's operations through the operation families.
 */
import sharp, { type Sharp } from 'sharp';
import type { LoadedSource } from './source.js';
import type { OpContext } from './op-context.js';
import type { PlanOp } from './plan.js';
import { bringsColour, isGrey } from './colours.js';
import { applyGeometry } from './ops-geometry.js';
import { applyColour } from './ops-colour.js';
import { applyFilter } from './ops-filters.js';
import { applyText, applyWatermark } from './ops-composite.js';

/**
 * `failOn: 'error'`: libvips refuses truncated or undecodable data (a cut-off JPEG is corrupt_input rather
 * than a silently grey lower half) but tolerates the harmless warnings camera files often carry, which
 * sharp's default ('warning') would refuse.
 */
export const failOn = 'error' as const;

export interface SourceInput {
  kind: 'source';
  source: LoadedSource;
  autoOrient: boolean;
  page: number | undefined;
}

/** Pixels handed from one stage to the next: 8-bit sRGB (or grey), unpremultiplied, like the output. */
export interface RawInput {
  kind: 'raw';
  data: Buffer;
  width: number;
  /** Total height; animations stack their frames ("toilet roll"). */
  height: number;
  channels: 1 | 2 | 3 | 4;
  pageHeight: number;
  pages: number;
}

export type StageInput = SourceInput | RawInput;

export interface BuildOptions {
  /** Decode every frame of an animated source. */
  animated: boolean;
  maxInputPixels: number;
  context: Pick<OpContext, 'opaqueOnto' | 'overlays'>;
}

export function openInput(input: StageInput, options: BuildOptions): Sharp {
  if (input.kind === 'raw') {
    return sharp(input.data, {
      raw: {
        width: input.width,
        height: input.height,
        channels: input.channels,
        ...(input.pages > 1 ? { pageHeight: input.pageHeight } : {}),
      },
      // Intermediate images count against the limit too: a chain of Extends must not grow unbounded.
      limitInputPixels: options.maxInputPixels,
      sequentialRead: true,
    });
  }
  const frames = input.page !== undefined ? { page: input.page } : options.animated ? { animated: true } : {};
  const pipeline = sharp(input.source.data, {
    failOn,
    limitInputPixels: options.maxInputPixels,
    sequentialRead: true,
    ...frames,
  });
  return input.autoOrient ? pipeline.autoOrient() : pipeline;
}

/** Size of one page at the start of the pipeline, upright when the decoder orients. */
export function inputSize(input: StageInput): { width: number; height: number } {
  if (input.kind === 'raw') return { width: input.width, height: input.pageHeight };
  const { storedWidth: width, storedHeight: height, orientation } = input.source;
  return input.autoOrient && orientation >= 5 ? { width: height, height: width } : { width, height };
}

export async function buildPipeline(
  input: StageInput,
  ops: readonly PlanOp[],
  options: BuildOptions,
  orientation: number,
): Promise<Sharp> {
  const pipeline = openInput(input, options);
  // A greyscale input keeps sharp's pipeline grey: work in sRGB when colour is added to one (this costs
  // JPEG shrink-on-load, only for grey sources that get colour).
  const greyInput = input.kind === 'raw' ? input.channels <= 2 : input.source.grey;
  const coloured =
    ops.some(({ op }) => bringsColour(op)) ||
    (options.context.opaqueOnto !== undefined && !isGrey(options.context.opaqueOnto));
  if (greyInput && coloured) pipeline.pipelineColourspace('srgb');
  const context: OpContext = {
    ...options.context,
    size: inputSize(input),
    pages: input.kind === 'raw' ? input.pages : options.animated ? input.source.pages : 1,
    orientation,
    readsSource: input.kind === 'source',
    maxInputPixels: options.maxInputPixels,
  };
  for (const { op, unit } of ops) {
    switch (op.type) {
      case 'Resize':
      case 'Crop':
      case 'AutoCrop':
      case 'Extend':
      case 'Rotate':
      case 'AutoOrient':
      case 'Flip':
      case 'Flop':
        applyGeometry(pipeline, op, { unit, type: op.type }, context);
        break;
      case 'Blur':
      case 'Sharpen':
      case 'Median':
        applyFilter(pipeline, op);
        break;
      case 'Watermark':
        await applyWatermark(pipeline, op, { unit, type: op.type }, context);
        break;
      case 'Text':
        await applyText(pipeline, op, { unit, type: op.type }, context);
        break;
      default:
        applyColour(pipeline, op);
    }
  }
  return pipeline;
}

/** Interleaves grey and alpha planes into grey+alpha pixels. */
export function interleave(grey: Buffer, alpha: Buffer): Buffer {
  const out = Buffer.allocUnsafe(grey.length * 2);
  for (let i = 0; i < grey.length; i++) {
    out[2 * i] = grey[i]!;
    out[2 * i + 1] = alpha[i]!;
  }
  return out;
}
