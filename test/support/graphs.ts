/** Graphs and fixture sets shared by the end-to-end tests and the benches, so both measure the same work. */
import type { TransformGraph } from '../../src/core/graph/index.js';

/** The photo fixtures of the benches: baseline, large phone, EXIF orientation 1, progressive, PNG with alpha. */
export const photoFixtures = [
  'jpeg-baseline-photo-2725x2225.jpg',
  'jpeg-large-4608x1976-phone.jpg',
  'jpeg-exif-orientation-1.jpg',
  'jpeg-progressive-srgb-icc.jpg',
  'png-rgba-alpha.png',
];

/** Source → 1600 px WebP, 800 px WebP, 320×320 cover JPEG: the representative graph of the benches. */
export function threeOutputGraph(
  bucket: string,
  key: string,
  outBucket: string,
  outPrefix: string,
): TransformGraph {
  const sink = (format: 'webp' | 'jpeg', name: string) =>
    [
      { type: 'ImageFormat', format, quality: 80 },
      { type: 'StorageSink', bucket: outBucket, key: `${outPrefix}/${name}` },
    ] as const;
  return {
    transformUnits: [{ type: 'StorageSource', bucket, key }, { type: 'AutoOrient' }],
    outputs: [
      { transformUnits: [{ type: 'Resize', width: 1600, fit: 'inside' }, ...sink('webp', '1600.webp')] },
      { transformUnits: [{ type: 'Resize', width: 800, fit: 'inside' }, ...sink('webp', '800.webp')] },
      {
        transformUnits: [
          { type: 'Resize', width: 320, height: 320, fit: 'cover' },
          ...sink('jpeg', 'thumb.jpg'),
        ],
      },
    ],
  };
}

/** `bucket/key` resized to `width` and written as one `format` file to `outBucket/outKey`: the tests' small graph. */
export function resizedCopyGraph(
  source: { bucket: string; key: string },
  width: number,
  format: 'webp' | 'png',
  sink: { bucket: string; key: string },
): TransformGraph {
  return {
    transformUnits: [
      { type: 'StorageSource', ...source },
      { type: 'Resize', width },
    ],
    outputs: [
      {
        transformUnits: [
          { type: 'ImageFormat', format },
          { type: 'StorageSink', ...sink },
        ],
      },
    ],
  };
}
