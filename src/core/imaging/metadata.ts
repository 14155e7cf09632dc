/**
 * Source metadata that has to travel further than one sharp pipeline (docs/architecture.md §4, metadata policies):
 *
 * - `keepCopyright` keeps who made the image and who owns it and nothing else: no GPS, no camera data, no
 *   location, keywords or captions. The same two facts under each standard's name:
 *
 *   | who made it                  | who owns it                       |
 *   | ---------------------------- | --------------------------------- |
 *   | Exif `Artist` (0x013b)       | Exif `Copyright` (0x8298)         |
 *   | XMP `dc:creator`             | XMP `dc:rights`                   |
 *   | IPTC-IIM 2:80 `By-line`      | IPTC-IIM 2:116 `Copyright Notice` |
 *
 *   Exif and XMP are rewritten from the values read here (Exif first, else XMP, else IPTC), so they survive
 *   any number of stages. A JPEG output also gets the source's own By-line (every repetition) and Copyright
 *   Notice as an IPTC block (iptc.ts); the other formats have no IPTC container, so XMP carries them there.
 * - `keepAll` keeps EXIF, XMP and IPTC through sharp when the last pipeline reads the source itself. When it
 *   does not (a chain of several stages hands raw pixels on; a HEIC source is read from its decoded TIFF; a
 *   byte budget encodes from raw pixels), the source's XMP is attached through sharp, its EXIF block is
 *   written into the encoded JPEG, PNG or WebP here, with the orientation set to 1 (the pixels are upright),
 *   and its IPTC (Photoshop) block into JPEG. AVIF, TIFF and GIF outputs of such chains carry no EXIF, and
 *   outputs other than JPEG no IPTC: there the source's XMP is what describes the image.
 */
import { crc32 } from 'node:zlib';
import type { ImageFormat, OutputFormat } from '../graph/index.js';
import {
  copyrightIptcBlock,
  iptcFields,
  iptcTexts,
  jpegWithPhotoshopBlock,
  keptIptcBlock,
  readIptc,
} from './iptc.js';
import { jpegHead, maxSegmentPayload, withSegmentAt } from './jpeg-segments.js';

export interface SourceMetadata {
  /** The EXIF block as a TIFF structure (without the `Exif\0\0` prefix JPEG stores before it). */
  exif?: Buffer;
  /** The XMP packet. */
  xmp?: Buffer;
  /** The IPTC block as sharp reads it: a Photoshop image-resource block (or TIFF's bare IIM stream). */
  iptc?: Buffer;
}

const exifPrefix = Buffer.from('Exif\0\0', 'latin1');
const app0 = 0xe0;
const app1 = 0xe1;

/** What sharp's header read found, normalised. */
export function sourceMetadataOf(meta: {
  exif?: Buffer | undefined;
  xmp?: Buffer | undefined;
  iptc?: Buffer | undefined;
}): SourceMetadata {
  const exif = meta.exif?.subarray(0, 6).equals(exifPrefix) ? meta.exif.subarray(6) : meta.exif;
  return {
    ...(exif && isTiff(exif) ? { exif } : {}),
    ...(meta.xmp?.length ? { xmp: meta.xmp } : {}),
    ...(meta.iptc?.length ? { iptc: meta.iptc } : {}),
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
  /** Who made the image: one name per creator (Exif holds one text; XMP and IPTC may list several). */
  creators?: string[];
  copyright?: string;
}

/** The `rdf:li` items (or the plain text) of an XMP Dublin Core property. */
function xmpProperty(xmp: string, name: string): string[] {
  const match = new RegExp(`<dc:${name}[^>]*>([\\s\\S]*?)</dc:${name}>`).exec(xmp);
  if (!match) return [];
  const inner = match[1]!;
  const items = [...inner.matchAll(/<rdf:li[^>]*>([\s\S]*?)<\/rdf:li>/g)].map((item) => item[1]!);
  return (items.length ? items : [inner]).map((text) => unescapeXml(text.trim())).filter(Boolean);
}

/**
 * An XMP packet as text. XMP may be stored in UTF-16 (or UTF-32, unseen in practice): the packet starts with
 * `<`, so its first bytes say which (a BOM, or NULs beside the `<`).
 */
export function xmpText(xmp: Buffer): string {
  const [a, b] = [xmp[0], xmp[1]];
  if ((a === 0xfe && b === 0xff) || (a === 0x00 && b !== 0x00))
    return new TextDecoder('utf-16be').decode(xmp);
  if ((a === 0xff && b === 0xfe) || (a !== 0x00 && b === 0x00))
    return new TextDecoder('utf-16le').decode(xmp);
  return xmp.toString('utf8');
}

/** Creators and copyright holder, from EXIF first, else XMP, else IPTC (By-line, Copyright Notice). */
export function rightsOf(metadata: SourceMetadata): Rights {
  const xmp = metadata.xmp ? xmpText(metadata.xmp) : '';
  const iptc = readIptc(metadata.iptc);
  const artist = metadata.exif && asciiTag(metadata.exif, 0x013b);
  const creators = artist
    ? [artist]
    : firstNonEmpty(xmpProperty(xmp, 'creator'), iptcTexts(iptc, iptcFields.byline));
  const copyright =
    (metadata.exif && asciiTag(metadata.exif, 0x8298)) ??
    xmpProperty(xmp, 'rights')[0] ??
    iptcTexts(iptc, iptcFields.copyrightNotice)[0];
  return { ...(creators.length ? { creators } : {}), ...(copyright ? { copyright } : {}) };
}

function firstNonEmpty(...lists: string[][]): string[] {
  return lists.find((list) => list.length > 0) ?? [];
}

/** Exif's Artist for several creators: joined with "; ", as the Metadata Working Group's guidance says. */
export function exifArtist(creators: string[]): string {
  return creators.join('; ');
}

/** An XMP packet holding only dc:creator and dc:rights. */
export function rightsXmp(rights: Rights): string {
  const creator = rights.creators?.length
    ? `<dc:creator><rdf:Seq>${rights.creators.map((name) => `<rdf:li>${escapeXml(name)}</rdf:li>`).join('')}</rdf:Seq></dc:creator>`
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

// ------------------------------------------------------------------ writing into an encoded file

/**
 * What a policy writes into the encoded file itself, where sharp cannot: keepCopyright's IPTC By-line and
 * Copyright Notice (JPEG); keepAll's EXIF (JPEG, PNG, WebP) and IPTC block (JPEG) when the encoder did not
 * read the source (`readsSource`: sharp kept them itself).
 */
export function withPolicyMetadata(
  policy: NonNullable<ImageFormat['metadata']>,
  format: OutputFormat,
  data: Buffer,
  source: SourceMetadata,
  readsSource: boolean,
): Buffer {
  if (policy === 'keepCopyright') {
    const block = format === 'jpeg' ? copyrightIptcBlock(source.iptc) : undefined;
    return block ? jpegWithPhotoshopBlock(data, block) : data;
  }
  if (policy !== 'keepAll' || readsSource) return data;
  const withExif = source.exif ? withExifBlock(format, data, uprightExif(source.exif)) : data;
  const block = format === 'jpeg' ? keptIptcBlock(source.iptc) : undefined;
  return block ? jpegWithPhotoshopBlock(withExif, block) : withExif;
}

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
  const head = jpegHead(data);
  if (!head || exifPrefix.length + exif.length > maxSegmentPayload) return data;
  if (
    head.segments.some((s) => s.marker === app1 && s.payload.subarray(0, 4).toString('latin1') === 'Exif')
  ) {
    return data;
  }
  const afterJfif = head.segments.find((s) => s.marker !== app0)?.at ?? head.end;
  return withSegmentAt(data, afterJfif, app1, [exifPrefix, exif]);
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
