/** The engine bench's three-output graph (1600 px WebP, 800 px WebP, 320×320 cover JPEG). */
import type { TransformGraph } from '../src/core/graph/index.js';

export function threeOutputs(inputBucket: string, key: string, outputBucket: string): TransformGraph {
  const sink = (suffix: string) => ({
    type: 'StorageSink' as const,
    bucket: outputBucket,
    key: `engine/${key}-${suffix}`,
  });
  return {
    transformUnits: [{ type: 'StorageSource', bucket: inputBucket, key }],
    outputs: [
      {
        transformUnits: [
          { type: 'Resize', width: 1600, fit: 'inside' },
          { type: 'ImageFormat', format: 'webp' },
          sink('1600.webp'),
        ],
      },
      {
        transformUnits: [
          { type: 'Resize', width: 800, fit: 'inside' },
          { type: 'ImageFormat', format: 'webp' },
          sink('800.webp'),
        ],
      },
      {
        transformUnits: [
          { type: 'Resize', width: 320, height: 320, fit: 'cover' },
          { type: 'ImageFormat', format: 'jpeg' },
          sink('320.jpg'),
        ],
      },
    ],
  };
}
