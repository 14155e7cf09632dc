/** Every operation of docs/architecture.md §4 on a real fixture, each with a property it must give the picture. */
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import sharp from 'sharp';
import type { Operation } from '../../../src/core/graph/index.js';
import { executeGraph } from '../../../src/core/imaging/index.js';
import { storesOf } from '../../support/memory-store.js';
import { fixtureStore, graphOf, inBucket, pixelAt, pixelsOf, render, type Pixels } from './helpers.js';

const store = fixtureStore();
/** Small, lossless, 8-bit RGB photo: exact pixel comparisons stay meaningful. */
const photo = 'tiff-rgb-uncompressed.tif';
const alphaImage = 'png-grayscale-alpha-8bit.png';

let source: Pixels;
before(async () => {
  source = await pixelsOf(sharp(store.object(inBucket, photo)!.data));
});

async function run(ops: Operation[], file = photo, format: 'png' | 'jpeg' = 'png'): Promise<Pixels> {
  const { data } = await render(store, file, ops, { format });
  return pixelsOf(sharp(data));
}

async function size(ops: Operation[], file = photo): Promise<[number, number]> {
  const pixels = await run(ops, file);
  return [pixels.width, pixels.height];
}

function mean(pixels: Pixels, channel: number): number {
  let sum = 0;
  for (let i = channel; i < pixels.data.length; i += pixels.channels) sum += pixels.data[i]!;
  return sum / (pixels.width * pixels.height);
}

/** Mean absolute difference between horizontal neighbours: a measure of fine detail. */
function detail(pixels: Pixels): number {
  let sum = 0;
  for (let y = 0; y < pixels.height; y++) {
    for (let x = 1; x < pixels.width; x++) {
      const a = (y * pixels.width + x) * pixels.channels;
      sum += Math.abs(pixels.data[a]! - pixels.data[a - pixels.channels]!);
    }
  }
  return sum / (pixels.height * (pixels.width - 1));
}

const near = (a: number, b: number, tolerance = 1) => Math.abs(a - b) <= tolerance;

describe('geometry', () => {
  it('when Resize uses each fit, then the output has the size that fit promises', async () => {
    // photo is 246×345
    assert.deepEqual(await size([{ type: 'Resize', width: 100, height: 100, fit: 'cover' }]), [100, 100]);
    assert.deepEqual(
      await size([{ type: 'Resize', width: 100, height: 100, fit: 'contain', background: '#ff0000' }]),
      [100, 100],
    );
    assert.deepEqual(await size([{ type: 'Resize', width: 100, height: 100, fit: 'fill' }]), [100, 100]);
    assert.deepEqual(await size([{ type: 'Resize', width: 100, height: 100, fit: 'inside' }]), [71, 100]);
    assert.deepEqual(await size([{ type: 'Resize', width: 100, height: 100, fit: 'outside' }]), [100, 140]);
    assert.deepEqual(
      await size([{ type: 'Resize', height: 69, kernel: 'nearest', position: 'attention' }]),
      [49, 69],
    );
  });

  it('when Resize asks for more than the image has, then it never enlarges unless told to', async () => {
    assert.deepEqual(await size([{ type: 'Resize', width: 1000 }]), [246, 345]);
    assert.deepEqual(await size([{ type: 'Resize', width: 492, withoutEnlargement: false }]), [492, 690]);
  });

  it('when a small source gets a cover or fill thumbnail with both dimensions, then it is exactly that size', async () => {
    // photo is 246×345: smaller than the box on one side, so never-enlarge would break square grids.
    assert.deepEqual(await size([{ type: 'Resize', width: 320, height: 320 }]), [320, 320]);
    assert.deepEqual(await size([{ type: 'Resize', width: 320, height: 320, fit: 'cover' }]), [320, 320]);
    assert.deepEqual(await size([{ type: 'Resize', width: 400, height: 300, fit: 'fill' }]), [400, 300]);
    assert.notDeepEqual(
      await size([{ type: 'Resize', width: 320, height: 320, fit: 'cover', withoutEnlargement: true }]),
      [320, 320],
      'unless withoutEnlargement is set explicitly',
    );
    assert.deepEqual(
      await size([{ type: 'Resize', width: 1000, height: 1000, fit: 'inside' }]),
      [246, 345],
      'inside, contain and outside keep never enlarging',
    );
  });

  it('when Resize letterboxes with contain, then the bars have the background colour', async () => {
    const pixels = await run([
      { type: 'Resize', width: 100, height: 100, fit: 'contain', background: '#ff0000' },
    ]);
    assert.deepEqual(pixelAt(pixels, 0, 50).slice(0, 3), [255, 0, 0]);
  });

  it('when Crop is in pixels, then the output is that region of the source', async () => {
    const pixels = await run([{ type: 'Crop', left: 10, top: 20, width: 30, height: 40 }]);
    assert.deepEqual([pixels.width, pixels.height], [30, 40]);
    assert.deepEqual(pixelAt(pixels, 0, 0), pixelAt(source, 10, 20));
    assert.deepEqual(pixelAt(pixels, 29, 39), pixelAt(source, 39, 59));
  });

  it('when Crop is in fractions, then they are taken of the current size', async () => {
    const pixels = await run([
      { type: 'Crop', unit: 'fraction', left: 0.5, top: 0.25, width: 0.5, height: 0.5 },
    ]);
    assert.deepEqual([pixels.width, pixels.height], [123, 173]);
    assert.deepEqual(pixelAt(pixels, 0, 0), pixelAt(source, 123, 86));
    // After a resize the fractions apply to the resized image (a stage of its own).
    assert.deepEqual(
      await size([
        { type: 'Resize', width: 100 },
        { type: 'Crop', unit: 'fraction', left: 0, top: 0, width: 0.5, height: 0.5 },
      ]),
      [50, 70],
    );
  });

  it('when a pixel Crop reaches past the image, then that sink fails as invalid_graph naming the Crop', async () => {
    const graph = graphOf(
      photo,
      [],
      [
        {
          ops: [{ type: 'Crop', left: 200, top: 0, width: 100, height: 10 }],
          format: { format: 'png' },
          key: 'crop/bad.png',
        },
        { ops: [{ type: 'Flip' }], format: { format: 'png' }, key: 'crop/good.png' },
      ],
    );
    const result = await executeGraph(graph, { stores: storesOf(store) });
    assert.deepEqual(
      result.sinks.map((s) => s.key),
      ['crop/good.png'],
    );
    assert.equal(result.failures[0]?.error.code, 'invalid_graph');
    assert.equal(result.failures[0]?.error.unit, '/outputs/0/transformUnits/0');
    assert.match(
      result.failures[0].error.message,
      /^Expected a crop area inside the image for Crop but received/,
    );
  });

  it('when AutoCrop trims, then uniform borders are removed', async () => {
    const padded = [
      { type: 'Extend', top: 20, bottom: 20, left: 30, right: 30, background: '#ff00ff' },
    ] as const;
    assert.deepEqual(await size([...padded]), [306, 385]);
    const [width, height] = await size([...padded, { type: 'AutoCrop', mode: 'trim', threshold: 20 }]);
    assert.ok(width <= 248 && width >= 240 && height <= 347 && height >= 335, `${width}×${height}`);
  });

  it('when AutoCrop is smart, then the output has exactly the asked size', async () => {
    assert.deepEqual(await size([{ type: 'AutoCrop', mode: 'smart', width: 120, height: 80 }]), [120, 80]);
  });

  it('when Extend pads, then pixels are added with the colour or copied from the edge', async () => {
    const coloured = await run([{ type: 'Extend', top: 5, left: 7, background: '#0000ff' }]);
    assert.deepEqual([coloured.width, coloured.height], [253, 350]);
    assert.deepEqual(pixelAt(coloured, 0, 0).slice(0, 3), [0, 0, 255]);
    const copied = await run([{ type: 'Extend', left: 4, extendWith: 'copy' }]);
    assert.deepEqual(pixelAt(copied, 0, 10), pixelAt(source, 0, 10));
    const mirrored = await run([{ type: 'Extend', left: 4, extendWith: 'mirror' }]);
    assert.deepEqual(pixelAt(mirrored, 0, 10), pixelAt(source, 3, 10));
  });

  it('when Rotate turns by 90, then width and height swap and a known pixel moves', async () => {
    const pixels = await run([{ type: 'Rotate', angle: 90 }]);
    assert.deepEqual([pixels.width, pixels.height], [345, 246]);
    // Clockwise: the source's bottom-left corner becomes the top-left.
    assert.deepEqual(pixelAt(pixels, 0, 0), pixelAt(source, 0, 344));
  });

  it('when Rotate turns by another angle, then the canvas grows and the corners take the background', async () => {
    const pixels = await run([{ type: 'Rotate', angle: 45, background: '#00ff00' }]);
    assert.ok(pixels.width > 400 && pixels.height > 400, `${pixels.width}×${pixels.height}`);
    assert.deepEqual(pixelAt(pixels, 0, 0).slice(0, 3), [0, 255, 0]);
  });

  it('when Flip and Flop mirror, then a known pixel moves to the mirrored place', async () => {
    const flipped = await run([{ type: 'Flip' }]);
    assert.deepEqual(pixelAt(flipped, 3, 0), pixelAt(source, 3, 344));
    const flopped = await run([{ type: 'Flop' }]);
    assert.deepEqual(pixelAt(flopped, 0, 3), pixelAt(source, 245, 3));
  });
});

describe('colour', () => {
  it('when Grayscale runs, then every pixel has equal channels', async () => {
    const pixels = await run([{ type: 'Grayscale' }], photo, 'png');
    for (let i = 0; i < pixels.data.length; i += pixels.channels) {
      if (pixels.channels >= 3)
        assert.ok(pixels.data[i] === pixels.data[i + 1] && pixels.data[i] === pixels.data[i + 2]);
    }
  });

  it('when Tint runs, then the picture leans to the tint colour', async () => {
    const pixels = await run([{ type: 'Tint', color: '#ff0000' }]);
    assert.ok(mean(pixels, 0) > mean(pixels, 2) + 20, `${mean(pixels, 0)} vs ${mean(pixels, 2)}`);
    // A greyscale source too: sharp alone would map the tint back to grey.
    const fromGrey = await run([{ type: 'Tint', color: '#ff0000' }], 'jpeg-grayscale-gray-icc.jpg');
    assert.ok(mean(fromGrey, 0) > mean(fromGrey, 2) + 20, `${mean(fromGrey, 0)} vs ${mean(fromGrey, 2)}`);
  });

  it('when Modulate raises brightness or drops saturation, then the picture gets brighter or grey', async () => {
    const brighter = await run([{ type: 'Modulate', brightness: 1.5 }]);
    assert.ok(mean(brighter, 1) > mean(source, 1) + 10);
    const grey = await run([{ type: 'Modulate', saturation: 0 }]);
    const [r, g, b] = pixelAt(grey, 100, 100);
    assert.ok(near(r!, g!, 3) && near(g!, b!, 3), `${r},${g},${b}`);
    const turned = await run([{ type: 'Modulate', hue: 180, lightness: 10 }]);
    assert.notDeepEqual(pixelAt(turned, 100, 100), pixelAt(source, 100, 100));
  });

  it('when Negate runs, then a known pixel is inverted and alpha is left alone', async () => {
    const pixels = await run([{ type: 'Negate' }]);
    assert.deepEqual(
      pixelAt(pixels, 50, 60),
      pixelAt(source, 50, 60).map((v) => 255 - v),
    );
    const withAlpha = await run([{ type: 'Negate' }], alphaImage);
    assert.equal(pixelAt(withAlpha, 0, 0)[3], 0, 'a transparent pixel stays transparent');
  });

  it('when Linear squeezes the range and Normalize follows, then the full range comes back', async () => {
    const squeezed = await render(store, photo, [{ type: 'Linear', a: 0.25, b: 96 }]);
    const squeezedStats = await sharp(squeezed.data).stats();
    assert.ok(squeezedStats.channels[0]!.max <= 160 && squeezedStats.channels[0]!.min >= 95);
    const { data } = await render(store, photo, [{ type: 'Linear', a: 0.25, b: 96 }, { type: 'Normalize' }]);
    const stats = await sharp(data).stats();
    // Normalize stretches the 1st..99th percentile, so a few pixels stay just inside the ends.
    assert.ok(
      stats.channels[0]!.min <= 10 && stats.channels[0]!.max >= 245,
      JSON.stringify(stats.channels[0]),
    );
  });

  it('when Linear doubles, then a known pixel doubles', async () => {
    const pixels = await run([{ type: 'Linear', a: 2, b: 0 }]);
    const before = pixelAt(source, 10, 10);
    pixelAt(pixels, 10, 10).forEach((v, ch) => assert.ok(near(v, Math.min(255, before[ch]! * 2)), `${v}`));
  });

  it('when Gamma darkens without brightening back, then the picture gets darker', async () => {
    const pixels = await run([{ type: 'Gamma', gamma: 2.2, gammaOut: 1 }]);
    assert.ok(mean(pixels, 1) < mean(source, 1) - 20, `${mean(pixels, 1)} vs ${mean(source, 1)}`);
  });

  it('when Clahe runs on a flat picture, then local contrast rises', async () => {
    const flat = [{ type: 'Linear', a: 0.3, b: 90 }] as const;
    const before = await run([...flat]);
    const after = await run([...flat, { type: 'Clahe', width: 16, height: 16, maxSlope: 5 }]);
    assert.ok(detail(after) > detail(before) * 1.5, `${detail(after)} vs ${detail(before)}`);
  });

  it('when Threshold runs, then only black and white remain', async () => {
    const pixels = await run([{ type: 'Threshold', threshold: 100 }]);
    for (const v of pixels.data) assert.ok(v === 0 || v === 255, String(v));
  });

  it('when Flatten or RemoveAlpha runs, then the alpha channel is gone', async () => {
    const flattened = await run([{ type: 'Flatten', background: '#ff0000' }], alphaImage);
    assert.equal(flattened.channels, 3);
    assert.deepEqual(pixelAt(flattened, 0, 0), [255, 0, 0], 'the transparent corner takes the background');
    const removed = await run([{ type: 'RemoveAlpha' }], alphaImage);
    assert.equal(removed.channels, 3);
  });
});

describe('filters', () => {
  it('when Blur runs, then fine detail drops', async () => {
    assert.ok(detail(await run([{ type: 'Blur', sigma: 3 }])) < detail(source) / 2);
    assert.ok(detail(await run([{ type: 'Blur' }])) < detail(source));
  });

  it('when Sharpen runs, then fine detail rises', async () => {
    assert.ok(detail(await run([{ type: 'Sharpen', sigma: 2, flat: 2, jagged: 4 }])) > detail(source) * 1.2);
    assert.ok(detail(await run([{ type: 'Sharpen' }])) > detail(source));
  });

  it('when Median runs, then isolated specks are smoothed away', async () => {
    const pixels = await run([{ type: 'Median', size: 5 }]);
    assert.deepEqual([pixels.width, pixels.height], [246, 345]);
    assert.ok(detail(pixels) < detail(source));
  });
});

describe('composition', () => {
  const base = 'comp/white.png';
  const mark = 'comp/red.png';
  before(async () => {
    const solid = (width: number, height: number, colour: string) =>
      sharp({ create: { width, height, channels: 3, background: colour } })
        .png()
        .toBuffer();
    store.seed(inBucket, base, await solid(200, 100, '#ffffff'));
    store.seed(inBucket, mark, await solid(20, 20, '#ff0000'));
  });

  async function watermarked(op: Partial<Extract<Operation, { type: 'Watermark' }>>): Promise<Pixels> {
    return run([{ type: 'Watermark', bucket: inBucket, key: mark, ...op }], base);
  }

  it('when a Watermark has gravity and opacity, then it is blended into that corner only', async () => {
    const pixels = await watermarked({ gravity: 'southeast', opacity: 0.5 });
    const [r, g, b] = pixelAt(pixels, 195, 95);
    assert.ok(r === 255 && near(g!, 128, 2) && near(b!, 128, 2), `${r},${g},${b}`);
    assert.deepEqual(pixelAt(pixels, 5, 5).slice(0, 3), [255, 255, 255]);
  });

  it('when a Watermark tiles, then it covers the whole image', async () => {
    const pixels = await watermarked({ tile: true });
    for (const [x, y] of [
      [1, 1],
      [100, 50],
      [198, 98],
    ] as const) {
      assert.deepEqual(pixelAt(pixels, x, y).slice(0, 3), [255, 0, 0], `${x},${y}`);
    }
  });

  it('when a Watermark is scaled and placed by offset, then it has that width at that place', async () => {
    const pixels = await watermarked({ scale: 0.5, left: 10, top: 0 });
    assert.deepEqual(pixelAt(pixels, 10, 5).slice(0, 3), [255, 0, 0]);
    assert.deepEqual(
      pixelAt(pixels, 105, 95).slice(0, 3),
      [255, 0, 0],
      'overlay is 100 px: fitted into 100 px height',
    );
    assert.deepEqual(pixelAt(pixels, 115, 5).slice(0, 3), [255, 255, 255]);
  });

  it('when the Watermark object is missing, then that sink fails naming the Watermark and others complete', async () => {
    const graph = graphOf(
      photo,
      [],
      [
        {
          ops: [{ type: 'Watermark', bucket: inBucket, key: 'comp/missing.png' }],
          format: { format: 'png' },
          key: 'comp/a.png',
        },
        { ops: [{ type: 'Blur' }], format: { format: 'png' }, key: 'comp/b.png' },
      ],
    );
    const result = await executeGraph(graph, { stores: storesOf(store) });
    assert.deepEqual(
      result.sinks.map((s) => s.key),
      ['comp/b.png'],
    );
    assert.equal(result.failures[0]?.error.code, 'source_not_found');
    assert.equal(result.failures[0]?.error.unit, '/outputs/0/transformUnits/0');
    assert.match(result.failures[0].error.message, /\(Watermark at \/outputs\/0\/transformUnits\/0\)$/);
  });
});
