/**
 * A minimal uncompressed baseline TIFF (little-endian, 8-bit RGB or RGBA in strips) with an optional ICC
 * profile: how decoded HEIC pixels reach libvips together with their colour profile. sharp's raw-pixel
 * input cannot carry a profile, and an uncompressed TIFF costs libvips no more than raw pixels to read.
 * The decoder writes the pixels straight after the header, so the image is copied only once.
 */

export interface TiffImage {
  width: number;
  height: number;
  channels: 3 | 4;
  icc?: Uint8Array;
}

export interface TiffLayout {
  totalBytes: number;
  /** Where the pixel rows start (top row first, no padding). */
  pixelOffset: number;
  /** Writes everything but the pixels into the start of `target`. */
  writeHeader(target: Uint8Array): void;
}

const SHORT = 3;
const LONG = 4;
const UNDEFINED = 7;
/** Rows per strip: strips of about 256 KB let libvips read the image a strip at a time. */
const stripBytes = 256 * 1024;

interface Entry {
  tag: number;
  type: number;
  values: number[] | Uint8Array;
}

export function tiffLayout(image: TiffImage): TiffLayout {
  const { width, height, channels } = image;
  const rowBytes = width * channels;
  const rowsPerStrip = Math.max(1, Math.min(height, Math.floor(stripBytes / rowBytes)));
  const strips = Math.ceil(height / rowsPerStrip);
  const pixelBytes = rowBytes * height;
  if (pixelBytes > 0xffff_ffff) throw new RangeError(`A ${width}×${height} image is too large for a TIFF`);

  const stripOffsets: number[] = [];
  const stripCounts: number[] = [];
  const entries = (pixelOffset: number): Entry[] => {
    stripOffsets.length = 0;
    stripCounts.length = 0;
    for (let strip = 0; strip < strips; strip++) {
      const rows = Math.min(rowsPerStrip, height - strip * rowsPerStrip);
      stripOffsets.push(pixelOffset + strip * rowsPerStrip * rowBytes);
      stripCounts.push(rows * rowBytes);
    }
    const list: Entry[] = [
      { tag: 256, type: LONG, values: [width] },
      { tag: 257, type: LONG, values: [height] },
      { tag: 258, type: SHORT, values: Array<number>(channels).fill(8) }, // BitsPerSample
      { tag: 259, type: SHORT, values: [1] }, // Compression: none
      { tag: 262, type: SHORT, values: [2] }, // PhotometricInterpretation: RGB
      { tag: 273, type: LONG, values: stripOffsets },
      { tag: 277, type: SHORT, values: [channels] }, // SamplesPerPixel
      { tag: 278, type: LONG, values: [rowsPerStrip] },
      { tag: 279, type: LONG, values: stripCounts },
      { tag: 284, type: SHORT, values: [1] }, // PlanarConfiguration: chunky
    ];
    if (channels === 4) list.push({ tag: 338, type: SHORT, values: [2] }); // ExtraSamples: straight alpha
    if (image.icc) list.push({ tag: 34675, type: UNDEFINED, values: image.icc });
    return list;
  };

  const sizeOf = (entry: Entry) =>
    entry.values.length * (entry.type === SHORT ? 2 : entry.type === LONG ? 4 : 1);
  // Header (8) + IFD (2 + 12 per entry + 4), then the values that do not fit in an entry, then pixels.
  const count = entries(0).length;
  let spill = 0;
  for (const entry of entries(0)) if (sizeOf(entry) > 4) spill += sizeOf(entry) + (sizeOf(entry) % 2);
  const ifdBytes = 2 + 12 * count + 4;
  const pixelOffset = align(8 + ifdBytes + spill, 16);

  return {
    totalBytes: pixelOffset + pixelBytes,
    pixelOffset,
    writeHeader(target) {
      const view = new DataView(target.buffer, target.byteOffset, pixelOffset);
      view.setUint16(0, 0x4949); // "II": little-endian
      view.setUint16(2, 42, true);
      view.setUint32(4, 8, true);
      const list = entries(pixelOffset);
      view.setUint16(8, list.length, true);
      let spillAt = 8 + ifdBytes;
      list.forEach((entry, index) => {
        const at = 10 + index * 12;
        view.setUint16(at, entry.tag, true);
        view.setUint16(at + 2, entry.type, true);
        view.setUint32(at + 4, entry.values.length, true);
        const bytes = sizeOf(entry);
        const valueAt = bytes > 4 ? spillAt : at + 8;
        if (bytes > 4) {
          view.setUint32(at + 8, spillAt, true);
          spillAt += bytes + (bytes % 2);
        }
        writeValues(view, target, valueAt, entry);
      });
      view.setUint32(10 + list.length * 12, 0, true); // no next IFD
    },
  };
}

function writeValues(view: DataView, target: Uint8Array, at: number, entry: Entry): void {
  if (entry.values instanceof Uint8Array) {
    target.set(entry.values, at);
    return;
  }
  entry.values.forEach((value, index) => {
    if (entry.type === SHORT) view.setUint16(at + index * 2, value, true);
    else view.setUint32(at + index * 4, value, true);
  });
}

function align(value: number, to: number): number {
  return Math.ceil(value / to) * to;
}
