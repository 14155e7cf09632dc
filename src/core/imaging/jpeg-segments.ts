/**
 * The marker segments at the head of a JPEG file (SOI, then APP0…APP15), which is where metadata lives, and
 * adding one there. Used on files sharp has just encoded, so anything unexpected means "leave the file as it is".
 */

/** Most payload bytes one segment holds: its 2-byte length field counts itself. */
export const maxSegmentPayload = 0xffff - 2;

export interface JpegSegment {
  /** The marker's second byte (0xe0 for APP0 … 0xef for APP15). */
  marker: number;
  /** Where the segment's 0xff starts. */
  at: number;
  payload: Buffer;
}

export interface JpegHead {
  /** The APPn segments right after SOI, in file order. */
  segments: JpegSegment[];
  /** Where the first segment that is not APPn starts. */
  end: number;
}

const soi = 0xffd8;
const isApp = (marker: number) => marker >= 0xe0 && marker <= 0xef;

/** The APPn segments after SOI; undefined when `data` is not a JPEG or a segment runs past the end. */
export function jpegHead(data: Buffer): JpegHead | undefined {
  if (data.length < 4 || data.readUInt16BE(0) !== soi) return undefined;
  const segments: JpegSegment[] = [];
  let at = 2;
  while (at + 4 <= data.length && data[at] === 0xff && isApp(data[at + 1]!)) {
    const length = data.readUInt16BE(at + 2);
    if (length < 2 || at + 2 + length > data.length) return undefined;
    segments.push({ marker: data[at + 1]!, at, payload: data.subarray(at + 4, at + 2 + length) });
    at += 2 + length;
  }
  return data[at] === 0xff ? { segments, end: at } : undefined;
}

/** `data` with a segment of `marker` holding `payload` inserted at byte `at` (a segment boundary). */
export function withSegmentAt(data: Buffer, at: number, marker: number, payload: Buffer[]): Buffer {
  const length = 2 + payload.reduce((sum, part) => sum + part.length, 0);
  if (length > 0xffff) throw new RangeError(`A JPEG segment holds at most ${maxSegmentPayload} bytes`);
  const header = Buffer.alloc(4);
  header.writeUInt16BE(0xff00 | marker, 0);
  header.writeUInt16BE(length, 2);
  return Buffer.concat([data.subarray(0, at), header, ...payload, data.subarray(at)]);
}
