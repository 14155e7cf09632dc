/** Colours of the public vocabulary (`#rrggbb` or `#rrggbbaa`, validated by the graph schema). */
import type { Operation } from '../graph/index.js';

export interface Rgba {
  r: number;
  g: number;
  b: number;
  /** 0..1, as sharp's colour objects expect. */
  alpha: number;
}

export const white: Rgba = { r: 255, g: 255, b: 255, alpha: 1 };

export function parseColour(hex: string): Rgba {
  const byte = (at: number) => parseInt(hex.slice(at, at + 2), 16);
  return { r: byte(1), g: byte(3), b: byte(5), alpha: hex.length === 9 ? byte(7) / 255 : 1 };
}

/**
 * The opaque colour a (possibly translucent) background becomes once flattened onto `onto`: used for
 * JPEG outputs, where padding added after sharp's flatten step must not turn black in the encoder.
 */
export function over(colour: Rgba, onto: Rgba): Rgba {
  const mix = (top: number, bottom: number) => Math.round(top * colour.alpha + bottom * (1 - colour.alpha));
  return { r: mix(colour.r, onto.r), g: mix(colour.g, onto.g), b: mix(colour.b, onto.b), alpha: 1 };
}

export const isGrey = (colour: Pick<Rgba, 'r' | 'g' | 'b'>): boolean =>
  colour.r === colour.g && colour.g === colour.b;

/**
 * Whether an operation brings colour that a greyscale sharp pipeline would turn grey: the stage compiler
 * keeps such operations out of a pipeline already made grey, and a grey source that gets one is processed
 * in sRGB. Painting a non-grey background counts: on a grey pipeline sharp flattens onto the colour's
 * luminance and fills rotated corners, borders and letterboxes with it too.
 */
export function bringsColour(op: Operation): boolean {
  switch (op.type) {
    case 'Tint': // sharp maps the tinted result back to the pipeline's (grey) colour space
    case 'Watermark':
      return true;
    case 'Text':
      return [op.color ?? '#ffffff', op.background].some((c) => c !== undefined && !isGrey(parseColour(c)));
    case 'Flatten':
    case 'Extend':
    case 'Resize':
    case 'Rotate':
      return op.background !== undefined && !isGrey(parseColour(op.background));
    default:
      return false;
  }
}
