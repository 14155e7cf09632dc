/**
 * `ImageFormat.maxBytes`: the best output at or under a byte budget, in a bounded number of encodes.
 *
 * The branch's pixels are rendered once (raw, sRGB), then encoded repeatedly:
 * 1. at the start quality (`quality`, else the format's default): most outputs fit at once;
 * 2. at the quality floor: if that fits, the highest fitting quality between the two is searched, each
 *    guess interpolated on log(size), which is close to linear in quality, with bisection once the gap is
 *    small;
 * 3. if even the floor is too large, the image is made smaller by the area ratio the budget asks for (bytes
 *    grow about with area) and the search starts again at that size. Animations are never scaled.
 * Every encode counts against `maxEncodes`; when the budget is still not met, the sink fails with
 * `budget_unreachable`.
 */
import sharp, { type OutputInfo, type Sharp } from 'sharp';
import type { ImageFormat } from '../graph/index.js';
import { unitError, type UnitRef } from './classify.js';
import { encode, type Animation, type EncodeMetadata } from './encode.js';

/** Lowest quality the search goes to before it makes the image smaller. */
export const budgetQualityFloor = 30;
/** Most encodes one output may take. */
export const maxBudgetEncodes = 10;
/** Smallest width the search scales down to. */
const minScaledWidth = 16;

/** sharp's default quality per lossy format (what `quality` means when absent). */
const defaultQuality: Partial<Record<ImageFormat['format'], number>> = { jpeg: 80, webp: 80, avif: 50 };

export interface BudgetedEncode {
  data: Buffer;
  info: OutputInfo;
  quality: number;
  encodes: number;
}

type SourceMetadataOnly = Pick<EncodeMetadata, 'source'>;

interface Attempt {
  quality: number;
  data: Buffer;
  info: OutputInfo;
}

/**
 * Encodes what `pipeline` produces (every operation applied, not yet encoded) within `format.maxBytes`.
 * Throws a `budget_unreachable` ClassifiedError for the format unit when the budget cannot be met.
 */
export async function encodeWithinBudget(
  pipeline: Sharp,
  format: ImageFormat & { maxBytes: number },
  animation: Animation | undefined,
  metadata: SourceMetadataOnly,
  ref: UnitRef,
): Promise<BudgetedEncode> {
  const budget = format.maxBytes;
  const start = format.quality ?? defaultQuality[format.format] ?? 80;
  const floor = Math.min(start, budgetQualityFloor);
  const { data: pixels, info: rawInfo } = await pipeline
    .toColourspace('srgb')
    .raw()
    .toBuffer({ resolveWithObject: true });
  const pageHeight = rawInfo.pageHeight ?? rawInfo.height;
  const animated = animation !== undefined && pageHeight < rawInfo.height;

  let encodes = 0;
  let smallest = Infinity;
  const encodeAt = async (quality: number, width: number): Promise<Attempt> => {
    encodes++;
    const image = sharp(pixels, {
      raw: {
        width: rawInfo.width,
        height: rawInfo.height,
        channels: rawInfo.channels,
        ...(animated ? { pageHeight } : {}),
      },
    });
    if (width < rawInfo.width) image.resize({ width });
    // Encoded from raw pixels: metadata the policy keeps is carried over, and counts against the budget.
    const { data, info } = await encode(image, { ...format, quality }, animated ? animation : undefined, {
      ...metadata,
      readsSource: false,
    });
    smallest = Math.min(smallest, data.length);
    return { quality, data, info };
  };
  const fits = (attempt: Attempt) => attempt.data.length <= budget;
  const done = (attempt: Attempt): BudgetedEncode => ({ ...attempt, encodes });

  let width = rawInfo.width;
  let high = await encodeAt(start, width);
  if (fits(high)) return done(high);
  for (;;) {
    if (encodes >= maxBudgetEncodes) break;
    let low = high.quality === floor ? high : await encodeAt(floor, width);
    if (fits(low)) {
      while (high.quality - low.quality > 1 && encodes < maxBudgetEncodes) {
        const next = await encodeAt(nextQuality(low, high, budget), width);
        if (fits(next)) low = next;
        else high = next;
      }
      return done(low);
    }
    // Even the floor is too large: bytes grow about with area, so scale the area by budget / size.
    const scaled = Math.floor(width * Math.sqrt(budget / low.data.length) * 0.95);
    if (animated || scaled < minScaledWidth || encodes >= maxBudgetEncodes) break;
    width = scaled;
    high = await encodeAt(start, width);
    if (fits(high)) return done(high);
  }
  throw unitError(
    'budget_unreachable',
    `Expected an output of at most ${budget} bytes for maxBytes but the smallest of ${encodes} encodes was ${smallest} bytes`,
    ref,
  );
}

/** The next quality to try between a fitting `low` and a too-large `high` (gap above 1). */
function nextQuality(low: Attempt, high: Attempt, budget: number): number {
  const gap = high.quality - low.quality;
  const middle = Math.round((low.quality + high.quality) / 2);
  if (gap <= 4) return middle;
  const t = Math.log(budget / low.data.length) / Math.log(high.data.length / low.data.length);
  const guess = Math.round(low.quality + t * gap);
  return Math.min(high.quality - 1, Math.max(low.quality + 1, guess));
}
