/**
 * Engine throughput against raw sharp on identical work (docs/architecture.md §14), measured in one run:
 * - three outputs per photo (1600 px WebP, 800 px WebP, 320×320 cover JPEG): a hand-written sharp
 *   pipeline vs executeGraph over a local-directory store;
 * - a chain that needs two stages (resize → greyscale → resize): sharp doing the same two passes by hand
 *   vs executeGraph.
 * Both sides read the source file and write every output file. The store root defaults to tmpfs
 * (/dev/shm) so that the ratio measures the engine rather than the disk's fsync (the local store syncs
 * each write; BENCH_ROOT overrides). A third contender runs the engine over an in-memory store, which
 * separates the engine's own cost from the local store's (temp file, fsync, sidecar, rename per write).
 *
 * Last, HEIC decoding (libheif/libde265 in WebAssembly, on a worker thread) against sharp's JPEG decoder:
 * milliseconds per megapixel for the 12 MP Apple-style grid photo and the 9.1 MP phone JPEG, each decoded
 * to full-size pixels, and the peak resident memory of the process while HEIC decodes run.
 *
 * And the memory of big sources: a worker's peak resident memory while it runs the three-output graph on
 * a 108 MB uncompressed TIFF and on one of 763 MiB (the 800 MiB source limit at the 100 MP pixel limit),
 * each made at bench time in a temp folder (BENCH_BIG_SOURCES=0 skips them).
 */
import { copyFile, mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import { existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import type { TransformGraph } from '../src/core/graph/index.js';
import { executeGraph } from '../src/core/imaging/index.js';
import { decodeHeic } from '../src/core/imaging/heic/heic-decoder.js';
import { LocalObjectStore } from '../src/core/storage/local-store.js';
import { fixturePath } from '../test/support/fixtures.js';
import { photoFixtures } from '../test/support/graphs.js';
import { threeOutputs as threeOutputGraph } from './engine-graphs.js';
import { MemoryStore } from '../test/support/memory-store.js';
import {
  describeMachine,
  interleaved,
  printTable,
  round3,
  sampleRss,
  writeResult,
  type Contender,
} from './lib.js';

/** The photo fixtures: baseline, large phone, EXIF orientation 1, progressive, and a PNG with alpha. */
const photos = photoFixtures;

const execFileAsync = promisify(execFile);

const inputBucket = 'bench-in';
const outputBucket = 'bench-out';

const threeOutputs = (key: string) => threeOutputGraph(inputBucket, key, outputBucket);

function twoStages(key: string): TransformGraph {
  return {
    transformUnits: [
      { type: 'StorageSource', bucket: inputBucket, key },
      { type: 'Resize', width: 1600, fit: 'inside' },
      { type: 'Grayscale' },
      { type: 'Resize', width: 800, fit: 'inside' },
      { type: 'ImageFormat', format: 'webp' },
      { type: 'StorageSink', bucket: outputBucket, key: `engine/${key}-grey.webp` },
    ],
  };
}

export async function run(): Promise<void> {
  // BENCH_ENGINE_PART=heic: only the HEIC decode cost, in a fresh process (its memory figures are then
  // the decode's own, not on top of the throughput rounds'), written to engine-heic.json.
  if (process.env.BENCH_ENGINE_PART === 'heic') {
    const heic = await heicDecodeCost(heicRounds());
    const file = await writeResult('engine-heic', { heic, machine: describeMachine() });
    printHeicCost(heic);
    console.log(`written to ${path.relative(process.cwd(), file)}`);
    return;
  }
  const concurrency = Number(process.env.BENCH_SHARP_CONCURRENCY ?? os.availableParallelism());
  sharp.concurrency(concurrency); // the same for both contenders
  const rounds = Number(process.env.BENCH_ROUNDS ?? 12);
  const base = process.env.BENCH_ROOT ?? (existsSync('/dev/shm') ? '/dev/shm' : os.tmpdir());
  const root = await mkdtemp(path.join(base, 'pixelshift-bench-'));
  try {
    await mkdir(path.join(root, inputBucket), { recursive: true });
    await mkdir(path.join(root, 'raw-out'), { recursive: true });
    for (const photo of photos) await copyFile(fixturePath(photo), path.join(root, inputBucket, photo));
    const store = new LocalObjectStore(root);
    const stores = { get: () => store };
    const memory = new MemoryStore();
    for (const photo of photos) memory.seedFixture(inputBucket, photo, photo);
    const memoryStores = { get: () => memory };
    const rawOut = (name: string) => path.join(root, 'raw-out', name);

    // The best hand-written pipeline for the same work: one decode per output (shrink-on-load), all
    // three in flight at once, never enlarging (as the engine's Resize).
    const raw: Contender = {
      name: 'raw sharp',
      async runItem(index) {
        const photo = photos[index]!;
        const input = await readFile(path.join(root, inputBucket, photo));
        await Promise.all([
          sharp(input)
            .autoOrient()
            .resize({ width: 1600, fit: 'inside', withoutEnlargement: true })
            .webp()
            .toBuffer()
            .then((data) => writeFile(rawOut(`${photo}-1600.webp`), data)),
          sharp(input)
            .autoOrient()
            .resize({ width: 800, fit: 'inside', withoutEnlargement: true })
            .webp()
            .toBuffer()
            .then((data) => writeFile(rawOut(`${photo}-800.webp`), data)),
          sharp(input)
            .autoOrient()
            .resize({ width: 320, height: 320, fit: 'cover' })
            .jpeg()
            .toBuffer()
            .then((data) => writeFile(rawOut(`${photo}-320.jpg`), data)),
        ]);
      },
    };
    const engine: Contender = {
      name: 'engine',
      async runItem(index) {
        await executeGraph(threeOutputs(photos[index]!), { stores });
      },
    };
    const engineInMemory: Contender = {
      name: 'engine, in-memory store',
      async runItem(index) {
        await executeGraph(threeOutputs(photos[index]!), { stores: memoryStores });
      },
    };
    const rawTwo: Contender = {
      name: 'raw sharp, two passes',
      async runItem(index) {
        const photo = photos[index]!;
        const input = await readFile(path.join(root, inputBucket, photo));
        const first = await sharp(input)
          .autoOrient()
          .resize({ width: 1600, fit: 'inside', withoutEnlargement: true })
          .raw()
          .toBuffer({ resolveWithObject: true });
        const { width, height, channels } = first.info;
        const data = await sharp(first.data, { raw: { width, height, channels } })
          .greyscale()
          .resize({ width: 800, fit: 'inside', withoutEnlargement: true })
          .webp()
          .toBuffer();
        await writeFile(rawOut(`${photo}-grey.webp`), data);
      },
    };
    const engineTwo: Contender = {
      name: 'engine, two stages',
      async runItem(index) {
        await executeGraph(twoStages(photos[index]!), { stores });
      },
    };

    const engineTwoInMemory: Contender = {
      name: 'engine, two stages, in-memory store',
      async runItem(index) {
        await executeGraph(twoStages(photos[index]!), { stores: memoryStores });
      },
    };

    const schedule = { items: photos.length, rounds, warmup: 1 };
    const sampler = sampleRss(50);
    const three = await interleaved([raw, engine, engineInMemory], schedule);
    const two = await interleaved([rawTwo, engineTwo, engineTwoInMemory], schedule);
    const peakRssMb = sampler.stop();

    const result = {
      rawImagesPerSec: three['raw sharp']!.imagesPerSec,
      engineImagesPerSec: three.engine!.imagesPerSec,
      ratio: round3(three.engine!.imagesPerSec / three['raw sharp']!.imagesPerSec),
      twoStageRatio: round3(
        two['engine, two stages']!.imagesPerSec / two['raw sharp, two passes']!.imagesPerSec,
      ),
      peakRssMb,
      machine: describeMachine(),
      details: {
        photos,
        rounds,
        storeRoot: base,
        inMemoryStoreRatio: round3(
          three['engine, in-memory store']!.imagesPerSec / three['raw sharp']!.imagesPerSec,
        ),
        inMemoryStoreTwoStageRatio: round3(
          two['engine, two stages, in-memory store']!.imagesPerSec /
            two['raw sharp, two passes']!.imagesPerSec,
        ),
        perRound: { ...three, ...two },
      },
    };
    const heic = await heicDecodeCost(heicRounds());
    const bigSources = process.env.BENCH_BIG_SOURCES === '0' ? [] : await bigSourceMemory();
    const file = await writeResult('engine', { ...result, heic, bigSources });
    printTable([
      ['work', 'raw sharp img/s', 'engine img/s', 'engine ÷ raw', 'engine (memory store) ÷ raw'],
      [
        '3 outputs',
        result.rawImagesPerSec,
        result.engineImagesPerSec,
        result.ratio,
        result.details.inMemoryStoreRatio,
      ],
      [
        '2 stages',
        two['raw sharp, two passes']!.imagesPerSec,
        two['engine, two stages']!.imagesPerSec,
        result.twoStageRatio,
        result.details.inMemoryStoreTwoStageRatio,
      ],
    ]);
    console.log(
      `peak RSS ${peakRssMb} MB; ${result.machine.cpuCount}× ${result.machine.cpuModel}, node ${result.machine.node}, ` +
        `sharp ${result.machine.sharp} / libvips ${result.machine.libvips}, sharp.concurrency ${concurrency}`,
    );
    printHeicCost(heic);
    if (bigSources.length > 0) {
      printTable([
        ['big source (uncompressed TIFF)', 'MB', 'megapixels', 'worker RSS before MB', 'peak RSS MB', 'ms'],
        ...bigSources.map((row) => [
          row.name,
          row.sourceMb,
          row.megapixels,
          row.baselineRssMb,
          row.peakRssMb,
          row.ms,
        ]),
      ]);
    }
    console.log(
      `load average 1/5/15 min at the end: ${os
        .loadavg()
        .map((l) => l.toFixed(2))
        .join(' ')}`,
    );
    console.log(`written to ${path.relative(process.cwd(), file)}`);
  } finally {
    await rm(root, { recursive: true, force: true });
  }
}

const heicRounds = () => Number(process.env.BENCH_HEIC_ROUNDS ?? 3);

function printHeicCost(heic: Awaited<ReturnType<typeof heicDecodeCost>>): void {
  printTable([
    ['decode to pixels', 'megapixels', 'ms per image', 'ms per MP'],
    ...heic.rows.map((row) => [row.name, row.megapixels, row.msPerImage, row.msPerMegapixel]),
  ]);
  console.log(
    `HEIC ÷ JPEG per megapixel ${heic.heicToJpegPerMegapixel}; peak RSS while decoding HEIC ${heic.peakRssMb} MB ` +
      `(${heic.baselineRssMb} MB before), decoder WebAssembly memory ${heic.decoderHeapMb} MB`,
  );
}

const heicPhoto = 'heif-hevc-4032x3024-irot-90cw.heic';
const jpegPhoto = 'jpeg-large-4608x1976-phone.jpg';

/** HEIC against JPEG decode cost, per megapixel, in one run (the decoder thread is warmed up first). */
async function heicDecodeCost(rounds: number) {
  const heicData = await readFile(fixturePath(heicPhoto));
  const jpegData = await readFile(fixturePath(jpegPhoto));
  const heicMp = (4032 * 3024) / 1e6;
  const jpegMp = (4608 * 1976) / 1e6;
  let decoderHeapBytes = 0;
  const baselineRssMb = Math.round(process.memoryUsage().rss / 1024 / 1024);
  const sampler = sampleRss(20);
  const timings = await interleaved(
    [
      {
        name: 'HEIC',
        async runItem() {
          const image = await decodeHeic(heicData, { pixels: 4032 * 3024, maxPixels: 100_000_000 });
          decoderHeapBytes = Math.max(decoderHeapBytes, image.decoderHeapBytes);
        },
      },
      {
        name: 'JPEG',
        async runItem() {
          await sharp(jpegData).raw().toBuffer();
        },
      },
    ],
    { items: 1, rounds, warmup: 1 },
  );
  const peakRssMb = sampler.stop();
  const row = (name: string, file: string, megapixels: number) => {
    const msPerImage = 1000 / timings[name]!.imagesPerSec;
    return {
      name: `${name} (${file})`,
      megapixels: round3(megapixels),
      msPerImage: Math.round(msPerImage),
      msPerMegapixel: Math.round(msPerImage / megapixels),
    };
  };
  const rows = [row('HEIC', heicPhoto, heicMp), row('JPEG', jpegPhoto, jpegMp)];
  return {
    rows,
    heicToJpegPerMegapixel: round3(
      1000 / timings.HEIC!.imagesPerSec / heicMp / (1000 / timings.JPEG!.imagesPerSec / jpegMp),
    ),
    rounds,
    baselineRssMb,
    peakRssMb,
    decoderHeapMb: Math.round(decoderHeapBytes / 1024 / 1024),
  };
}

/**
 * Peak resident memory of a worker processing big sources: uncompressed TIFFs stretched from a fixture
 * photo, written at bench time to a temp folder on disk (never committed) and deleted afterwards. Each
 * source is made and processed in a child process of its own (bench/big-source-child.ts), which runs the
 * three-output graph through a local-directory store as the imaging activity does and reports the
 * kernel's high-water mark of its resident memory.
 */
async function bigSourceMemory() {
  const child = path.join(path.dirname(fileURLToPath(import.meta.url)), 'big-source-child.ts');
  const node = (args: string[]) =>
    execFileAsync(process.execPath, ['--import', 'tsx', child, ...args], { maxBuffer: 1 << 20 });
  const root = await mkdtemp(path.join(os.tmpdir(), 'pixelshift-big-source-'));
  const sources = [
    // 108 MB: 8-bit RGB, 36 MP.
    { name: '6000×6000 RGB 8-bit', key: 'rgb-6000.tif', width: 6000, height: 6000, kind: 'rgb' },
    // 800 000 000 bytes of pixels (763 MiB, under the 800 MiB source limit) at exactly the 100 MP pixel limit.
    { name: '10000×10000 RGBA 16-bit', key: 'rgba16-10000.tif', width: 10000, height: 10000, kind: 'rgb16a' },
  ];
  try {
    await mkdir(path.join(root, 'big'), { recursive: true });
    const rows = [];
    for (const source of sources) {
      const file = path.join(root, 'big', source.key);
      await node([
        'make',
        fixturePath('jpeg-baseline-photo-2725x2225.jpg'),
        file,
        String(source.width),
        String(source.height),
        source.kind,
      ]);
      const { stdout } = await node(['run', root, 'big', source.key]);
      const measured = JSON.parse(stdout.trim().split('\n').pop()!) as {
        baselineRssMb: number;
        peakRssMb: number;
        ms: number;
        sourceBytes: number;
        sourcePixels: number;
      };
      rows.push({
        name: source.name,
        sourceMb: Math.round((await stat(file)).size / 1024 / 1024),
        megapixels: round3(measured.sourcePixels / 1e6),
        baselineRssMb: measured.baselineRssMb,
        peakRssMb: measured.peakRssMb,
        ms: measured.ms,
      });
      await rm(file);
    }
    return rows;
  } finally {
    await rm(root, { recursive: true, force: true });
  }
}
