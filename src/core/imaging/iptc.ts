/**
 * IPTC-IIM, the fields newsrooms and stock libraries rely on (2:80 By-line, 2:116 Copyright Notice, 2:90
 * City, 2:25 Keywords…), as JPEG carries them: an APP13 segment holding a Photoshop image-resource block
 * ("Photoshop 3.0\0", then `8BIM` resources), whose resource 0x0404 is the stream of IIM datasets.
 *
 * sharp hands the block over whole as `metadata().iptc` (for TIFF: the IPTC tag's bare IIM stream) and writes
 * it back only when a pipeline keeps all metadata of the source it reads itself. This module reads it and
 * builds the blocks the metadata policies write into JPEG outputs (metadata.ts).
 *
 * Reading never throws and always ends: each step consumes at least one header, and nothing is read past
 * the end. Damaged input yields what was whole before the damage, or nothing.
 */
import { jpegHead, maxSegmentPayload, withSegmentAt } from './jpeg-segments.js';

const photoshopSignature = Buffer.from('Photoshop 3.0\0', 'latin1');
/** Resource signatures: Photoshop's own `8BIM`, and those other Photoshop-compatible writers use. */
const resourceSignatures = new Set(['8BIM', 'MeSa', 'PHUT', 'AgHg', 'DCSR']);
/** The resource that holds the IIM datasets. */
export const iptcResourceId = 0x0404;
const app13 = 0xed;
const datasetTag = 0x1c;
/** Longest value an IIM length field states without the extended form. */
const maxStandardLength = 0x7fff;

export interface PhotoshopResource {
  /** `8BIM`, or another Photoshop-compatible writer's signature. */
  signature: string;
  id: number;
  /** The Pascal name's characters (usually none). */
  name: Buffer;
  data: Buffer;
  /** The block ended before the size the resource declares: `data` holds what there was. */
  truncated?: true | undefined;
}

export interface IptcDataset {
  record: number;
  dataset: number;
  data: Buffer;
}

/** IIM dataset numbers the policies name (record:dataset). */
export const iptcFields = {
  codedCharacterSet: { record: 1, dataset: 90 },
  recordVersion: { record: 2, dataset: 0 },
  byline: { record: 2, dataset: 80 },
  city: { record: 2, dataset: 90 },
  copyrightNotice: { record: 2, dataset: 116 },
} as const;

/** 1:90's value that declares UTF-8 (ISO 2022 `ESC % G`). */
const utf8Designation = Buffer.from([0x1b, 0x25, 0x47]);

// ------------------------------------------------------------------ reading

/** The resources of a Photoshop block, up to the first one that is not whole (kept, marked truncated). */
export function photoshopResources(block: Buffer): PhotoshopResource[] {
  const resources: PhotoshopResource[] = [];
  if (!block.subarray(0, photoshopSignature.length).equals(photoshopSignature)) return resources;
  let at = photoshopSignature.length;
  // signature (4), id (2), name (length byte + characters, padded to even), size (4), data (padded to even)
  while (at + 12 <= block.length && resourceSignatures.has(block.toString('latin1', at, at + 4))) {
    const signature = block.toString('latin1', at, at + 4);
    const id = block.readUInt16BE(at + 4);
    const nameLength = block[at + 6]!;
    const sizeAt = at + 6 + nameLength + 1 + ((nameLength + 1) % 2);
    if (sizeAt + 4 > block.length) break;
    const size = block.readUInt32BE(sizeAt);
    const dataAt = sizeAt + 4;
    const name = block.subarray(at + 7, at + 7 + nameLength);
    if (dataAt + size > block.length) {
      resources.push({ signature, id, name, data: block.subarray(dataAt), truncated: true });
      break;
    }
    resources.push({ signature, id, name, data: block.subarray(dataAt, dataAt + size) });
    at = dataAt + size + (size % 2);
  }
  return resources;
}

/** The datasets of an IIM stream, up to the first byte that does not start a whole dataset. */
export function iimDatasets(stream: Buffer): IptcDataset[] {
  const datasets: IptcDataset[] = [];
  let at = 0;
  while (at + 5 <= stream.length && stream[at] === datasetTag) {
    let length = stream.readUInt16BE(at + 3);
    let dataAt = at + 5;
    if (length > maxStandardLength) {
      // Extended dataset: the low 15 bits count the bytes of the length that follows (at most 4 are sane).
      const lengthBytes = length & maxStandardLength;
      if (lengthBytes < 1 || lengthBytes > 4 || dataAt + lengthBytes > stream.length) break;
      length = stream.readUIntBE(dataAt, lengthBytes);
      dataAt += lengthBytes;
    }
    if (dataAt + length > stream.length) break;
    datasets.push({
      record: stream[at + 1]!,
      dataset: stream[at + 2]!,
      data: stream.subarray(dataAt, dataAt + length),
    });
    at = dataAt + length;
  }
  return datasets;
}

/**
 * The IIM datasets of what sharp's `metadata().iptc` holds: a Photoshop block (JPEG's APP13) or a bare IIM
 * stream (TIFF's IPTC tag). Anything else yields none.
 */
export function readIptc(iptc: Buffer | undefined): IptcDataset[] {
  if (!iptc?.length) return [];
  if (iptc[0] === datasetTag) return iimDatasets(iptc);
  const resource = photoshopResources(iptc).find((r) => r.id === iptcResourceId);
  return resource ? iimDatasets(resource.data) : [];
}

/** The text values of one dataset, decoded as 1:90 says (UTF-8), else as Latin-1; trailing NULs dropped. */
export function iptcTexts(datasets: IptcDataset[], field: { record: number; dataset: number }): string[] {
  const encoding = declaresUtf8(datasets) ? 'utf8' : 'latin1';
  return datasets
    .filter((d) => d.record === field.record && d.dataset === field.dataset)
    .map((d) => d.data.toString(encoding).replace(/\0+$/, ''))
    .filter((text) => text.length > 0);
}

function declaresUtf8(datasets: IptcDataset[]): boolean {
  const { record, dataset } = iptcFields.codedCharacterSet;
  return datasets.some((d) => d.record === record && d.dataset === dataset && d.data.equals(utf8Designation));
}

// ------------------------------------------------------------------ writing

/** Resource 0x0404 holding an IIM stream. */
export function iimResource(stream: Buffer): PhotoshopResource {
  return { signature: '8BIM', id: iptcResourceId, name: Buffer.alloc(0), data: stream };
}

/** An IIM stream. Every value must fit a standard length field (at most 32 767 bytes). */
export function iimStream(datasets: IptcDataset[]): Buffer {
  return Buffer.concat(
    datasets.flatMap(({ record, dataset, data }) => {
      if (data.length > maxStandardLength)
        throw new RangeError('IIM values above 32767 bytes are not written');
      return [Buffer.from([datasetTag, record, dataset, data.length >> 8, data.length & 0xff]), data];
    }),
  );
}

/** A Photoshop block ("Photoshop 3.0\0" and `8BIM` resources) holding `resources`. */
export function photoshopBlock(resources: Omit<PhotoshopResource, 'truncated'>[]): Buffer {
  return Buffer.concat([
    photoshopSignature,
    ...resources.flatMap(({ signature, id, name, data }) => {
      const header = Buffer.alloc(4 + 2 + 1 + name.length + ((name.length + 1) % 2) + 4);
      header.write(signature, 0, 'latin1');
      header.writeUInt16BE(id, 4);
      header[6] = name.length;
      name.copy(header, 7);
      header.writeUInt32BE(data.length, header.length - 4);
      return data.length % 2 ? [header, data, Buffer.alloc(1)] : [header, data];
    }),
  ]);
}

/**
 * The JPEG with an APP13 segment holding `block` after its APPn segments (JFIF, Exif, XMP, ICC) and before
 * the first other marker. Unchanged when the file already has a Photoshop APP13, when `block` is larger
 * than one segment holds (65 533 bytes), or when `data` is not a JPEG.
 */
export function jpegWithPhotoshopBlock(data: Buffer, block: Buffer): Buffer {
  const head = jpegHead(data);
  if (!head || block.length > maxSegmentPayload || !block.subarray(0, 14).equals(photoshopSignature)) {
    return data;
  }
  if (head.segments.some((s) => s.marker === app13 && s.payload.subarray(0, 14).equals(photoshopSignature))) {
    return data;
  }
  return withSegmentAt(data, head.end, app13, [block]);
}

// ------------------------------------------------------------------ what the policies keep

/** Record 2's version as exiftool and Photoshop write it (IIM 4). */
const recordVersion4 = Buffer.from([0x00, 0x04]);

/**
 * keepCopyright: a Photoshop block holding only the source's 2:80 By-line (every repetition) and 2:116
 * Copyright Notice, re-encoded as UTF-8 (1:90 says so; 2:00 gives the record version). Undefined when the
 * source has neither. A value that would not fit one JPEG segment beside the others is left out whole.
 */
export function copyrightIptcBlock(iptc: Buffer | undefined): Buffer | undefined {
  const datasets = readIptc(iptc);
  const kept = [iptcFields.byline, iptcFields.copyrightNotice].flatMap((field) =>
    iptcTexts(datasets, field).map((text) => ({ ...field, data: Buffer.from(text, 'utf8') })),
  );
  if (kept.length === 0) return undefined;
  const header = [
    { ...iptcFields.codedCharacterSet, data: utf8Designation },
    { ...iptcFields.recordVersion, data: recordVersion4 },
  ];
  // The block's fixed part: signature, one resource header (12 bytes), the two header datasets, a pad byte.
  let room = maxSegmentPayload - photoshopSignature.length - 12 - iimStream(header).length - 1;
  const fitting = kept.filter((dataset) => {
    const size = 5 + dataset.data.length;
    if (dataset.data.length > maxStandardLength || size > room) return false;
    room -= size;
    return true;
  });
  if (fitting.length === 0) return undefined;
  return photoshopBlock([iimResource(iimStream([...header, ...fitting]))]);
}

/**
 * keepAll across stages: the source's Photoshop block as it was (every whole resource; of the IIM resource,
 * the datasets that were whole), so JPEG outputs keep it when sharp cannot. A bare IIM stream (TIFF) is
 * wrapped in resource 0x0404. When the block does not fit one JPEG segment, only the IIM resource is kept
 * (thumbnails and other Photoshop resources are what make blocks large); when even that does not fit, or
 * nothing was whole, undefined.
 */
export function keptIptcBlock(iptc: Buffer | undefined): Buffer | undefined {
  if (!iptc?.length) return undefined;
  const resources: PhotoshopResource[] =
    iptc[0] === datasetTag ? [iimResource(iptc)] : photoshopResources(iptc);
  const whole = resources.flatMap((r) => {
    if (r.id !== iptcResourceId) return r.truncated ? [] : [r];
    const data = wholeIim(r.data);
    return data.length ? [{ ...r, data, truncated: undefined }] : [];
  });
  if (whole.length === 0) return undefined;
  const block = photoshopBlock(whole);
  if (block.length <= maxSegmentPayload) return block;
  const iimOnly = photoshopBlock(whole.filter((r) => r.id === iptcResourceId));
  return iimOnly.length > photoshopSignature.length && iimOnly.length <= maxSegmentPayload
    ? iimOnly
    : undefined;
}

/** The datasets of an IIM stream that are whole, as bytes (the stream itself when it is intact). */
function wholeIim(stream: Buffer): Buffer {
  const datasets = iimDatasets(stream);
  const last = datasets.at(-1);
  if (!last) return Buffer.alloc(0);
  return stream.subarray(0, last.data.byteOffset - stream.byteOffset + last.data.length);
}
