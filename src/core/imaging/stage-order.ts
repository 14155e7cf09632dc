/**
 * sharp's fixed processing order, as data (docs/architecture.md §5). Pure: no sharp import.
 *
 * One sharp pipeline applies each kind of operation at most once, at a fixed place, whatever order the
 * methods were called in. The ranks below follow `Execute()` in sharp 0.35 `src/pipeline.cc`, read top to
 * bottom, as the executor calls the methods (rotate before resize/extract/trim, so that sharp rotates
 * before it crops). An operation may join a stage only at a rank at or after every operation already in it,
 * into a slot nobody holds, and when none of the named exceptions below applies.
 */
import type { Operation } from '../graph/index.js';
import { bringsColour } from './colours.js';

export type Slot =
  | 'orient'
  | 'rotate'
  | 'trim'
  | 'extractPre'
  | 'flip'
  | 'flop'
  | 'flatten'
  | 'gamma'
  | 'greyscale'
  | 'resize'
  | 'extractPost'
  | 'extend'
  | 'median'
  | 'threshold'
  | 'blur'
  | 'modulate'
  | 'sharpen'
  | 'composite'
  | 'linear'
  | 'normalise'
  | 'clahe'
  | 'tint'
  | 'removeAlpha'
  | 'negate';

/** Where sharp applies each slot within one pipeline; equal ranks commute (flip and flop). */
export const slotRank: Readonly<Record<Slot, number>> = {
  orient: 0, // EXIF orientation: sharp applies it before any rotate/flip the caller asks for
  rotate: 1, // pre-resize, because the executor calls rotate() before resize()/extract()/trim()
  trim: 2,
  extractPre: 3,
  flip: 4, // without a rotation, sharp mirrors after the pre-resize extract (see mirrorAfterRotate)
  flop: 4,
  flatten: 5,
  gamma: 6, // the darkening half; the brightening half (gammaOut) sits at gammaOutRank
  greyscale: 7,
  resize: 8, // shrink, then the crop/embed of fit cover/contain
  extractPost: 9,
  extend: 10,
  median: 11,
  threshold: 12,
  blur: 13,
  modulate: 14,
  sharpen: 15,
  composite: 16,
  linear: 18,
  normalise: 19,
  clahe: 20,
  tint: 21,
  removeAlpha: 22,
  negate: 23, // after the conversion to the output colour space
};

/** sharp brightens by gammaOut after compositing; only these slots may sit between the two halves. */
export const gammaOutRank = 17;
const gammaWindowSlots: ReadonlySet<Slot> = new Set(['resize', 'extractPost']);

/** Slots whose operation changes width or height in a way only sharp knows until it has run. */
const sizeChangingSlots: ReadonlySet<Slot> = new Set([
  'rotate',
  'trim',
  'extractPre',
  'resize',
  'extractPost',
  'extend',
]);

/** Pixel-wise colour steps that sharp runs before a rotation it could not move in front of a resize. */
const preResizeColourSlots: ReadonlySet<Slot> = new Set(['flatten', 'gamma', 'greyscale']);

export interface StagedOp {
  slot: Slot;
  op: Operation;
}

/**
 * The slot an operation takes in a stage that already holds `ops`: a Crop before any resize is sharp's
 * pre-resize extract, otherwise (or when that one is taken) the post-resize extract.
 */
export function slotFor(op: Operation, ops: readonly StagedOp[]): Slot {
  switch (op.type) {
    case 'AutoOrient':
      return 'orient';
    case 'Rotate':
      return 'rotate';
    case 'AutoCrop':
      return op.mode === 'trim' ? 'trim' : 'resize';
    case 'Crop':
      return ops.some((o) => o.slot === 'resize' || o.slot === 'extractPre') ? 'extractPost' : 'extractPre';
    case 'Flip':
      return 'flip';
    case 'Flop':
      return 'flop';
    case 'Flatten':
      return 'flatten';
    case 'Gamma':
      return 'gamma';
    case 'Grayscale':
      return 'greyscale';
    case 'Resize':
      return 'resize';
    case 'Extend':
      return 'extend';
    case 'Median':
      return 'median';
    case 'Threshold':
      return 'threshold';
    case 'Blur':
      return 'blur';
    case 'Modulate':
      return 'modulate';
    case 'Sharpen':
      return 'sharpen';
    case 'Watermark':
    case 'Text':
      return 'composite';
    case 'Linear':
      return 'linear';
    case 'Normalize':
      return 'normalise';
    case 'Clahe':
      return 'clahe';
    case 'Tint':
      return 'tint';
    case 'RemoveAlpha':
      return 'removeAlpha';
    case 'Negate':
      return 'negate';
  }
}

/** Operations that need the image size where they stand (the executor knows it only at a stage's start). */
export function needsKnownSize(op: Operation): boolean {
  return (op.type === 'Crop' && op.unit === 'fraction') || op.type === 'Watermark' || op.type === 'Text';
}

/** Steps after which sharp's pipeline is greyscale. */
function makesGrey(op: Operation): boolean {
  return op.type === 'Grayscale' || (op.type === 'Threshold' && op.grayscale !== false);
}

function isRightAngle(op: Operation): boolean {
  return op.type === 'Rotate' && op.angle % 90 === 0;
}

/**
 * Why `op` cannot join a stage holding `ops`, or undefined when it can. The reasons name the rule, which
 * keeps the compiler's decisions explainable in tests.
 */
export function refusal(ops: readonly StagedOp[], op: Operation): string | undefined {
  const slot = slotFor(op, ops);
  if (ops.some((o) => o.slot === slot)) return 'repeated'; // sharp keeps only the last of each kind
  const rank = slotRank[slot];
  if (ops.some((o) => slotRank[o.slot] > rank)) return 'reordered';
  // sharp always mirrors before it rotates; an orientation applied to raw pixels is itself a rotate+flop.
  if (
    (slot === 'flip' || slot === 'flop' || slot === 'rotate') &&
    ops.some((o) => o.slot === 'rotate' || o.slot === 'orient')
  ) {
    return 'mirrorAfterRotate';
  }
  // Without a resize, extract or trim in the stage, sharp rotates after these colour steps; for right
  // angles that commutes exactly, for other angles the fill colour and interpolation would differ.
  if (preResizeColourSlots.has(slot) && ops.some((o) => o.slot === 'rotate' && !isRightAngle(o.op))) {
    return 'colourAfterFreeRotate';
  }
  // Everything between sharp's two gamma halves runs on darkened values: allow only the resize (the
  // reason gamma exists) and crops, which do not look at values.
  if (ops.some((o) => o.slot === 'gamma') && rank < gammaOutRank && !gammaWindowSlots.has(slot)) {
    return 'insideGamma';
  }
  if (needsKnownSize(op) && ops.some((o) => sizeChangingSlots.has(o.slot))) return 'needsKnownSize';
  // Once sharp has made a pipeline grey it stays grey: Tint maps back to grey, fills turn grey and raw
  // output keeps one band. Colour added after that needs a pipeline of its own.
  if (bringsColour(op) && ops.some((o) => makesGrey(o.op))) return 'colourAfterGrey';
  return undefined;
}

/** Whether all of `more`, in order, can run in the same sharp pipeline after `ops`. */
export function canExtend(ops: readonly StagedOp[], more: readonly Operation[]): boolean {
  const staged = [...ops];
  for (const op of more) {
    if (refusal(staged, op) !== undefined) return false;
    staged.push({ slot: slotFor(op, staged), op });
  }
  return true;
}
