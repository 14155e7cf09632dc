import type { ObjectInfo } from './types.js';

/**
 * Outputs are tagged so upload rules can tell them from originals: a rule on `uploads/` that
 * writes into `uploads/` would otherwise trigger on its own outputs forever.
 */
export const GENERATED_METADATA_KEY = 'pixelshift-generated';
export const GENERATED_METADATA_VALUE = 'true';
export const SOURCE_BUCKET_METADATA_KEY = 'pixelshift-source-bucket';
export const SOURCE_KEY_METADATA_KEY = 'pixelshift-source-key';
export const GRAPH_ID_METADATA_KEY = 'pixelshift-graph-id';

/**
 * S3 caps all user metadata at 2 KB; a long non-ASCII key can triple in size when encoded, so
 * the informational values are cut (at an escape boundary) to leave room for the marker.
 */
const MAX_ENCODED_VALUE_LENGTH = 1024;

export interface GeneratedOrigin {
  graphId?: string;
  sourceBucket: string;
  sourceKey: string;
}

const utf8 = new TextEncoder();

/**
 * Metadata travels as HTTP headers, so values must be printable ASCII: everything else, and `%`
 * itself (so decoding is unambiguous), becomes UTF-8 percent escapes.
 */
export function encodeMetadataValue(value: string): string {
  return value.replace(/[^\x20-\x24\x26-\x7e]/gu, (character) =>
    Array.from(utf8.encode(character), (byte) => `%${byte.toString(16).toUpperCase().padStart(2, '0')}`).join(
      '',
    ),
  );
}

export function decodeMetadataValue(value: string): string {
  try {
    return decodeURIComponent(value);
  } catch {
    return value; // not written by us; show it as stored
  }
}

function capEncoded(encoded: string): string {
  if (encoded.length <= MAX_ENCODED_VALUE_LENGTH) return encoded;
  const cut = encoded.slice(0, MAX_ENCODED_VALUE_LENGTH);
  // Drop a partial `%XX` and any partial multi-byte sequence so the value still decodes.
  return cut.replace(/%[0-9A-F]?$/, '').replace(/(%[C-F][0-9A-F])(%[89AB][0-9A-F])*$/, (tail) => {
    const lead = parseInt(tail.slice(1, 3), 16);
    const expected = lead >= 0xf0 ? 4 : lead >= 0xe0 ? 3 : 2;
    return tail.length / 3 === expected ? tail : '';
  });
}

export function generatedMetadata(origin: GeneratedOrigin): Record<string, string> {
  return {
    [GENERATED_METADATA_KEY]: GENERATED_METADATA_VALUE,
    [SOURCE_BUCKET_METADATA_KEY]: capEncoded(encodeMetadataValue(origin.sourceBucket)),
    [SOURCE_KEY_METADATA_KEY]: capEncoded(encodeMetadataValue(origin.sourceKey)),
    ...(origin.graphId === undefined
      ? {}
      : { [GRAPH_ID_METADATA_KEY]: capEncoded(encodeMetadataValue(origin.graphId)) }),
  };
}

function metadataValue(info: Pick<ObjectInfo, 'metadata'>, key: string): string | undefined {
  // Stores lower-case keys, but be lenient with metadata written by other tools.
  const entry = Object.entries(info.metadata).find(([name]) => name.toLowerCase() === key);
  return entry?.[1];
}

export function isGeneratedObject(info: Pick<ObjectInfo, 'metadata'>): boolean {
  return metadataValue(info, GENERATED_METADATA_KEY)?.toLowerCase() === GENERATED_METADATA_VALUE;
}

/** Where a generated object came from, decoded; undefined for objects pixelshift did not write. */
export function generatedOrigin(info: Pick<ObjectInfo, 'metadata'>): GeneratedOrigin | undefined {
  if (!isGeneratedObject(info)) return undefined;
  const graphId = metadataValue(info, GRAPH_ID_METADATA_KEY);
  return {
    sourceBucket: decodeMetadataValue(metadataValue(info, SOURCE_BUCKET_METADATA_KEY) ?? ''),
    sourceKey: decodeMetadataValue(metadataValue(info, SOURCE_KEY_METADATA_KEY) ?? ''),
    ...(graphId === undefined ? {} : { graphId: decodeMetadataValue(graphId) }),
  };
}
