/**
 * Composition (docs/architecture.md §4): Watermark overlays another stored image. The overlay is read through the
 * store like the source (bounded in bytes and pixels), once per graph however many branches use it.
 * Text draws text with Pango (libvips' text renderer) in the fonts installed on the server. One sharp
 * pipeline composites once, so several overlays in a chain become one stage each, drawn in order.
 */
import sharp, { type OutputInfo, type Sharp } from 'sharp';
import { DEFAULT_CONNECTION, defaultTextFont, type UnitOfType } from '../graph/index.js';
import type { ObjectStore } from '../storage/types.js';
import {
  classifyHeicError,
  classifySourceError,
  forUnit,
  isHevcHeif,
  unitError,
  type UnitRef,
} from './classify.js';
import { decodeHeic } from './heic/heic-decoder.js';
import type { OpContext } from './op-context.js';
import { parseColour } from './colours.js';
import { sharpPosition } from './ops-geometry.js';

type Watermark = UnitOfType<'Watermark'>;
type Text = UnitOfType<'Text'>;

/** Overlays are logos and marks, not photos: 50 MB is generous and keeps a bad key from eating memory. */
export const maxOverlayBytes = 50 * 1024 * 1024;

export interface OverlaySource {
  load(op: Watermark, ref: UnitRef): Promise<Buffer>;
}

/**
 * Reads each overlay object once per graph; branches that share one also share the download. A HEIC
 * overlay is decoded once too (when HEIC decoding is on), after its header passed the pixel limit.
 */
export function createOverlaySource(
  stores: { get(connection: string): ObjectStore },
  options: { signal?: AbortSignal; heic: boolean; maxInputPixels: number },
): OverlaySource {
  const cache = new Map<string, Promise<Buffer>>();
  return {
    load(op, ref) {
      const connection = op.storage ?? DEFAULT_CONNECTION;
      const id = `${connection}\u0000${op.bucket}\u0000${op.key}`;
      let pending = cache.get(id);
      if (!pending) {
        pending = (async () => {
          try {
            const { data } = await stores.get(connection).getBuffer(op.bucket, op.key, {
              maxBytes: maxOverlayBytes,
              ...(options.signal ? { signal: options.signal } : {}),
            });
            // Without HEIC decoding, sharp refuses the HEIC itself (classified as unsupported_input).
            return options.heic && isHevcHeif(data) ? await decodedHeic(data, ref, options) : data;
          } catch (error) {
            throw forUnit(error, ref);
          }
        })();
        cache.set(id, pending);
      }
      return pending;
    },
  };
}

async function decodedHeic(
  data: Buffer,
  ref: UnitRef,
  options: { signal?: AbortSignal; maxInputPixels: number },
): Promise<Buffer> {
  const subject = 'the watermark image';
  let pixels: number;
  try {
    const meta = await sharp(data, { limitInputPixels: false, failOn: 'error' }).metadata();
    pixels = meta.width * meta.height;
  } catch (error) {
    throw classifySourceError(error, ref, options.maxInputPixels, subject);
  }
  if (pixels > options.maxInputPixels) {
    throw unitError(
      'too_large',
      `Expected at most ${options.maxInputPixels} pixels for ${subject} but received ${pixels}`,
      ref,
    );
  }
  const image = await decodeHeic(data, {
    pixels,
    maxPixels: options.maxInputPixels,
    ...(options.signal ? { signal: options.signal } : {}),
  }).catch((error: unknown) => {
    throw classifyHeicError(error, ref, options.maxInputPixels, subject);
  });
  return image.tiff;
}

export async function applyWatermark(
  pipeline: Sharp,
  op: Watermark,
  ref: UnitRef,
  context: OpContext,
): Promise<void> {
  const size = context.size;
  if (!size) throw new Error('internal: a Watermark reached a stage whose size is unknown');
  const data = await context.overlays.load(op, ref);
  const decodeOptions = { failOn: 'error', limitInputPixels: context.maxInputPixels } as const;

  let overlay: { data: Buffer; info: OutputInfo };
  try {
    const meta = await sharp(data, decodeOptions).metadata();
    const natural = meta.autoOrient;
    // Scale is a fraction of the image width; either way the overlay must fit inside the image.
    let width = op.scale === undefined ? natural.width : Math.max(1, Math.round(size.width * op.scale));
    let height = Math.max(1, Math.round((natural.height * width) / natural.width));
    const fit = Math.min(1, size.width / width, size.height / height);
    width = Math.max(1, Math.floor(width * fit));
    height = Math.max(1, Math.floor(height * fit));
    overlay = await sharp(data, decodeOptions)
      .autoOrient()
      .resize(width, height, { fit: 'fill' })
      .ensureAlpha()
      .toColourspace('srgb')
      .raw()
      .toBuffer({ resolveWithObject: true });
  } catch (error) {
    throw classifySourceError(error, ref, context.maxInputPixels, 'the watermark image');
  }
  if (overlay.info.channels !== 4) {
    throw unitError('unsupported_input', 'The watermark image could not be read as RGBA', ref);
  }
  const opacity = op.opacity ?? 1;
  if (opacity < 1) {
    const pixels = overlay.data;
    for (let alpha = 3; alpha < pixels.length; alpha += 4)
      pixels[alpha] = Math.round(pixels[alpha]! * opacity);
  }
  await placeOverlay(pipeline, overlay, op, op.gravity ?? 'center', op.tile ?? false, context);
}

const markupEntities: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;' };

export async function applyText(pipeline: Sharp, op: Text, ref: UnitRef, context: OpContext): Promise<void> {
  const size = context.size;
  if (!size) throw new Error('internal: a Text reached a stage whose size is unknown');
  const fontSize = op.size ?? 32;
  const padding = op.padding ?? Math.round(fontSize / 4);
  const colour = (op.color ?? '#ffffff').slice(1);
  const markup = `<span foreground="#${colour.length === 6 ? `${colour}ff` : colour}">${op.text.replace(
    /[&<>]/g,
    (c) => markupEntities[c]!,
  )}</span>`;
  const wrapWidth = Math.max(1, Math.min(op.width ?? size.width, size.width) - 2 * padding);

  let box: { data: Buffer; info: OutputInfo };
  try {
    // At 72 dpi a Pango point is a pixel, so `size` is the font size in pixels.
    const text = await sharp({
      text: {
        text: markup,
        font: `${op.font ?? defaultTextFont} ${fontSize}`,
        dpi: 72,
        rgba: true,
        width: wrapWidth,
        wrap: 'word',
        align: op.align ?? 'left',
      },
    })
      .png()
      .toBuffer({ resolveWithObject: true });
    const boxWidth = Math.min(size.width, text.info.width + 2 * padding);
    const boxHeight = Math.min(size.height, text.info.height + 2 * padding);
    const background = op.background ? parseColour(op.background) : { r: 0, g: 0, b: 0, alpha: 0 };
    box = await sharp({ create: { width: boxWidth, height: boxHeight, channels: 4, background } })
      .composite([{ input: text.data, left: padding, top: padding }])
      .raw()
      .toBuffer({ resolveWithObject: true });
  } catch (error) {
    throw unitError('invalid_graph', `The text could not be drawn ("${String(error)}")`, ref, error);
  }
  await placeOverlay(pipeline, box, op, op.gravity ?? 'southeast', false, context);
}

/** Composites an RGBA overlay at left/top or by gravity, on every frame of an animation. */
async function placeOverlay(
  pipeline: Sharp,
  overlay: { data: Buffer; info: OutputInfo },
  op: { left?: number | undefined; top?: number | undefined },
  gravity: NonNullable<Watermark['gravity']>,
  tile: boolean,
  context: OpContext,
): Promise<void> {
  const size = context.size!;
  const placement =
    op.left !== undefined || op.top !== undefined
      ? { left: op.left ?? 0, top: op.top ?? 0 }
      : { gravity: sharpPosition(gravity) };
  const mark = {
    input: overlay.data,
    raw: { width: overlay.info.width, height: overlay.info.height, channels: 4 as const },
    tile,
    ...placement,
  };
  if (context.pages === 1) {
    pipeline.composite([mark]);
    return;
  }
  // sharp composites onto an animation's whole stack of frames: lay the mark out on one frame-sized
  // canvas, then place that canvas on every frame.
  const frame = await sharp({
    create: {
      width: size.width,
      height: size.height,
      channels: 4,
      background: { r: 0, g: 0, b: 0, alpha: 0 },
    },
  })
    .composite([mark])
    .raw()
    .toBuffer();
  pipeline.composite(
    Array.from({ length: context.pages }, (_, page) => ({
      input: frame,
      raw: { width: size.width, height: size.height, channels: 4 as const },
      left: 0,
      top: page * size.height,
    })),
  );
}
