/**
 * Source metadata that has to travel further than one sharp pipeline (docs/architecture.md §4, metadata policies):
 *
 * - `keepCopyright` keeps who made the image and who owns it (Exif `Artist` and `Copyright`, XMP
 *   `dc:creator` and `dc:rights`) and nothing else: no GPS, no camera data. Both are rewritten from the
 *   values read here, so they survive any number of stages.
 * - `keepAll` keeps EXIF, XMP and IPTC through sharp when the last pipeline reads the source itself. When it
 *   does not (a chain of several stages hands raw pixels on; a HEIC source is read from its decoded TIFF; a
 *   byte budget encodes from raw pixels), the source's XMP is attached through sharp and its EXIF block is
 *   written into the encoded JPEG, PNG or WebP here, with the orientation set to 1 (the pixels are upright).
 *   AVIF, TIFF and GIF outputs of such chains carry no EXIF, and IPTC is not carried across stages.
 */
import { crc32 } from 'node:zlib';
import type { OutputFormat } from '../graph/index.js';

export interface SourceMetadata {
  /** The EXIF block as a TIFF structure (without the `Exif\0\0` prefix JPEG stores before it). */
  exif?: Buffer;
  /** The XMP packet. */
  xmp?: Buffer;
}

const exifPrefix = Buffer.from('Exif\0\0', 'latin1');

/** What sharp's header read found, normalised. */
export function sourceMetadataOf(meta: {
  exif?: Buffer | undefined;
  xmp?: Buffer | undefined;
}): SourceMetadata {
  const exif = meta.exif?.subarray(0, 6).equals(exifPrefix) ? meta.exif.subarray(6) : meta.exif;
  return {
    ...(exif && isTiff(exif) ? { exif } : {}),
    ...(meta.xmp?.length ? { xmp: meta.xmp } : {}),
  };
}

// ------------------------------------------------------------------ reading EXIF (IFD0 only)

function isTiff(data: Buffer): boolean {
  const order = data.toString('latin1', 0, 2);
  return data.length >= 8 && (order === 'II' || order === 'MM');
}

interface IfdEntry {
  tag: number;
  type: number;
  count: number;
  /** Where the value is: inside the entry when it fits in 4 bytes, else at the offset it holds. */
  valueAt: number;
}

const typeSizes: Record<number, number> = { 1: 1, 2: 1, 3: 2, 4: 4, 5: 8, 7: 1, 9: 4, 10: 8 };

interface Ifd {
  entries: IfdEntry[];
  little: boolean;
  u16: (at: number) => number;
  u32: (at: number) => number;
}

function ifd0(exif: Buffer): Ifd {
  const little = exif.toString('latin1', 0, 2) === 'II';
  const u16 = (at: number) => (little ? exif.readUInt16LE(at) : exif.readUInt16BE(at));
  const u32 = (at: number) => (little ? exif.readUInt32LE(at) : exif.readUInt32BE(at));
  const entries: IfdEntry[] = [];
  const start = u32(4);
  if (start + 2 > exif.length) return { entries, little, u16, u32 };
  const count = u16(start);
  for (let i = 0; i < count; i++) {
    const entryAt = start + 2 + i * 12;
    if (entryAt + 12 > exif.length) break;
    const type = u16(entryAt + 2);
    const itemCount = u32(entryAt + 4);
    const bytes = (typeSizes[type] ?? 1) * itemCount;
    entries.push({
      tag: u16(entryAt),
      type,
      count: itemCount,
      valueAt: bytes <= 4 ? entryAt + 8 : u32(entryAt + 8),
    });
  }
  return { entries, little, u16, u32 };
}

/** IFD0's tags: text for ASCII values, the number for one SHORT or LONG, else the value's type name. */
export function exifIfd0(exif: Buffer): Map<number, string | number> {
  const { entries, u16, u32 } = ifd0(exif);
  const tags = new Map<number, string | number>();
  for (const entry of entries) {
    const size = (typeSizes[entry.type] ?? 1) * entry.count;
    if (entry.valueAt + size > exif.length) continue;
    if (entry.type === 2) {
      tags.set(
        entry.tag,
        exif
          .toString('utf8', entry.valueAt, entry.valueAt + size)
          .replace(/\0+$/, '')
          .trim(),
      );
    } else if (entry.count === 1 && (entry.type === 3 || entry.type === 4)) {
      tags.set(entry.tag, entry.type === 3 ? u16(entry.valueAt) : u32(entry.valueAt));
    } else {
      tags.set(entry.tag, `type ${entry.type}`);
    }
  }
  return tags;
}

function asciiTag(exif: Buffer, tag: number): string | undefined {
  const value = exifIfd0(exif).get(tag);
  return typeof value === 'string' && value ? value : undefined;
}

/** A copy of the EXIF block with IFD0's Orientation set to 1 (the output is already upright). */
export function uprightExif(exif: Buffer): Buffer {
  const copy = Buffer.from(exif);
  const { entries, little } = ifd0(copy);
  const orientation = entries.find((e) => e.tag === 0x0112 && e.type === 3);
  if (orientation) {
    if (little) copy.writeUInt16LE(1, orientation.valueAt);
    else copy.writeUInt16BE(1, orientation.valueAt);
  }
  return copy;
}

// ------------------------------------------------------------------ keepCopyright

export interface Rights {
  artist?: string;
  copyright?: string;
}

/** The first `rdf:li` (or plain text) of an XMP Dublin Core property. */
function xmpProperty(xmp: string, name: string): string | undefined {
  const match = new RegExp(`<dc:${name}[^>]*>([\\s\\S]*?)</dc:${name}>`).exec(xmp);
  if (!match) return undefined;
  const inner = match[1]!;
  const item = /<rdf:li[^>]*>([\s\S]*?)<\/rdf:li>/.exec(inner);
  const text = unescapeXml((item ? item[1]! : inner).trim());
  return text || undefined;
}

/** Creator and copyright holder, from EXIF first, else XMP. */
export function rightsOf(metadata: SourceMetadata): Rights {
  const xmp = metadata.xmp?.toString('utf8') ?? '';
  const artist = (metadata.exif && asciiTag(metadata.exif, 0x013b)) ?? xmpProperty(xmp, 'creator');
  const copyright = (metadata.exif && asciiTag(metadata.exif, 0x8298)) ?? xmpProperty(xmp, 'rights');
  return { ...(artist ? { artist } : {}), ...(copyright ? { copyright } : {}) };
}

/** An XMP packet holding only dc:creator and dc:rights. */
export function rightsXmp(rights: Rights): string {
  const creator = rights.artist
    ? `<dc:creator><rdf:Seq><rdf:li>${escapeXml(rights.artist)}</rdf:li></rdf:Seq></dc:creator>`
    : '';
  const copyright = rights.copyright
    ? `<dc:rights><rdf:Alt><rdf:li xml:lang="x-default">${escapeXml(rights.copyright)}</rdf:li></rdf:Alt></dc:rights>`
    : '';
  return (
    '<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>' +
    '<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">' +
    `<rdf:Description rdf:about="" xmlns:dc="http://purl.org/dc/elements/1.1/">${creator}${copyright}</rdf:Description>` +
    '</rdf:RDF></x:xmpmeta><?xpacket end="w"?>'
  );
}

const xmlEntities: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' };

function escapeXml(text: string): string {
  return text.replace(/[&<>"]/g, (c) => xmlEntities[c]!);
}

function unescapeXml(text: string): string {
  return text.replace(/&(amp|lt|gt|quot|apos);/g, (_, name: string) =>
    name === 'amp' ? '&' : name === 'lt' ? '<' : name === 'gt' ? '>' : name === 'quot' ? '"' : "'",
  );
}

// ------------------------------------------------------------------ writing EXIF into an encoded file

/**
 * The encoded image with `exif` (a TIFF structure) added, for the formats whose container we can extend
 * safely; other formats, and files that already carry EXIF, are returned unchanged.
 */
export function withExifBlock(format: OutputFormat, data: Buffer, exif: Buffer): Buffer {
  switch (format) {
    case 'jpeg':
      return jpegWithExif(data, exif);
    case 'png':
      return pngWithExif(data, exif);
    case 'webp':
      return webpWithExif(data, exif);
    default:
      return data;
  }
}

/** APP1 `Exif` right after SOI and any JFIF APP0 segment. */
function jpegWithExif(data: Buffer, exif: Buffer): Buffer {
  const length = 2 + exifPrefix.length + exif.length;
  if (length > 0xffff || data.readUInt16BE(0) !== 0xffd8) return data;
  let at = 2;
  while (at + 4 <= data.length && data[at] === 0xff) {
    const marker = data[at + 1]!;
    if (marker === 0xe1 && data.toString('latin1', at + 4, at + 8) === 'Exif') return data;
    if (marker !== 0xe0) break;
    at += 2 + data.readUInt16BE(at + 2);
  }
  const header = Buffer.alloc(4);
  header.writeUInt16BE(0xffe1, 0);
  header.writeUInt16BE(length, 2);
  return Buffer.concat([data.subarray(0, at), header, exifPrefix, exif, data.subarray(at)]);
}

/** An `eXIf` chunk before the first IDAT. */
function pngWithExif(data: Buffer, exif: Buffer): Buffer {
  let at = 8;
  while (at + 8 <= data.length) {
    const type = data.toString('latin1', at + 4, at + 8);
    if (type === 'eXIf') return data;
    if (type === 'IDAT') break;
    at += 12 + data.readUInt32BE(at);
  }
  const chunk = Buffer.alloc(12 + exif.length);
  chunk.writeUInt32BE(exif.length, 0);
  chunk.write('eXIf', 4, 'latin1');
  exif.copy(chunk, 8);
  chunk.writeUInt32BE(crc32(chunk.subarray(4, 8 + exif.length)), 8 + exif.length);
  return Buffer.concat([data.subarray(0, at), chunk, data.subarray(at)]);
}

/** An `EXIF` chunk at the end of an extended (VP8X) WebP, with its flag set. */
function webpWithExif(data: Buffer, exif: Buffer): Buffer {
  if (data.toString('latin1', 0, 4) !== 'RIFF' || data.toString('latin1', 12, 16) !== 'VP8X') return data;
  const flags = data[20]!;
  if (flags & 0x08) return data;
  const chunk = Buffer.alloc(8 + exif.length + (exif.length % 2));
  chunk.write('EXIF', 0, 'latin1');
  chunk.writeUInt32LE(exif.length, 4);
  exif.copy(chunk, 8);
  const out = Buffer.concat([data, chunk]);
  out[20] = flags | 0x08;
  out.writeUInt32LE(out.length - 8, 4);
  return out;
}
