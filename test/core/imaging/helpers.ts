/** Builders and pixel probes shared by the imaging tests. */
import sharp, { type Sharp } from 'sharp';
import type { ImageFormat, Operation, StorageSource, TransformGraph } from '../../../src/core/graph/index.js';
import { executeGraph, type ExecuteDeps, type GraphResult } from '../../../src/core/imaging/index.js';
import { MemoryStore, storesOf } from '../../support/memory-store.js';
import { readManifest } from '../../support/fixtures.js';

export const inBucket = 'in';
export const outBucket = 'out';

/** A store holding every fixture of the manifest under its own name in the `in` bucket. */
export function fixtureStore(): MemoryStore {
  const store = new MemoryStore();
  for (const { file } of readManifest()) store.seedFixture(inBucket, file, file);
  return store;
}

export type FormatSpec = Omit<ImageFormat, 'type'>;

export interface OutputSpec {
  ops?: Operation[];
  format: FormatSpec;
  key: string;
  bucket?: string;
}

/** source → ops → one output per spec (each output may add its own ops). */
export function graphOf(
  file: string,
  ops: Operation[],
  outputs: OutputSpec[],
  source: Partial<StorageSource> = {},
): TransformGraph {
  return {
    transformUnits: [{ type: 'StorageSource', bucket: inBucket, key: file, ...source }, ...ops],
    outputs: outputs.map((output) => ({
      transformUnits: [
        ...(output.ops ?? []),
        { type: 'ImageFormat', ...output.format },
        { type: 'StorageSink', bucket: output.bucket ?? outBucket, key: output.key },
      ],
    })),
  };
}

/** Runs `ops` on a fixture and returns the bytes of the single output. */
export async function render(
  store: MemoryStore,
  file: string,
  ops: Operation[],
  format: FormatSpec = { format: 'png' },
  options: { source?: Partial<StorageSource>; deps?: Partial<ExecuteDeps> } = {},
): Promise<{ data: Buffer; result: GraphResult }> {
  const key = `render/${Math.random().toString(36).slice(2)}`;
  const result = await executeGraph(graphOf(file, ops, [{ format, key }], options.source), {
    stores: storesOf(store),
    ...options.deps,
  });
  const written = store.object(outBucket, key);
  if (!written) throw new Error(`nothing written: ${JSON.stringify(result.failures)}`);
  return { data: written.data, result };
}

export interface Pixels {
  data: Buffer;
  width: number;
  height: number;
  channels: number;
}

export async function pixelsOf(image: Buffer | Sharp): Promise<Pixels> {
  const pipeline = Buffer.isBuffer(image) ? sharp(image) : image;
  const { data, info } = await pipeline.raw().toBuffer({ resolveWithObject: true });
  return { data, width: info.width, height: info.height, channels: info.channels };
}

export function pixelAt(pixels: Pixels, x: number, y: number): number[] {
  const at = (y * pixels.width + x) * pixels.channels;
  return [...pixels.data.subarray(at, at + pixels.channels)];
}

/** A 64×64 greyscale thumbnail, the basis of "same picture" comparisons. */
export async function thumbnail(image: Buffer): Promise<Buffer> {
  return sharp(image).resize(64, 64, { fit: 'fill' }).greyscale().raw().toBuffer();
}

export function meanAbsDiff(a: Buffer, b: Buffer): number {
  if (a.length !== b.length) throw new Error(`sizes differ: ${a.length} vs ${b.length}`);
  let sum = 0;
  for (let i = 0; i < a.length; i++) sum += Math.abs(a[i]! - b[i]!);
  return sum / a.length;
}
