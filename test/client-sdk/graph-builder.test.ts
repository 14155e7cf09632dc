/**
 * The graph builder produces the exact Transform Graph contract (the service's own validator accepts
 * it), and refuses wrong unit options at compile time (the `@ts-expect-error` lines are checked by tsc).
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { validateBatch } from '../../src/core/graph/validate.js';
import { source, type TransformGraph } from '../../packages/client/src/index.js';

describe('graph builder', () => {
  test('when a branching graph is built, then it equals the contract written by hand, discriminators included, and validates', () => {
    const built = source('photos', 'in/cat.jpg', { autoOrient: false })
      .autoOrient()
      .resize({ width: 1600 })
      .outputs((b) => [
        b.format('webp', { quality: 80 }).sink('photos', 'out/cat.webp'),
        b
          .resize({ width: 160, height: 160, fit: 'cover' })
          .grayscale()
          .format('png')
          .sink('photos', 'out/cat-thumb.png', { cacheControl: 'max-age=3600' }),
      ]);

    const expected: TransformGraph = {
      transformUnits: [
        { type: 'StorageSource', bucket: 'photos', key: 'in/cat.jpg', autoOrient: false },
        { type: 'AutoOrient' },
        { type: 'Resize', width: 1600 },
      ],
      outputs: [
        {
          transformUnits: [
            { type: 'ImageFormat', format: 'webp', quality: 80 },
            { type: 'StorageSink', bucket: 'photos', key: 'out/cat.webp' },
          ],
        },
        {
          transformUnits: [
            { type: 'Resize', width: 160, height: 160, fit: 'cover' },
            { type: 'Grayscale' },
            { type: 'ImageFormat', format: 'png' },
            { type: 'StorageSink', bucket: 'photos', key: 'out/cat-thumb.png', cacheControl: 'max-age=3600' },
          ],
        },
      ],
    };
    assert.deepEqual(built, expected);
    assert.deepEqual(validateBatch({ graphs: [built] }), { ok: true, value: { graphs: [built] } });
  });

  test('when a chain ends in one sink, then the graph has no outputs, and a shared prefix stays unchanged', () => {
    const prefix = source('photos', 'in/cat.jpg').rotate({ angle: 90 });

    const jpeg = prefix.format('jpeg', { quality: 70, progressive: true }).sink('photos', 'out/cat.jpg');
    const cropped = prefix
      .crop({ unit: 'fraction', left: 0, top: 0, width: 0.5, height: 0.5 })
      .format('avif')
      .sink('photos', 'out/cat.avif');

    assert.deepEqual(jpeg, {
      transformUnits: [
        { type: 'StorageSource', bucket: 'photos', key: 'in/cat.jpg' },
        { type: 'Rotate', angle: 90 },
        { type: 'ImageFormat', format: 'jpeg', quality: 70, progressive: true },
        { type: 'StorageSink', bucket: 'photos', key: 'out/cat.jpg' },
      ],
    });
    assert.equal(cropped.transformUnits.length, 5);
    assert.equal(cropped.transformUnits[2]!.type, 'Crop');
  });

  test('when options are wrong, then the program does not compile', () => {
    const chain = source('photos', 'in/cat.jpg');
    // Built only for the type checker; the values are never sent.
    const unchecked = (): unknown[] => [
      // @ts-expect-error width is a number of pixels, not a string
      chain.resize({ width: '1600' }),
      // @ts-expect-error Rotate needs its angle
      chain.rotate(),
      // @ts-expect-error Resize has no option called size
      chain.resize({ size: 10 }),
      // @ts-expect-error bmp is not an output format
      chain.format('bmp'),
      // @ts-expect-error after a format only a sink may follow
      chain.format('png').resize({ width: 1 }),
      // @ts-expect-error the unit type comes from the method, it is not an option
      chain.blur({ type: 'Blur', sigma: 2 }),
    ];
    assert.equal(typeof unchecked, 'function');
  });
});
