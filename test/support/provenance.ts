/**
 * Provenance as a client sees it: the sink outcome an API response gives for an output, and the metadata
 * stored on that output object, must tell the same story (which graph, which source, which engine, which run).
 */
import assert from 'node:assert/strict';
import type { SinkOutcome } from '../../src/core/jobs/job-status.js';
import { decodeMetadataValue } from '../../src/core/storage/generated-metadata.js';
import type { Stack } from './stack.js';

export async function assertOutputProvenance(
  stack: Stack,
  sink: SinkOutcome,
  expected: { workflowId: string; source: { bucket: string; key: string }; graphHash?: string },
): Promise<void> {
  const provenance = sink.provenance;
  assert.ok(provenance, `sink ${sink.key} has no provenance`);
  assert.match(provenance.graphHash, /^[0-9a-f]{64}$/);
  if (expected.graphHash !== undefined) assert.equal(provenance.graphHash, expected.graphHash);
  assert.match(provenance.engine, /^pixelshift\/\S+ sharp\/\S+ libvips\/\S+$/);
  const source = await stack.headObject(expected.source.bucket, expected.source.key);
  assert.equal(provenance.sourceEtag, source.etag);

  const { metadata } = await stack.headObject(sink.bucket, sink.key);
  assert.equal(metadata['pixelshift-graph-hash'], provenance.graphHash);
  assert.equal(metadata['pixelshift-source-etag'], provenance.sourceEtag);
  assert.equal(metadata['pixelshift-engine'], provenance.engine);
  assert.equal(decodeMetadataValue(metadata['pixelshift-graph-id'] ?? ''), expected.workflowId);
}
