/**
 * The HEIC decoder thread: libheif (with libde265 for HEVC) compiled to WebAssembly, from the `libheif-js`
 * package. It runs in a worker thread so that a decode of several seconds never blocks the event loop
 * that sends the activity's heartbeats. One decode at a time per thread; the pool (heic-decoder.ts)
 * recycles a thread whose WebAssembly memory grew large, since that memory is never given back.
 *
 * What it hands back is an uncompressed TIFF of the primary image (see tiff.ts): libheif applies the
 * image's transformations (irot, imir, clap) while decoding, and the TIFF carries the colour profile
 * and alpha, so libvips reads it like any other source and converts it to sRGB as usual.
 */
import { createRequire } from 'node:module';
import { parentPort } from 'node:worker_threads';
import { displayP3Primaries, type DecodeReply, type DecodeRequest } from './protocol.js';
import { tiffLayout, type TiffImage } from './tiff.js';

/** The parts of the Emscripten module (libheif's embind API plus raw C exports) this thread uses. */
interface Libheif {
  HEAPU8: Uint8Array;
  HEAP32: Int32Array;
  heif_error_Ok: unknown;
  heif_colorspace_RGB: unknown;
  heif_chroma_interleaved_RGB: unknown;
  heif_chroma_interleaved_RGBA: unknown;
  heif_channel_interleaved: unknown;
  heif_context_alloc(): object;
  heif_context_free(context: object): void;
  heif_context_read_from_memory(context: object, data: Uint8Array): { code: unknown; message: string };
  heif_js_context_get_primary_image_handle(context: object): Handle | { code: unknown; message?: string };
  heif_js_context_get_list_of_top_level_image_IDs(context: object): number[] | { code: unknown };
  heif_js_context_get_image_handle(context: object, id: number): Handle | { code: unknown; message?: string };
  heif_image_handle_get_width(handle: Handle): number;
  heif_image_handle_get_height(handle: Handle): number;
  heif_image_handle_has_alpha_channel(handle: Handle): number;
  heif_image_handle_is_premultiplied_alpha(handle: Handle): number;
  heif_image_handle_release(handle: Handle): void;
  heif_js_decode_image2(
    handle: Handle,
    colorspace: unknown,
    chroma: unknown,
  ): DecodedImage | { code: unknown };
  heif_image_release(image: object): void;
  _malloc(bytes: number): number;
  _free(pointer: number): void;
  _heif_image_handle_get_luma_bits_per_pixel(handle: number): number;
  _heif_image_handle_get_color_profile_type(handle: number): number;
  _heif_image_handle_get_raw_color_profile_size(handle: number): number;
  _heif_image_handle_get_raw_color_profile(error: number, handle: number, out: number): void;
  _heif_image_handle_get_nclx_color_profile(error: number, handle: number, out: number): void;
  _heif_nclx_color_profile_free(profile: number): void;
}

interface Handle {
  $$: { ptr: number };
}

interface DecodedImage {
  image: object;
  channels: { id: unknown; width: number; height: number; stride: number; data: Uint8Array }[];
}

const require = createRequire(import.meta.url);
// The WebAssembly build reads libheif.wasm from its own folder, synchronously, when the module is made.
const createLibheif = require('libheif-js/libheif-wasm/libheif.js') as (options: object) => Libheif;
let lastMessage = '';
const libheif = createLibheif({
  // libheif prints its own diagnostics; keep the last one as the detail of a failure instead.
  print: (text: string) => (lastMessage = text),
  printErr: (text: string) => (lastMessage = text),
});

/** A decode failure, with the class the caller maps to an error code. */
class DecodeFailure extends Error {
  constructor(
    readonly kind: 'corrupt' | 'unsupported' | 'too_large',
    message: string,
  ) {
    super(message);
  }
}

const fourcc = (text: string) => text.split('').reduce((value, char) => value * 256 + char.charCodeAt(0), 0);
const iccTypes = new Set([fourcc('prof'), fourcc('rICC')]);
const nclxType = fourcc('nclx');

function isError(value: unknown): value is { code: unknown; message?: string } {
  return typeof value === 'object' && value !== null && 'code' in value && !('$$' in value);
}

/** Runs a libheif call whose `struct heif_error` comes back through a return slot; throws unless Ok. */
function call(what: string, run: (errorSlot: number) => void): void {
  const slot = libheif._malloc(16);
  try {
    run(slot);
    const code = libheif.HEAP32[slot >> 2];
    if (code !== 0) throw new DecodeFailure('corrupt', `${what} failed (libheif error ${code})`);
  } finally {
    libheif._free(slot);
  }
}

/**
 * The colour profile for the TIFF: the embedded ICC profile (Apple writes Display P3 this way), or for an
 * nclx colour box with Display P3 primaries, the Display P3 profile; otherwise none, which reads as sRGB.
 */
function colourOf(handle: Handle, displayP3Icc: Uint8Array): { icc?: Uint8Array } {
  const pointer = handle.$$.ptr;
  const type = libheif._heif_image_handle_get_color_profile_type(pointer);
  if (iccTypes.has(type)) {
    const size = libheif._heif_image_handle_get_raw_color_profile_size(pointer);
    if (size <= 0) return {};
    const out = libheif._malloc(size);
    try {
      call('Reading the ICC profile', (slot) =>
        libheif._heif_image_handle_get_raw_color_profile(slot, pointer, out),
      );
      return { icc: libheif.HEAPU8.slice(out, out + size) };
    } finally {
      libheif._free(out);
    }
  }
  if (type === nclxType) {
    const out = libheif._malloc(4);
    try {
      call('Reading the colour box', (slot) =>
        libheif._heif_image_handle_get_nclx_color_profile(slot, pointer, out),
      );
      const profile = libheif.HEAP32[out >> 2]!;
      // struct heif_color_profile_nclx: uint8 version, then the enum colour_primaries at offset 4.
      const primaries = libheif.HEAP32[(profile + 4) >> 2];
      libheif._heif_nclx_color_profile_free(profile);
      return primaries === displayP3Primaries ? { icc: displayP3Icc } : {};
    } finally {
      libheif._free(out);
    }
  }
  return {};
}

function imageHandle(context: object, page: number | undefined): Handle {
  if (page === undefined) {
    const primary = libheif.heif_js_context_get_primary_image_handle(context);
    if (isError(primary))
      throw new DecodeFailure('corrupt', `The file has no primary image (${primary.message})`);
    return primary;
  }
  const ids = libheif.heif_js_context_get_list_of_top_level_image_IDs(context);
  const id = Array.isArray(ids) ? ids[page] : undefined;
  if (id === undefined) throw new DecodeFailure('corrupt', `The file has no image ${page}`);
  const handle = libheif.heif_js_context_get_image_handle(context, id);
  if (isError(handle)) throw new DecodeFailure('corrupt', `Image ${page} cannot be read (${handle.message})`);
  return handle;
}

/** Undoes premultiplied alpha: libvips expects straight alpha from a TIFF with unassociated alpha. */
function unpremultiply(pixels: Uint8Array): void {
  for (let i = 0; i < pixels.length; i += 4) {
    const alpha = pixels[i + 3]!;
    if (alpha === 0 || alpha === 255) continue;
    for (let c = 0; c < 3; c++) pixels[i + c] = Math.min(255, Math.round((pixels[i + c]! * 255) / alpha));
  }
}

function decode(request: DecodeRequest): DecodeReply {
  const context = libheif.heif_context_alloc();
  let handle: Handle | undefined;
  try {
    const read = libheif.heif_context_read_from_memory(context, request.data);
    if (read.code !== libheif.heif_error_Ok) throw new DecodeFailure('corrupt', read.message);
    handle = imageHandle(context, request.page);
    const width = libheif.heif_image_handle_get_width(handle);
    const height = libheif.heif_image_handle_get_height(handle);
    // The caller checked the header already; this guards against a file whose items disagree with it.
    if (width * height > request.maxPixels) {
      throw new DecodeFailure('too_large', `The primary image is ${width}×${height}`);
    }
    const alpha = libheif.heif_image_handle_has_alpha_channel(handle) !== 0;
    const premultiplied = alpha && libheif.heif_image_handle_is_premultiplied_alpha(handle) !== 0;
    const bitDepth = libheif._heif_image_handle_get_luma_bits_per_pixel(handle.$$.ptr);
    const colour = colourOf(handle, request.displayP3Icc);

    lastMessage = '';
    const decoded = libheif.heif_js_decode_image2(
      handle,
      libheif.heif_colorspace_RGB,
      alpha ? libheif.heif_chroma_interleaved_RGBA : libheif.heif_chroma_interleaved_RGB,
    );
    if (!decoded || !('channels' in decoded)) {
      const said =
        decoded && 'message' in decoded && typeof decoded.message === 'string' ? decoded.message : '';
      throw new DecodeFailure('corrupt', said || lastMessage || 'The coded image data cannot be decoded');
    }
    try {
      const plane = decoded.channels.find((c) => c.id === libheif.heif_channel_interleaved);
      if (!plane) throw new DecodeFailure('corrupt', 'The decoder returned no pixels');
      const channels = alpha ? 4 : 3;
      const image: TiffImage = {
        width: plane.width,
        height: plane.height,
        channels,
        ...(colour.icc ? { icc: colour.icc } : {}),
      };
      const layout = tiffLayout(image);
      const tiff = new Uint8Array(layout.totalBytes);
      layout.writeHeader(tiff);
      // Rows are copied out of the WebAssembly heap, dropping the decoder's row padding.
      const rowBytes = plane.width * channels;
      const pixels = tiff.subarray(layout.pixelOffset);
      for (let y = 0; y < plane.height; y++) {
        pixels.set(plane.data.subarray(y * plane.stride, y * plane.stride + rowBytes), y * rowBytes);
      }
      if (premultiplied) unpremultiply(pixels);
      return {
        ok: true,
        tiff,
        width: plane.width,
        height: plane.height,
        hasAlpha: alpha,
        bitDepth,
        heapBytes: libheif.HEAPU8.length,
      };
    } finally {
      libheif.heif_image_release(decoded.image);
    }
  } finally {
    if (handle) libheif.heif_image_handle_release(handle);
    libheif.heif_context_free(context);
  }
}

parentPort?.on('message', (request: DecodeRequest) => {
  let reply: DecodeReply;
  try {
    reply = decode(request);
  } catch (error) {
    // An abort inside WebAssembly (out of memory, a trap) leaves the module unusable: say so, and the
    // pool ends this thread.
    const broken = !(error instanceof DecodeFailure);
    reply = {
      ok: false,
      kind:
        error instanceof DecodeFailure
          ? error.kind
          : /OOM|memory/i.test(String(error))
            ? 'memory'
            : 'corrupt',
      message: error instanceof Error ? error.message : String(error),
      broken,
      heapBytes: libheif.HEAPU8.length,
    };
  }
  parentPort?.postMessage(reply, reply.ok ? [reply.tiff.buffer as ArrayBuffer] : []);
});
