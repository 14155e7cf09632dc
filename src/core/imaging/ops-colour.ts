/** Colour operations (docs/architecture.md §4): public vocabulary → sharp calls. */
import type { Sharp } from 'sharp';
import type { UnitOfType } from '../graph/index.js';
import { parseColour, white } from './colours.js';

type ColourOp = UnitOfType<
  | 'Grayscale'
  | 'Tint'
  | 'Modulate'
  | 'Negate'
  | 'Normalize'
  | 'Gamma'
  | 'Linear'
  | 'Clahe'
  | 'Threshold'
  | 'Flatten'
  | 'RemoveAlpha'
>;

/** Defaults where ours differ from sharp's, or where sharp has none. */
export const colourDefaults = {
  /** sharp's own default; gammaOut defaults to the same value, which makes Gamma a gamma-correct resize. */
  gamma: 2.2,
  threshold: 128,
  /** Ours: sharp flattens onto black, but transparent areas read as "paper", i.e. white. */
  flatten: white,
  /** Ours: sharp inverts alpha too, which turns transparent areas opaque; ask for it explicitly. */
  negateAlpha: false,
} as const;

export function applyColour(pipeline: Sharp, op: ColourOp): void {
  switch (op.type) {
    case 'Grayscale':
      pipeline.greyscale();
      return;
    case 'Tint': {
      const { r, g, b } = parseColour(op.color);
      pipeline.tint({ r, g, b });
      return;
    }
    case 'Modulate':
      pipeline.modulate({
        ...(op.brightness === undefined ? {} : { brightness: op.brightness }),
        ...(op.saturation === undefined ? {} : { saturation: op.saturation }),
        ...(op.hue === undefined ? {} : { hue: op.hue }),
        ...(op.lightness === undefined ? {} : { lightness: op.lightness }),
      });
      return;
    case 'Negate':
      pipeline.negate({ alpha: op.alpha ?? colourDefaults.negateAlpha });
      return;
    case 'Normalize':
      pipeline.normalise({
        ...(op.lower === undefined ? {} : { lower: op.lower }),
        ...(op.upper === undefined ? {} : { upper: op.upper }),
      });
      return;
    case 'Gamma':
      pipeline.gamma(op.gamma ?? colourDefaults.gamma, op.gammaOut);
      return;
    case 'Linear':
      pipeline.linear(op.a ?? 1, op.b ?? 0);
      return;
    case 'Clahe':
      pipeline.clahe({
        width: op.width,
        height: op.height,
        ...(op.maxSlope === undefined ? {} : { maxSlope: op.maxSlope }),
      });
      return;
    case 'Threshold':
      pipeline.threshold(op.threshold ?? colourDefaults.threshold, { grayscale: op.grayscale ?? true });
      return;
    case 'Flatten': {
      const { r, g, b } = op.background === undefined ? colourDefaults.flatten : parseColour(op.background);
      pipeline.flatten({ background: { r, g, b } });
      return;
    }
    case 'RemoveAlpha':
      pipeline.removeAlpha();
      return;
  }
}
