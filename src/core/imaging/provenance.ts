/**
 * Provenance on every output: "which run wrote this file, from what?" answered from the object itself.
 * Written as object metadata (S3 user metadata, the local store's sidecar) beside the generated-output
 * marker, the source's bucket and key and the run's workflow ID (storage/generated-metadata.ts), and
 * returned with each sink's result.
 */
import { createRequire } from 'node:module';
import sharp from 'sharp';
import { hashCanonicalJson } from '../canonical-json.js';
import type { TransformGraph } from '../graph/index.js';
import type { ObjectInfo } from '../storage/types.js';

export const GRAPH_HASH_METADATA_KEY = 'pixelshift-graph-hash';
export const SOURCE_ETAG_METADATA_KEY = 'pixelshift-source-etag';
export const SOURCE_VERSION_METADATA_KEY = 'pixelshift-source-version';
export const ENGINE_METADATA_KEY = 'pixelshift-engine';

export interface Provenance {
  /** Hex SHA-256 of the graph's canonical JSON (keys sorted): equal graphs, equal hashes. */
  graphHash: string;
  /** The source object's ETag as the store reported it, when it has one. */
  sourceEtag?: string;
  /** The source object's version, when the graph named one. */
  sourceVersionId?: string;
  /** pixelshift, sharp and libvips versions, e.g. `pixelshift/0.1.0 sharp/0.35.5 libvips/8.18.7`. */
  engine: string;
}

// src/core/imaging and dist/core/imaging are both three levels below the package root.
const { version } = createRequire(import.meta.url)('../../../package.json') as { version: string };
const engine = `pixelshift/${version} sharp/${sharp.versions.sharp ?? 'unknown'} libvips/${sharp.versions.vips}`;

export function provenanceOf(
  graph: TransformGraph,
  source: ObjectInfo,
  versionId: string | undefined,
): Provenance {
  const etag = source.etag?.replace(/^"|"$/g, '');
  return {
    graphHash: hashCanonicalJson(graph),
    ...(etag ? { sourceEtag: etag } : {}),
    ...(versionId === undefined ? {} : { sourceVersionId: versionId }),
    engine,
  };
}

/** The object metadata for a provenance record (printable ASCII values, as headers require). */
export function provenanceMetadata(provenance: Provenance): Record<string, string> {
  const ascii = (value: string) => value.replace(/[^\x20-\x7e]/g, '?').slice(0, 256);
  return {
    [GRAPH_HASH_METADATA_KEY]: provenance.graphHash,
    [ENGINE_METADATA_KEY]: provenance.engine,
    ...(provenance.sourceEtag === undefined
      ? {}
      : { [SOURCE_ETAG_METADATA_KEY]: ascii(provenance.sourceEtag) }),
    ...(provenance.sourceVersionId === undefined
      ? {}
      : { [SOURCE_VERSION_METADATA_KEY]: ascii(provenance.sourceVersionId) }),
  };
}
