/** Every output format and option of docs/architecture.md §4, and the metadata policy, checked on the written bytes. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import sharp from 'sharp';
import type { Operation } from '../../../src/core/graph/index.js';
import { executeGraph } from '../../../src/core/imaging/index.js';
import { storesOf } from '../../support/memory-store.js';
import { fixtureStore, graphOf, outBucket, pixelsOf, render, type FormatSpec } from './helpers.js';

const store = fixtureStore();
const photo = 'jpeg-baseline-photo-2725x2225.jpg';
const small: Operation[] = [{ type: 'Resize', width: 160 }];

async function encode(format: FormatSpec, file = photo, ops = small): Promise<Buffer> {
  return (await render(store, file, ops, format)).data;
}

/** RIFF chunk of a WebP: 'VP8 ' is lossy, 'VP8L' lossless (possibly behind a 'VP8X' header). */
function webpCodec(data: Buffer): string {
  const text = data.toString('latin1', 0, Math.min(data.length, 4096));
  return text.includes('VP8L') ? 'lossless' : text.includes('VP8 ') ? 'lossy' : 'unknown';
}

describe('JPEG', () => {
  it('when quality drops, then the file shrinks', async () => {
    const low = await encode({ format: 'jpeg', quality: 30 });
    const high = await encode({ format: 'jpeg', quality: 95 });
    assert.ok(low.length < high.length * 0.6, `${low.length} vs ${high.length}`);
  });

  it('when progressive is asked, then the file is progressive; baseline otherwise', async () => {
    assert.equal(
      (await sharp(await encode({ format: 'jpeg', progressive: true })).metadata()).isProgressive,
      true,
    );
    assert.equal((await sharp(await encode({ format: 'jpeg' })).metadata()).isProgressive, false);
  });

  it('when mozjpeg is asked, then the file is progressive and smaller than the plain encoder’s', async () => {
    const plain = await encode({ format: 'jpeg', quality: 80 });
    const moz = await encode({ format: 'jpeg', quality: 80, mozjpeg: true });
    assert.equal((await sharp(moz).metadata()).isProgressive, true);
    assert.ok(moz.length < plain.length, `${moz.length} vs ${plain.length}`);
  });

  it('when chroma subsampling 4:4:4 is asked, then chroma is kept at full resolution', async () => {
    assert.equal(
      (await sharp(await encode({ format: 'jpeg', chromaSubsampling: '4:4:4' })).metadata())
        .chromaSubsampling,
      '4:4:4',
    );
    assert.equal((await sharp(await encode({ format: 'jpeg' })).metadata()).chromaSubsampling, '4:2:0');
  });
});

describe('PNG', () => {
  it('when palette is asked, then the PNG is indexed with at most the asked colours', async () => {
    const data = await encode({ format: 'png', palette: true, colors: 16 });
    const meta = await sharp(data).metadata();
    assert.equal(meta.isPalette, true);
    const pixels = await pixelsOf(sharp(data));
    const colours = new Set<string>();
    for (let i = 0; i < pixels.data.length; i += pixels.channels) {
      colours.add(pixels.data.subarray(i, i + pixels.channels).toString('hex'));
    }
    assert.ok(colours.size <= 16, String(colours.size));
  });

  it('when the compression level rises, then the file shrinks and the pixels stay the same', async () => {
    const fast = await encode({ format: 'png', compressionLevel: 0 });
    const best = await encode({ format: 'png', compressionLevel: 9 });
    assert.ok(best.length < fast.length, `${best.length} vs ${fast.length}`);
    assert.deepEqual((await pixelsOf(sharp(best))).data, (await pixelsOf(sharp(fast))).data);
  });
});

describe('WebP', () => {
  const lossless = 'png-palette-8bit.png';

  it('when lossless is asked, then the pixels survive exactly', async () => {
    const data = await encode({ format: 'webp', lossless: true }, lossless, [{ type: 'Flip' }]);
    assert.equal(webpCodec(data), 'lossless');
    const reference = await encode({ format: 'png' }, lossless, [{ type: 'Flip' }]);
    assert.deepEqual((await pixelsOf(sharp(data))).data, (await pixelsOf(sharp(reference))).data);
  });

  it('when near-lossless is asked, then the lossless codec is used with close pixels', async () => {
    const data = await encode({ format: 'webp', nearLossless: true, quality: 60 });
    assert.equal(webpCodec(data), 'lossless');
    assert.equal(webpCodec(await encode({ format: 'webp', quality: 60 })), 'lossy');
  });

  it('when effort changes, then both encodes are valid WebP of the same size', async () => {
    for (const effort of [0, 6]) {
      const meta = await sharp(await encode({ format: 'webp', effort, quality: 70 })).metadata();
      assert.deepEqual([meta.format, meta.width], ['webp', 160]);
    }
  });
});

describe('AVIF', () => {
  const tiny: Operation[] = [{ type: 'Resize', width: 64 }];

  it('when quality drops, then the file shrinks', async () => {
    const low = await encode({ format: 'avif', quality: 20, effort: 0 }, photo, tiny);
    const high = await encode({ format: 'avif', quality: 90, effort: 0 }, photo, tiny);
    assert.equal((await sharp(low).metadata()).format, 'heif');
    assert.equal((await sharp(low).metadata()).compression, 'av1');
    assert.ok(low.length < high.length, `${low.length} vs ${high.length}`);
  });

  it('when lossless is asked, then the pixels survive exactly', async () => {
    const ops: Operation[] = [{ type: 'Resize', width: 32 }];
    const data = await encode({ format: 'avif', lossless: true, effort: 0 }, 'png-palette-8bit.png', ops);
    const reference = await encode({ format: 'png' }, 'png-palette-8bit.png', ops);
    assert.deepEqual(
      (await pixelsOf(sharp(data).removeAlpha())).data,
      (await pixelsOf(sharp(reference).removeAlpha())).data,
    );
  });

  it('when effort changes, then both encodes are valid AVIF and the result reports avif', async () => {
    for (const effort of [0, 4]) {
      const { data, result } = await render(store, photo, tiny, { format: 'avif', effort });
      assert.equal((await sharp(data).metadata()).compression, 'av1');
      assert.equal(result.sinks[0]?.format, 'avif');
    }
  });
});

describe('TIFF and GIF', () => {
  it('when TIFF compression is chosen, then uncompressed is the largest and all decode to the same size', async () => {
    const sizes: Record<string, number> = {};
    for (const compression of ['none', 'lzw', 'deflate', 'jpeg'] as const) {
      const data = await encode({ format: 'tiff', compression, quality: 80 });
      const meta = await sharp(data).metadata();
      assert.deepEqual([meta.format, meta.width], ['tiff', 160]);
      sizes[compression] = data.length;
    }
    assert.ok(
      sizes.none! > sizes.deflate! && sizes.none! > sizes.lzw! && sizes.none! > sizes.jpeg!,
      JSON.stringify(sizes),
    );
  });

  it('when GIF is asked with few colours, then the palette is that small', async () => {
    const data = await encode({ format: 'gif', colors: 4, effort: 1 });
    assert.equal((await sharp(data).metadata()).format, 'gif');
    const pixels = await pixelsOf(sharp(data).removeAlpha());
    const colours = new Set<string>();
    for (let i = 0; i < pixels.data.length; i += pixels.channels)
      colours.add(pixels.data.subarray(i, i + 3).toString('hex'));
    assert.ok(colours.size <= 4, String(colours.size));
  });
});

describe('metadata policy', () => {
  // The phone photo carries camera EXIF; the progressive one an sRGB profile and XMP.
  const camera = 'jpeg-large-4608x1976-phone.jpg';

  it('when the policy is strip (the default), then neither EXIF nor ICC is written', async () => {
    for (const file of [camera, 'jpeg-progressive-srgb-icc.jpg', 'jpeg-icc-adobe-rgb.jpg']) {
      const meta = await sharp(await encode({ format: 'jpeg' }, file)).metadata();
      assert.equal(meta.exif, undefined, file);
      assert.equal(meta.icc, undefined, file);
      assert.equal(meta.xmp, undefined, file);
    }
  });

  it('when the policy is keepIcc, then an sRGB profile is written and EXIF is not', async () => {
    const meta = await sharp(
      await encode({ format: 'jpeg', metadata: 'keepIcc' }, 'jpeg-icc-adobe-rgb.jpg'),
    ).metadata();
    assert.ok(meta.icc);
    assert.equal(meta.exif, undefined);
    assert.equal(meta.space, 'srgb');
    // The profile describes the (converted) pixels: sRGB, not the source's Adobe RGB.
    const description = meta.icc.toString('latin1').replace(/\0/g, ''); // ICC v4 text is UTF-16
    assert.match(description, /sRGB/);
    assert.doesNotMatch(description, /Adobe|A98/);
  });

  it('when the policy is keepAll, then the camera EXIF is kept, without an orientation to re-apply', async () => {
    const meta = await sharp(await encode({ format: 'jpeg', metadata: 'keepAll' }, camera)).metadata();
    assert.ok(meta.exif && meta.exif.toString('latin1').includes('HMD'), 'camera make survives');
    assert.ok(meta.icc);
    assert.ok(meta.orientation === undefined || meta.orientation === 1);
    const rotated = await sharp(
      await encode({ format: 'png', metadata: 'keepAll' }, 'jpeg-exif-orientation-6.jpg'),
    ).metadata();
    assert.ok(rotated.orientation === undefined || rotated.orientation === 1);
  });
});

describe('sinks', () => {
  it('when a sink gives no content type, then the format’s MIME type is used; cache control and metadata pass through', async () => {
    const graph = graphOf(photo, small, [
      { format: { format: 'webp' }, key: 'sinks/a.webp' },
      { format: { format: 'avif', effort: 0 }, key: 'sinks/a.avif' },
    ]);
    const units = graph.outputs![0]!.transformUnits;
    units[units.length - 1] = {
      type: 'StorageSink',
      bucket: outBucket,
      key: 'sinks/a.webp',
      contentType: 'image/x-custom',
      cacheControl: 'public, max-age=60',
      metadata: { origin: 'test', 'pixelshift-generated': 'forged', 'pixelshift-graph-hash': 'forged' },
    };
    await executeGraph(graph, { stores: storesOf(store), sinkMetadata: { 'pixelshift-generated': '1' } });
    const custom = store.object(outBucket, 'sinks/a.webp')!;
    assert.equal(custom.contentType, 'image/x-custom');
    assert.equal(custom.cacheControl, 'public, max-age=60');
    const { origin, 'pixelshift-generated': generated, 'pixelshift-graph-hash': hash } = custom.metadata;
    assert.deepEqual([origin, generated], ['test', '1'], 'the engine’s marker wins');
    assert.match(hash ?? '', /^[0-9a-f]{64}$/, 'and so does its provenance');
    const avif = store.object(outBucket, 'sinks/a.avif')!;
    assert.equal(avif.contentType, 'image/avif');
    assert.deepEqual(Object.keys(avif.metadata).sort(), [
      'pixelshift-engine',
      'pixelshift-generated',
      'pixelshift-graph-hash',
      'pixelshift-source-etag',
    ]);
  });
});
