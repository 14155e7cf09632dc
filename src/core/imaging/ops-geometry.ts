/** Geometry operations (docs/architecture.md §4): public vocabulary → sharp calls. */
import type { FitEnum, KernelEnum, Sharp } from 'sharp';
import { resizeWithoutEnlargement, type UnitOfType } from '../graph/index.js';
import { over, parseColour, type Rgba } from './colours.js';
import { unitError, type UnitRef } from './classify.js';
import type { OpContext } from './op-context.js';

type Resize = UnitOfType<'Resize'>;

const fits: Record<NonNullable<Resize['fit']>, keyof FitEnum> = {
  cover: 'cover',
  contain: 'contain',
  fill: 'fill',
  inside: 'inside',
  outside: 'outside',
};

/**
 * sharp's name for a position (Resize's crop position, Watermark's gravity): sharp spells the middle
 * `centre`; every other compass point and strategy it names as the graph does.
 */
export function sharpPosition(position: NonNullable<Resize['position']>): string {
  return position === 'center' ? 'centre' : position;
}

const kernels: Record<NonNullable<Resize['kernel']>, keyof KernelEnum> = {
  nearest: 'nearest',
  linear: 'linear',
  cubic: 'cubic',
  mitchell: 'mitchell',
  lanczos2: 'lanczos2',
  lanczos3: 'lanczos3',
  mks2013: 'mks2013',
  mks2021: 'mks2021',
};

/**
 * EXIF orientation as sharp's own steps, for pixels that no longer carry the tag (raw hand-off).
 * sharp mirrors before it rotates, so each entry is "flop/flip, then rotate clockwise".
 */
const orientationSteps: Record<number, { flop?: true; flip?: true; angle?: number }> = {
  1: {},
  2: { flop: true },
  3: { angle: 180 },
  4: { flip: true },
  5: { flop: true, angle: 270 },
  6: { angle: 90 },
  7: { flop: true, angle: 90 },
  8: { angle: 270 },
};

/** A fill colour as sharp wants it; for JPEG outputs already flattened (see OpContext.opaqueOnto). */
export function fill(hex: string | undefined, context: OpContext, fallback?: Rgba): Rgba | undefined {
  const colour = hex === undefined ? fallback : parseColour(hex);
  if (!colour) return undefined;
  return context.opaqueOnto ? over(colour, context.opaqueOnto) : colour;
}

type GeometryOp = UnitOfType<
  'Resize' | 'Crop' | 'AutoCrop' | 'Extend' | 'Rotate' | 'AutoOrient' | 'Flip' | 'Flop'
>;

export function applyGeometry(pipeline: Sharp, op: GeometryOp, ref: UnitRef, context: OpContext): void {
  // sharp turns an animation upside down as one tall image, which reverses the order of its frames.
  if (context.pages > 1 && (op.type === 'Flip' || (op.type === 'Rotate' && Math.abs(op.angle) === 180))) {
    throw unitError(
      'unsupported_input',
      `${op.type} is not supported for animated or multi-page images; read one frame with StorageSource.page or output a still format`,
      ref,
    );
  }
  switch (op.type) {
    case 'AutoOrient': {
      if (context.readsSource) pipeline.autoOrient();
      else {
        const steps = orientationSteps[context.orientation] ?? {};
        if (steps.flop) pipeline.flop();
        if (steps.flip) pipeline.flip();
        if (steps.angle) pipeline.rotate(steps.angle);
      }
      if (context.size && context.orientation >= 5) {
        context.size = { width: context.size.height, height: context.size.width };
      }
      return;
    }
    case 'Flip':
      pipeline.flip();
      return;
    case 'Flop':
      pipeline.flop();
      return;
    case 'Rotate': {
      const background = fill(op.background, context);
      pipeline.rotate(op.angle, background ? { background } : {});
      break;
    }
    case 'Crop':
      pipeline.extract(cropArea(op, context));
      break;
    case 'AutoCrop':
      if (op.mode === 'trim') pipeline.trim({ threshold: op.threshold ?? 10 });
      else
        pipeline.resize({
          width: op.width,
          height: op.height,
          fit: 'cover',
          position: 'attention',
          withoutEnlargement: true,
        });
      break;
    case 'Resize': {
      const background = fill(op.background, context);
      pipeline.resize({
        ...(op.width === undefined ? {} : { width: op.width }),
        ...(op.height === undefined ? {} : { height: op.height }),
        fit: fits[op.fit ?? 'cover'],
        ...(op.position === undefined ? {} : { position: sharpPosition(op.position) }),
        ...(op.kernel === undefined ? {} : { kernel: kernels[op.kernel] }),
        // Unless asked for an exact size, never enlarge: upscaling only adds bytes (units.ts).
        withoutEnlargement: resizeWithoutEnlargement(op),
        ...(background ? { background } : {}),
      });
      break;
    }
    case 'Extend': {
      const background = fill(op.background, context);
      pipeline.extend({
        top: op.top ?? 0,
        bottom: op.bottom ?? 0,
        left: op.left ?? 0,
        right: op.right ?? 0,
        extendWith: op.extendWith ?? 'background',
        ...(background ? { background } : {}),
      });
      break;
    }
  }
  context.size = undefined; // only sharp knows the new size from here on
}

/** Pixels for sharp's extract; fractions are taken of the size where the Crop stands. */
export function cropArea(
  op: UnitOfType<'Crop'>,
  context: OpContext,
): { left: number; top: number; width: number; height: number } {
  if ((op.unit ?? 'px') === 'px') return { left: op.left, top: op.top, width: op.width, height: op.height };
  const size = context.size;
  if (!size) throw new Error('internal: a fractional Crop reached a stage whose size is unknown');
  const left = Math.min(size.width - 1, Math.round(op.left * size.width));
  const top = Math.min(size.height - 1, Math.round(op.top * size.height));
  return {
    left,
    top,
    width: Math.max(1, Math.min(size.width - left, Math.round(op.width * size.width))),
    height: Math.max(1, Math.min(size.height - top, Math.round(op.height * size.height))),
  };
}
