/**
 * HEIC (HEVC-coded HEIF) decoding off the event loop, with bounded memory.
 *
 * - Each decode runs in a worker thread (heic-worker.ts), so heartbeats and other graphs keep flowing
 *   during a decode that takes seconds (libde265 in WebAssembly decodes on one core).
 * - Memory: the caller checks the pixel limit on the header first; then each decode reserves an estimate
 *   of what it will hold (`estimateBytes`) from a process-wide budget and waits while the budget is spent,
 *   except that a lone decode always runs. A thread whose WebAssembly memory grew past
 *   `retainedHeapBytes` is ended after its decode (that memory is never returned), and idle threads end
 *   after `idleMs`.
 * - Cancellation ends the thread at once.
 */
import { Worker } from 'node:worker_threads';
import sharp from 'sharp';
import type { DecodeReply, DecodeRequest } from './protocol.js';

export interface HeicImage {
  /** Uncompressed TIFF: upright 8-bit RGB(A) with the image's ICC profile, ready for sharp. */
  tiff: Buffer;
  width: number;
  height: number;
  hasAlpha: boolean;
  bitDepth: number;
  /** Size of the decoding thread's WebAssembly memory afterwards (its peak). */
  decoderHeapBytes: number;
}

export type HeicFailureKind = 'corrupt' | 'unsupported' | 'too_large' | 'memory';

export class HeicDecodeError extends Error {
  override readonly name = 'HeicDecodeError';
  constructor(
    readonly kind: HeicFailureKind,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

export interface HeicDecodeOptions {
  /** Top-level image to decode instead of the primary one. */
  page?: number;
  /** Pixels of the image per the header (already checked against the limit), for the memory estimate. */
  pixels: number;
  maxPixels: number;
  signal?: AbortSignal;
}

/** Estimated decoder memory across concurrent decodes. */
export const memoryBudgetBytes = 1024 * 1024 * 1024;
/** A thread whose WebAssembly memory is larger than this after a decode is ended rather than kept. */
const retainedHeapBytes = 256 * 1024 * 1024;
const idleMs = 30_000;

/**
 * What one decode holds at its peak: measured 9 bytes per pixel for a 12 MP grid HEIC (decoded YCbCr
 * tiles and RGB in WebAssembly memory, then the TIFF copy), rounded up; plus copies of the file.
 */
export function estimateBytes(pixels: number, fileBytes: number): number {
  return pixels * 12 + fileBytes * 3;
}

// ------------------------------------------------------------------ the memory budget

let reserved = 0;
let running = 0;
const waiting: { bytes: number; grant: () => void }[] = [];

function grantWaiting(): void {
  while (waiting.length > 0) {
    const next = waiting[0]!;
    if (running > 0 && reserved + next.bytes > memoryBudgetBytes) return;
    waiting.shift();
    reserved += next.bytes;
    running++;
    next.grant();
  }
}

async function reserve(bytes: number, signal: AbortSignal | undefined): Promise<() => void> {
  signal?.throwIfAborted();
  let released = false;
  const release = () => {
    if (released) return;
    released = true;
    reserved -= bytes;
    running--;
    grantWaiting();
  };
  if (waiting.length === 0 && (running === 0 || reserved + bytes <= memoryBudgetBytes)) {
    reserved += bytes;
    running++;
    return release;
  }
  await new Promise<void>((resolve, reject) => {
    const entry = {
      bytes,
      grant: () => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      },
    };
    const onAbort = () => {
      waiting.splice(waiting.indexOf(entry), 1);
      reject(abortReason(signal));
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    waiting.push(entry);
  });
  return release;
}

// ------------------------------------------------------------------ the threads

const idle: { worker: Worker; timer: NodeJS.Timeout }[] = [];
let busy = 0;

function startWorker(): Worker {
  const here = import.meta.url;
  if (!here.endsWith('.ts')) return new Worker(new URL('./heic-worker.js', here));
  // Running from TypeScript sources (tests, `bin/pixelshift.js`): the thread registers tsx first.
  const tsx = import.meta.resolve('tsx/esm/api');
  const entry = new URL('./heic-worker.ts', here).href;
  return new Worker(
    `import(${JSON.stringify(tsx)}).then(({ register }) => { register(); return import(${JSON.stringify(entry)}); });`,
    { eval: true, execArgv: [] },
  );
}

function takeWorker(): Worker {
  const kept = idle.pop();
  if (!kept) return startWorker();
  clearTimeout(kept.timer);
  return kept.worker;
}

function keepWorker(worker: Worker): void {
  worker.unref();
  const timer = setTimeout(() => {
    const index = idle.findIndex((entry) => entry.worker === worker);
    if (index >= 0) idle.splice(index, 1);
    void worker.terminate();
  }, idleMs);
  timer.unref();
  idle.push({ worker, timer });
}

function decodeIn(
  worker: Worker,
  request: DecodeRequest,
  signal: AbortSignal | undefined,
): Promise<DecodeReply> {
  worker.ref();
  busy++;
  return new Promise<DecodeReply>((resolve, reject) => {
    const cleanup = () => {
      busy--;
      worker.off('message', onMessage);
      worker.off('error', onError);
      worker.off('exit', onExit);
      signal?.removeEventListener('abort', onAbort);
    };
    const onMessage = (reply: DecodeReply) => {
      cleanup();
      resolve(reply);
    };
    const onError = (error: Error) => {
      cleanup();
      void worker.terminate();
      reject(
        new HeicDecodeError('unsupported', `The HEIC decoder could not run (${error.message})`, {
          cause: error,
        }),
      );
    };
    const onExit = (code: number) => {
      cleanup();
      reject(new HeicDecodeError('memory', `The HEIC decoder stopped unexpectedly (exit code ${code})`));
    };
    const onAbort = () => {
      cleanup();
      void worker.terminate();
      reject(abortReason(signal));
    };
    worker.on('message', onMessage);
    worker.once('error', onError);
    worker.once('exit', onExit);
    signal?.addEventListener('abort', onAbort, { once: true });
    worker.postMessage(request, [request.data.buffer as ArrayBuffer]);
  });
}

function abortReason(signal: AbortSignal | undefined): Error {
  const reason: unknown = signal?.reason;
  return reason instanceof Error ? reason : new Error('The decode was cancelled', { cause: reason });
}

let displayP3: Promise<Uint8Array> | undefined;

/** libvips' own Display P3 profile, for images that name P3 by an nclx colour box instead of a profile. */
function displayP3Icc(): Promise<Uint8Array> {
  displayP3 ??= sharp({ create: { width: 1, height: 1, channels: 3, background: '#ffffff' } })
    .withIccProfile('p3')
    .png()
    .toBuffer()
    .then((png) => sharp(png).metadata())
    .then((meta) => {
      if (!meta.icc) throw new Error('libvips returned no Display P3 profile');
      return new Uint8Array(meta.icc);
    });
  return displayP3;
}

export async function decodeHeic(data: Buffer, options: HeicDecodeOptions): Promise<HeicImage> {
  const release = await reserve(estimateBytes(options.pixels, data.length), options.signal);
  try {
    // A private copy is handed to the thread: the caller's buffer may be shared (pooled or cached).
    const request: DecodeRequest = {
      data: new Uint8Array(data),
      page: options.page,
      maxPixels: options.maxPixels,
      displayP3Icc: await displayP3Icc(),
    };
    options.signal?.throwIfAborted();
    const worker = takeWorker();
    const reply = await decodeIn(worker, request, options.signal);
    if (reply.heapBytes > retainedHeapBytes || (!reply.ok && reply.broken)) void worker.terminate();
    else keepWorker(worker);
    if (!reply.ok) throw new HeicDecodeError(reply.kind, reply.message);
    return {
      tiff: Buffer.from(reply.tiff.buffer, reply.tiff.byteOffset, reply.tiff.byteLength),
      width: reply.width,
      height: reply.height,
      hasAlpha: reply.hasAlpha,
      bitDepth: reply.bitDepth,
      decoderHeapBytes: reply.heapBytes,
    };
  } finally {
    release();
  }
}

/** The decoder threads and the memory reserved by decodes in progress, for tests and metrics. */
export function heicDecoderState(): { busyThreads: number; idleThreads: number; reservedBytes: number } {
  return { busyThreads: busy, idleThreads: idle.length, reservedBytes: reserved };
}
