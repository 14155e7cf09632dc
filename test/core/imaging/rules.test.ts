/**
 * The rules docs/architecture.md §4 says the engine guarantees: upright, sRGB, alpha kept or flattened by format,
 * animation kept where the format holds it, and inputs judged by content.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import sharp from 'sharp';
import { executeGraph } from '../../../src/core/imaging/index.js';
import { storesOf } from '../../support/memory-store.js';
import { fixturePath } from '../../support/fixtures.js';
import {
  fixtureStore,
  graphOf,
  inBucket,
  meanAbsDiff,
  outBucket,
  pixelAt,
  pixelsOf,
  render,
  thumbnail,
} from './helpers.js';

const store = fixtureStore();
const orientationFile = (o: number) =>
  o === 0 ? 'jpeg-exif-orientation-0-invalid.jpg' : `jpeg-exif-orientation-${o}.jpg`;

/**
 * Mean absolute difference of 64×64 grey thumbnails (0..255). The nine orientation fixtures are separate
 * JPEG encodes of one photo: upright, they measured ≤ 1.1 apart; mirrored or turned, ≥ 65. 5 separates
 * the two with room for encoder changes on either side.
 */
const samePicture = 5;

describe('output is upright', () => {
  const resize = { type: 'Resize', width: 128 } as const;

  it('when any EXIF orientation (or the invalid 0) is the source, then the picture equals orientation 1', async () => {
    const reference = await thumbnail((await render(store, orientationFile(1), [resize])).data);
    for (const orientation of [0, 2, 3, 4, 5, 6, 7, 8]) {
      const { data } = await render(store, orientationFile(orientation), [resize]);
      const meta = await sharp(data).metadata();
      assert.deepEqual([meta.width, meta.height], [128, 85], `orientation ${orientation}`);
      const diff = meanAbsDiff(reference, await thumbnail(data));
      assert.ok(diff < samePicture, `orientation ${orientation}: ${diff.toFixed(2)}`);
    }
  });

  it('when AutoOrient runs on raw pixels of a later stage, then it matches the decoder for all eight orientations', async () => {
    const reference = await thumbnail((await render(store, orientationFile(1), [resize])).data);
    for (const orientation of [2, 3, 4, 5, 6, 7, 8]) {
      // Grayscale first, so the AutoOrient cannot be folded into the decode.
      const { data } = await render(
        store,
        orientationFile(orientation),
        [{ type: 'Grayscale' }, { type: 'AutoOrient' }, resize],
        { format: 'png' },
        { source: { autoOrient: false } },
      );
      const diff = meanAbsDiff(reference, await thumbnail(data));
      assert.ok(diff < samePicture, `orientation ${orientation}: ${diff.toFixed(2)}`);
    }
  });

  it('when the source says autoOrient false, then the stored pixels are kept as they are', async () => {
    const { data } = await render(
      store,
      orientationFile(6),
      [resize],
      { format: 'jpeg' },
      { source: { autoOrient: false } },
    );
    const meta = await sharp(data).metadata();
    assert.deepEqual([meta.width, meta.height], [128, 192]);
  });
});

describe('output is sRGB', () => {
  it('when the source is CMYK with a SWOP profile, then it is converted through the profile, not reinterpreted', async () => {
    const size = { width: 100, height: 66, fit: 'fill' } as const;
    const { data } = await render(store, 'jpeg-cmyk-swop-icc.jpg', [{ type: 'Resize', ...size }]);
    assert.equal((await sharp(data).metadata()).space, 'srgb');
    const out = await pixelsOf(sharp(data));
    const cmyk = await pixelsOf(
      sharp(fixturePath('jpeg-cmyk-swop-icc.jpg'))
        .pipelineColourspace('cmyk')
        .toColourspace('cmyk')
        .resize(size),
    );
    assert.equal(out.channels, 3);
    assert.equal(cmyk.channels, 4);
    // The textbook formula ignores the press profile but lands near it (measured 17); reading C, M, Y as
    // R, G, B lands far away (measured 71).
    let naive = 0;
    let reinterpreted = 0;
    for (let i = 0; i < out.width * out.height; i++) {
      const [c, m, y, k] = [...cmyk.data.subarray(i * 4, i * 4 + 4)].map((v) => v / 255) as [
        number,
        number,
        number,
        number,
      ];
      const expected = [c, m, y].map((v) => 255 * (1 - v) * (1 - k));
      for (let ch = 0; ch < 3; ch++) {
        naive += Math.abs(out.data[i * 3 + ch]! - expected[ch]!);
        reinterpreted += Math.abs(out.data[i * 3 + ch]! - cmyk.data[i * 4 + ch]!);
      }
    }
    assert.ok(naive / out.data.length < 30, `naive ${naive / out.data.length}`);
    assert.ok(reinterpreted / out.data.length > 50, `reinterpreted ${reinterpreted / out.data.length}`);
  });

  for (const file of ['jpeg-icc-adobe-rgb.jpg', 'png-display-p3-icc.png', 'png-1x1-prophoto-icc.png']) {
    it(`when ${file} (wide gamut) is the source, then its colours are converted to sRGB`, async () => {
      const { data } = await render(store, file, [{ type: 'Resize', width: 8 }], {
        format: 'png',
        metadata: 'keepIcc',
      });
      const meta = await sharp(data).metadata();
      assert.equal(meta.space, 'srgb');
      const out = pixelAt(await pixelsOf(sharp(data).removeAlpha()), 0, 0);
      const converted = pixelAt(await pixelsOf(sharp(fixturePath(file)).resize(8).removeAlpha()), 0, 0);
      const reinterpreted = pixelAt(
        await pixelsOf(sharp(fixturePath(file), { ignoreIcc: true }).resize(8).removeAlpha()),
        0,
        0,
      );
      out.forEach((value, ch) =>
        assert.ok(Math.abs(value - converted[ch]!) <= 2, `${out.join()} vs ${converted.join()}`),
      );
      assert.ok(
        out.some((value, ch) => Math.abs(value - reinterpreted[ch]!) >= 5),
        `${out.join()} looks like the unconverted ${reinterpreted.join()}`,
      );
    });
  }
});

describe('alpha follows the target format', () => {
  it('when a transparent PNG becomes PNG and WebP, then the alpha channel is kept', async () => {
    for (const format of ['png', 'webp'] as const) {
      const { data } = await render(store, 'png-grayscale-alpha-8bit.png', [{ type: 'Resize', width: 100 }], {
        format,
      });
      const pixels = await pixelsOf(sharp(data));
      assert.equal(pixels.channels, 4, format);
      assert.equal(pixelAt(pixels, 0, 0)[3], 0, `${format}: the transparent corner stays transparent`);
    }
  });

  it('when a transparent PNG becomes JPEG, then it is flattened onto white', async () => {
    // The corner is transparent black: dropping alpha would give black, flattening gives white.
    const { data } = await render(store, 'png-grayscale-alpha-8bit.png', [{ type: 'Resize', width: 100 }], {
      format: 'jpeg',
    });
    const pixels = await pixelsOf(sharp(data));
    assert.equal(pixels.channels, 3);
    assert.ok(
      pixelAt(pixels, 0, 0).every((v) => v > 245),
      String(pixelAt(pixels, 0, 0)),
    );
  });

  it('when JPEG output pads with a transparent colour after a Flatten, then the padding takes the Flatten colour', async () => {
    const { data } = await render(
      store,
      'png-grayscale-alpha-8bit.png',
      [
        { type: 'Flatten', background: '#00ff00' },
        { type: 'Extend', top: 10, background: '#ff000000' },
        { type: 'Resize', width: 100 },
      ],
      { format: 'jpeg' },
    );
    const pixels = await pixelsOf(sharp(data));
    const [r, g, b] = pixelAt(pixels, 50, 1);
    assert.ok(r! < 30 && g! > 220 && b! < 30, `${r},${g},${b}`);
  });

  it('when JPEG output pads with a transparent colour, then the padding is white, not the encoder’s black', async () => {
    const { data } = await render(
      store,
      'jpeg-baseline-photo-2725x2225.jpg',
      [
        { type: 'Resize', width: 100 },
        { type: 'Extend', top: 10, extendWith: 'background', background: '#ff000000' },
      ],
      { format: 'jpeg' },
    );
    const pixels = await pixelsOf(sharp(data));
    assert.ok(
      pixelAt(pixels, 50, 2).every((v) => v > 245),
      String(pixelAt(pixels, 50, 2)),
    );
  });
});

describe('animation', () => {
  const frames = async (data: Buffer) => {
    const meta = await sharp(data).metadata();
    return { pages: meta.pages ?? 1, duration: (meta.delay ?? []).reduce((sum, d) => sum + d, 0) };
  };

  it('when an animated GIF becomes WebP, then the animation is kept (same frames and duration)', async () => {
    const { data } = await render(store, 'gif-animated-30-frames.gif', [{ type: 'Resize', width: 40 }], {
      format: 'webp',
    });
    const source = await sharp(fixturePath('gif-animated-30-frames.gif')).metadata();
    assert.equal(source.pages, 30);
    // libwebp merges identical consecutive frames into longer ones: this GIF's 30 frames hold 8 distinct
    // pictures, written as 9 WebP frames that last the same 900 ms in total.
    const out = await frames(data);
    assert.ok(out.pages > 1, `pages ${out.pages}`);
    assert.equal(out.duration, 30 * 30);
    const decoded = await pixelsOf(sharp(data, { animated: true }));
    assert.equal(decoded.height, 40 * out.pages);
  });

  it('when an animated WebP becomes GIF, then the animation is kept', async () => {
    const { data } = await render(store, 'webp-animated.webp', [{ type: 'Resize', width: 40 }], {
      format: 'gif',
    });
    const out = await frames(data);
    assert.equal(out.pages, 9);
    assert.equal(out.duration, 900);
    assert.equal((await sharp(data).metadata()).format, 'gif');
  });

  it('when an animated GIF becomes JPEG, or animated is false, or a page is chosen, then the output is a still', async () => {
    const still = [
      await render(store, 'gif-animated-30-frames.gif', [{ type: 'Resize', width: 40 }], { format: 'jpeg' }),
      await render(store, 'gif-animated-30-frames.gif', [{ type: 'Resize', width: 40 }], {
        format: 'webp',
        animated: false,
      }),
      await render(
        store,
        'webp-animated.webp',
        [{ type: 'Resize', width: 40 }],
        { format: 'gif' },
        { source: { page: 3 } },
      ),
    ];
    for (const { data } of still) assert.equal((await frames(data)).pages, 1);
  });

  it('when an animation is watermarked, then every frame carries the mark', async () => {
    store.seed(
      inBucket,
      'marks/red-10.png',
      await sharp({ create: { width: 10, height: 10, channels: 3, background: '#ff0000' } })
        .png()
        .toBuffer(),
    );
    const { data } = await render(
      store,
      'gif-animated-30-frames.gif',
      [{ type: 'Watermark', bucket: inBucket, key: 'marks/red-10.png', gravity: 'southeast' }],
      { format: 'webp', lossless: true },
    );
    const out = await frames(data);
    const stack = await pixelsOf(sharp(data, { animated: true }));
    for (let page = 0; page < out.pages; page++) {
      assert.deepEqual(pixelAt(stack, 75, page * 80 + 75), [255, 0, 0, 255], `frame ${page}`);
    }
  });

  it('when an animation is flipped, then that sink fails as unsupported (sharp would reverse the frames)', async () => {
    const graph = graphOf(
      'webp-animated.webp',
      [],
      [
        { ops: [{ type: 'Flip' }], format: { format: 'webp' }, key: 'anim/flipped.webp' },
        { ops: [{ type: 'Flop' }], format: { format: 'webp' }, key: 'anim/flopped.webp' },
      ],
    );
    const result = await executeGraph(graph, { stores: storesOf(store) });
    assert.deepEqual(
      result.sinks.map((s) => s.key),
      ['anim/flopped.webp'],
    );
    assert.equal(result.failures[0]?.error.code, 'unsupported_input');
    assert.match(result.failures[0].error.message, /^Flip is not supported for animated/);
  });

  it('when one branch keeps the animation and another is JPEG, then the shared stage serves both', async () => {
    const graph = graphOf(
      'gif-animated-30-frames.gif',
      [{ type: 'Resize', width: 40 }],
      [
        { format: { format: 'webp' }, key: 'anim/shared.webp' },
        { format: { format: 'jpeg' }, key: 'anim/shared.jpg' },
        { ops: [{ type: 'Blur', sigma: 1 }], format: { format: 'gif' }, key: 'anim/blurred.gif' },
      ],
    );
    const result = await executeGraph(graph, { stores: storesOf(store) });
    assert.deepEqual(result.failures, []);
    assert.ok((await frames(store.object(outBucket, 'anim/shared.webp')!.data)).pages > 1);
    assert.equal((await frames(store.object(outBucket, 'anim/shared.jpg')!.data)).pages, 1);
    assert.ok((await frames(store.object(outBucket, 'anim/blurred.gif')!.data)).pages > 1);
    assert.deepEqual(
      result.sinks.map((s) => [s.width, s.height]),
      [
        [40, 40],
        [40, 40],
        [40, 40],
      ],
    );
  });
});

describe('inputs are judged by content', () => {
  it('when the source is SVG, then it is rasterised', async () => {
    const { data } = await render(store, 'svg-simple.svg', [{ type: 'Resize', width: 50 }]);
    const meta = await sharp(data).metadata();
    assert.deepEqual([meta.format, meta.width, meta.height], ['png', 50, 50]);
    const stats = await sharp(data).stats();
    assert.ok(
      stats.channels.some((c) => c.max - c.min > 100),
      'the drawing is visible',
    );
  });

  it('when the source is a multi-page TIFF, then page 0 is used unless a page is asked for', async () => {
    const first = await render(store, 'tiff-multipage-2-pages-g3.tif', [{ type: 'Resize', width: 2000 }]);
    assert.deepEqual(
      [(await sharp(first.data).metadata()).width, (await sharp(first.data).metadata()).height],
      [2000, Math.round((3248 * 2000) / 2464)],
    );
    const second = await render(
      store,
      'tiff-multipage-2-pages-g3.tif',
      [{ type: 'Resize', width: 2000 }],
      { format: 'png' },
      { source: { page: 1 } },
    );
    // Page 1 is 1232×1624 and Resize never enlarges.
    assert.deepEqual([second.result.sinks[0]!.width, second.result.sinks[0]!.height], [1232, 1624]);
  });

  it('when a PNG is stored under a .jpg name, then it is processed as the PNG it is', async () => {
    const { data, result } = await render(store, 'wrong-extension-png-content.jpg', [{ type: 'Flip' }], {
      format: 'webp',
    });
    assert.equal((await sharp(data).metadata()).format, 'webp');
    assert.deepEqual([result.sinks[0]!.width, result.sinks[0]!.height], [32, 32]);
  });
});
