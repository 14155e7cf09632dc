/**
 * HEIC sources: decoded by libheif in WebAssembly on a worker thread, then processed like any other
 * source. Real files: the shared Apple-style grid photo and the repository's own HEIC fixtures
 * (test/fixtures/heic/MANIFEST.tsv), compared with the images they were encoded from.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import sharp from 'sharp';
import { isClassifiedError } from '../../../src/core/errors.js';
import { executeGraph, heicOffMessage } from '../../../src/core/imaging/index.js';
import {
  decodeHeic,
  estimateBytes,
  heicDecoderState,
  memoryBudgetBytes,
} from '../../../src/core/imaging/heic/heic-decoder.js';
import { MemoryStore, storesOf } from '../../support/memory-store.js';
import { fixturePath, heicFixturePath, heicFixturesDir, readManifest } from '../../support/fixtures.js';
import {
  graphOf,
  inBucket,
  meanAbsDiff,
  outBucket,
  pixelsOf,
  render,
  thumbnail,
  type Pixels,
} from './helpers.js';

const appleGrid = 'heif-hevc-4032x3024-irot-90cw.heic';
const heicManifest = readManifest(heicFixturesDir);

function heicStore(): MemoryStore {
  const store = new MemoryStore();
  for (const { file } of heicManifest) store.seed(inBucket, file, readFileSync(heicFixturePath(file)));
  store.seedFixture(inBucket, appleGrid, appleGrid);
  return store;
}

const store = heicStore();

/** The photo the HEIC fixtures were encoded from, at their stored size, as sharp would show it. */
function photo(width: number, height: number) {
  return sharp(fixturePath('jpeg-exif-orientation-1.jpg')).resize(width, height, { fit: 'fill' });
}

/** Mean chroma (max − min of R, G, B): how colourful an RGB image is; P3 read as sRGB looks duller. */
function chroma({ data, channels }: Pixels): number {
  let total = 0;
  for (let i = 0; i < data.length; i += channels) {
    const [r, g, b] = [data[i]!, data[i + 1]!, data[i + 2]!];
    total += Math.max(r, g, b) - Math.min(r, g, b);
  }
  return total / (data.length / channels);
}

async function sameAs(output: Buffer, reference: Buffer, tolerance = 6): Promise<number> {
  const diff = meanAbsDiff(await thumbnail(output), await thumbnail(reference));
  assert.ok(diff < tolerance, `mean difference ${diff.toFixed(2)} from the reference`);
  return diff;
}

describe('HEIC sources', () => {
  it('when the manifest is read, then every HEIC fixture is there with the size it lists', async () => {
    assert.ok(heicManifest.length >= 6);
    for (const entry of heicManifest) {
      const data = readFileSync(heicFixturePath(entry.file));
      assert.equal(data.length, entry.bytes, entry.file);
      const meta = await sharp(data).metadata();
      assert.equal(meta.compression, 'hevc', entry.file);
      assert.deepEqual(
        [meta.autoOrient.width, meta.autoOrient.height],
        [entry.width, entry.height],
        entry.file,
      );
    }
  });

  for (const entry of heicManifest) {
    it(`when ${entry.file} is resized to 200 px as JPEG and PNG, then both are written at its displayed size`, async () => {
      const graph = graphOf(
        entry.file,
        [{ type: 'Resize', width: 200, fit: 'inside' }],
        [
          { format: { format: 'jpeg' }, key: `${entry.file}.jpg` },
          { format: { format: 'png' }, key: `${entry.file}.png` },
        ],
      );
      const result = await executeGraph(graph, { stores: storesOf(store) });
      assert.deepEqual(result.failures, []);
      const height = Math.round((entry.height! * 200) / entry.width!);
      for (const sink of result.sinks) {
        const meta = await sharp(store.object(outBucket, sink.key)!.data).metadata();
        assert.equal(meta.width, 200);
        assert.ok(Math.abs(meta.height - height) <= 1, `${meta.height} vs ${height}`);
      }
    });
  }

  it('when a single-image HEIC is decoded, then it shows the photo it was encoded from', async () => {
    const { data } = await render(store, 'heic-single-640x427.heic', []);
    await sameAs(data, await photo(640, 427).png().toBuffer());
  });

  it('when a grid HEIC is decoded, then its tiles join into the photo', async () => {
    const { data } = await render(store, 'heic-grid-800x533.heic', []);
    await sameAs(data, await photo(800, 533).png().toBuffer());
  });

  it('when a HEIC is rotated by irot and its Exif also says Orientation 6, then it is turned once, by irot', async () => {
    const { data, result } = await render(store, 'heic-irot-exif6-480x320-shows-320x480.heic', []);
    assert.deepEqual([result.sinks[0]!.width, result.sinks[0]!.height], [320, 480]);
    await sameAs(
      data,
      await sharp(await photo(480, 320).png().toBuffer())
        .rotate(90)
        .png()
        .toBuffer(),
    );
  });

  it('when a HEIC is mirrored by imir, then the output is mirrored left-right', async () => {
    const { data } = await render(store, 'heic-imir-480x320.heic', []);
    const mirrored = await sharp(await photo(480, 320).png().toBuffer())
      .flop()
      .png()
      .toBuffer();
    const unmirrored = meanAbsDiff(
      await thumbnail(data),
      await thumbnail(await photo(480, 320).png().toBuffer()),
    );
    const diff = await sameAs(data, mirrored);
    assert.ok(diff < unmirrored / 2, `mirrored ${diff} vs as stored ${unmirrored}`);
  });

  it('when a HEIC has alpha, then PNG output keeps its transparency and JPEG output is flattened', async () => {
    const png = await pixelsOf((await render(store, 'heic-alpha-256x192.heic', [])).data);
    assert.equal(png.channels, 4);
    const reference = await pixelsOf(
      sharp(fixturePath('png-rgba-alpha.png')).resize(256, 192, { fit: 'fill' }).ensureAlpha(),
    );
    const alphaOf = (p: typeof png) => Buffer.from(p.data.filter((_, i) => i % 4 === 3));
    const alphaDiff = meanAbsDiff(alphaOf(png), alphaOf(reference));
    assert.ok(alphaDiff < 8, `alpha differs by ${alphaDiff.toFixed(2)} on average`);
    const transparent = alphaOf(png).filter((a) => a === 0).length;
    assert.ok(transparent > png.width * png.height * 0.3, `${transparent} transparent pixels`);

    const jpeg = await sharp(
      (await render(store, 'heic-alpha-256x192.heic', [], { format: 'jpeg' })).data,
    ).metadata();
    assert.equal(jpeg.channels, 3);
  });

  it('when a 10-bit HEIC carries a Display P3 profile, then the sRGB output is as colourful as the sRGB photo', async () => {
    const file = 'heic-10bit-p3-400x267.heic';
    const reference = chroma(await pixelsOf(photo(400, 267)));
    const output = chroma(await pixelsOf((await render(store, file, [])).data));
    // The same decoded pixels read as if they were sRGB (the profile dropped) come out duller.
    const decoded = await decodeHeic(readFileSync(heicFixturePath(file)), {
      pixels: 400 * 267,
      maxPixels: 100_000_000,
    });
    const dropped = chroma(await pixelsOf(sharp(decoded.tiff, { ignoreIcc: true })));
    assert.equal(decoded.bitDepth, 10);
    assert.ok(
      Math.abs(output - reference) < 1.5,
      `chroma ${output.toFixed(2)}, photo ${reference.toFixed(2)}`,
    );
    assert.ok(dropped < reference - 4, `chroma without the profile ${dropped.toFixed(2)}`);
  });

  it('when the Apple-style 12 MP grid HEIC is the source, then it is decoded off the event loop, upright', async () => {
    let turns = 0;
    let spinning = true;
    const spin = () => {
      turns++;
      if (spinning) setImmediate(spin);
    };
    setImmediate(spin);
    const { data, result } = await render(store, appleGrid, [{ type: 'Resize', width: 756 }], {
      format: 'jpeg',
    });
    spinning = false;
    assert.deepEqual([result.sinks[0]!.width, result.sinks[0]!.height], [756, 1008]);
    // A decode on the main thread would stop the loop for its whole length (seconds).
    assert.ok(turns > 100, `the event loop turned ${turns} times during the graph`);
    const meta = await sharp(data).metadata();
    assert.equal(meta.format, 'jpeg');
  });

  it('when HEIC decoding is turned off, then a HEIC source is refused as unsupported_input', async () => {
    const graph = graphOf('heic-single-640x427.heic', [], [{ format: { format: 'jpeg' }, key: 'off.jpg' }]);
    await assert.rejects(executeGraph(graph, { stores: storesOf(store), heic: false }), (error) => {
      assert.ok(isClassifiedError(error));
      assert.equal(error.code, 'unsupported_input');
      assert.ok(error.message.startsWith(heicOffMessage), error.message);
      return true;
    });
    assert.equal(store.object(outBucket, 'off.jpg'), undefined);
  });

  it('when HEIC decoding is turned off, then AVIF (AV1 in HEIF) is still decoded by sharp', async () => {
    const avif = 'avif-grid-4096x800.avif';
    store.seedFixture(inBucket, avif, avif);
    const idleBefore = heicDecoderState().idleThreads;
    const { data } = await render(
      store,
      avif,
      [{ type: 'Resize', width: 512 }],
      { format: 'jpeg' },
      {
        deps: { heic: false },
      },
    );
    assert.deepEqual(
      await sharp(data)
        .metadata()
        .then((meta) => [meta.format, meta.width, meta.height]),
      ['jpeg', 512, 100],
    );
    assert.deepEqual(heicDecoderState(), { busyThreads: 0, idleThreads: idleBefore, reservedBytes: 0 });
  });

  it('when the header is over the pixel limit, then the graph fails with too_large before any decode', async () => {
    const idleBefore = heicDecoderState().idleThreads;
    const graph = graphOf(appleGrid, [], [{ format: { format: 'jpeg' }, key: 'big.jpg' }]);
    await assert.rejects(
      executeGraph(graph, { stores: storesOf(store), maxInputPixels: 10_000_000 }),
      (error) => {
        assert.ok(isClassifiedError(error));
        assert.equal(error.code, 'too_large');
        assert.match(error.message, /3024×4032/);
        return true;
      },
    );
    assert.deepEqual(heicDecoderState(), { busyThreads: 0, idleThreads: idleBefore, reservedBytes: 0 });
  });

  for (const [name, damage] of [
    ['truncated halfway', (data: Buffer) => data.subarray(0, Math.floor(data.length / 2))],
    [
      'damaged where its coded data starts (the header reads, the decoder fails)',
      (data: Buffer) => {
        const copy = Buffer.from(data);
        const mdat = copy.indexOf('mdat');
        copy.fill(0, mdat + 4, mdat + 200);
        return copy;
      },
    ],
  ] as const) {
    it(`when a HEIC is ${name}, then the graph fails with corrupt_input and writes nothing`, async () => {
      const damaged = new MemoryStore().seed(
        inBucket,
        'damaged.heic',
        damage(readFileSync(heicFixturePath('heic-single-640x427.heic'))),
      );
      const graph = graphOf('damaged.heic', [], [{ format: { format: 'jpeg' }, key: 'damaged.jpg' }]);
      await assert.rejects(executeGraph(graph, { stores: storesOf(damaged) }), (error) => {
        assert.ok(isClassifiedError(error), String(error));
        assert.equal(error.code, 'corrupt_input', error.message);
        assert.equal(error.unit, '/transformUnits/0');
        return true;
      });
      assert.deepEqual(damaged.keys(outBucket), []);
    });
  }

  it('when a Watermark is a HEIC with alpha, then it is decoded and drawn; with HEIC off, only that sink fails', async () => {
    const watermark = {
      type: 'Watermark' as const,
      bucket: inBucket,
      key: 'heic-alpha-256x192.heic',
      gravity: 'northwest' as const,
    };
    const graph = graphOf(
      'heic-single-640x427.heic',
      [watermark],
      [{ format: { format: 'png' }, key: 'marked.png' }],
    );
    const result = await executeGraph(graph, { stores: storesOf(store) });
    assert.deepEqual(result.failures, []);
    const underMark = (png: Buffer) =>
      sharp(png).removeAlpha().extract({ left: 0, top: 0, width: 256, height: 192 }).raw().toBuffer();
    const plainPng = (await render(store, 'heic-single-640x427.heic', [])).data;
    const mark = await decodeHeic(readFileSync(heicFixturePath(watermark.key)), {
      pixels: 256 * 192,
      maxPixels: 100_000_000,
    });
    const expected = await sharp(plainPng)
      .composite([{ input: mark.tiff, gravity: 'northwest' }])
      .png()
      .toBuffer();
    const marked = await underMark(store.object(outBucket, 'marked.png')!.data);
    const changed = meanAbsDiff(marked, await underMark(plainPng));
    const fromMark = meanAbsDiff(marked, await underMark(expected));
    assert.ok(
      changed > 1 && fromMark < changed / 4,
      `changed by ${changed}, ${fromMark} from the mark drawn by hand`,
    );

    const off = await executeGraph(
      graphOf('heic-single-640x427.heic', [watermark], [{ format: { format: 'png' }, key: 'off.png' }]),
      {
        stores: storesOf(store),
        heic: false,
      },
    ).catch((error: unknown) => error);
    assert.ok(isClassifiedError(off), 'with HEIC off, the HEIC source itself is refused first');
    const jpegSource = new MemoryStore().seedFixture(inBucket, 'photo.jpg', 'jpeg-exif-orientation-1.jpg');
    jpegSource.seed(inBucket, watermark.key, readFileSync(heicFixturePath(watermark.key)));
    const refused = await executeGraph(
      graphOf('photo.jpg', [watermark], [{ format: { format: 'png' }, key: 'w.png' }]),
      {
        stores: storesOf(jpegSource),
        heic: false,
      },
    );
    assert.deepEqual(refused.sinks, []);
    assert.equal(refused.failures[0]!.error.code, 'unsupported_input');
    assert.equal(refused.failures[0]!.error.unit, '/transformUnits/1');
  });

  it('when decodes together would pass the memory budget, then they run one after another, and a lone one always runs', async () => {
    const data = readFileSync(heicFixturePath('heic-single-640x427.heic'));
    // The estimate follows the header's pixel count: 50 MP claims put two decodes over the budget.
    const decode = (pixels: number) => decodeHeic(data, { pixels, maxPixels: 200_000_000 });
    const large = estimateBytes(50_000_000, data.length);
    assert.ok(large <= memoryBudgetBytes && 2 * large > memoryBudgetBytes);

    let mostBusy = 0;
    let mostReserved = 0;
    let watching = true;
    const watch = () => {
      const state = heicDecoderState();
      mostBusy = Math.max(mostBusy, state.busyThreads);
      mostReserved = Math.max(mostReserved, state.reservedBytes);
      if (watching) setImmediate(watch);
    };
    const queued = [decode(50_000_000), decode(50_000_000), decode(50_000_000)];
    // Reserved on the call itself: the first decode holds its estimate, the other two wait for it.
    assert.equal(heicDecoderState().reservedBytes, large);
    watch();
    const images = await Promise.all(queued);
    watching = false;
    assert.deepEqual(
      images.map((image) => [image.width, image.height]),
      [
        [640, 427],
        [640, 427],
        [640, 427],
      ],
    );
    assert.equal(mostBusy, 1);
    assert.equal(mostReserved, large);

    // Small decodes share the budget and start together.
    const small = estimateBytes(640 * 427, data.length);
    const together = [decode(640 * 427), decode(640 * 427), decode(640 * 427)];
    assert.equal(heicDecoderState().reservedBytes, 3 * small);
    await Promise.all(together);

    // One decode whose estimate alone is over the budget still runs: nothing else could free memory for it.
    const alone = await decode(100_000_000);
    assert.deepEqual([alone.width, alone.height], [640, 427]);
    assert.equal(heicDecoderState().reservedBytes, 0);
  });

  it('when the run is cancelled during a decode, then the decode stops and its thread is ended', async () => {
    const controller = new AbortController();
    const idleBefore = heicDecoderState().idleThreads;
    const decoding = decodeHeic(readFileSync(fixturePath(appleGrid)), {
      pixels: 4032 * 3024,
      maxPixels: 100_000_000,
      signal: controller.signal,
    });
    setImmediate(() => controller.abort(new Error('cancelled')));
    await assert.rejects(decoding, /cancelled/);
    // The thread that was decoding is ended, not kept for the next decode.
    const after = heicDecoderState();
    assert.deepEqual([after.busyThreads, after.reservedBytes], [0, 0]);
    assert.ok(after.idleThreads <= idleBefore, `${after.idleThreads} idle threads, ${idleBefore} before`);
  });
});
