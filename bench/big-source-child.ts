/**
 * Child process of `npm run bench -- engine` for the memory of big sources: runs one three-output graph
 * (the engine bench's) on `<root>/<bucket>/<key>` through a local-directory store, as the worker's imaging
 * activity does, and prints one JSON line: the process's resident memory before the run and its peak
 * (the kernel's high-water mark, VmHWM in /proc/self/status, so no short spike is missed by sampling).
 * A process of its own so that neither the source's generation nor other rounds count against the peak.
 * With `make`, it writes such a source instead (also apart, for the same reason).
 */
import { readFileSync } from 'node:fs';
import sharp from 'sharp';
import { executeGraph } from '../src/core/imaging/index.js';
import { LocalObjectStore } from '../src/core/storage/local-store.js';
import { threeOutputs } from './engine-graphs.js';

const [mode, ...args] = process.argv.slice(2);
if (mode === 'make') {
  // make <from> <file> <width> <height> <rgb|rgb16a>: an uncompressed TIFF stretched from a fixture.
  const [from, file, width, height, kind] = args;
  let image = sharp(from).resize(Number(width), Number(height), { fit: 'fill' });
  if (kind === 'rgb16a') image = image.ensureAlpha().toColourspace('rgb16');
  await image.tiff({ compression: 'none' }).toFile(file!);
  process.exit(0);
}
const [root, bucket, key] = args;
if (mode !== 'run' || !root || !bucket || !key)
  throw new Error('usage: big-source-child.ts make <from> <file> <w> <h> <kind> | run <root> <bucket> <key>');

const statusMb = (field: 'VmRSS' | 'VmHWM') => {
  const line = readFileSync('/proc/self/status', 'utf8')
    .split('\n')
    .find((l) => l.startsWith(`${field}:`));
  return Math.round(Number(line?.split(/\s+/)[1]) / 1024);
};

const store = new LocalObjectStore(root);
const baselineRssMb = statusMb('VmRSS');
const started = performance.now();
const result = await executeGraph(threeOutputs(bucket, key, 'bench-out'), { stores: { get: () => store } });
const ms = Math.round(performance.now() - started);
if (result.failures.length > 0) throw new Error(`sinks failed: ${JSON.stringify(result.failures)}`);
console.log(
  JSON.stringify({
    baselineRssMb,
    peakRssMb: statusMb('VmHWM'),
    ms,
    sourceBytes: result.sourceBytes,
    sourcePixels: result.sourcePixels,
  }),
);
