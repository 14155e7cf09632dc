import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  GENERATED_METADATA_KEY,
  decodeMetadataValue,
  encodeMetadataValue,
  generatedMetadata,
  generatedOrigin,
  isGeneratedObject,
} from '../../../src/core/storage/generated-metadata.js';

const headerSafe = /^[\x20-\x7e]*$/;

void test('when output metadata is built, then it carries the marker and the source, all header-safe', () => {
  const metadata = generatedMetadata({
    graphId: 'g-1',
    sourceBucket: 'photos',
    sourceKey: 'photos/été/ünïcödé 1+1.jpg',
  });
  assert.equal(metadata[GENERATED_METADATA_KEY], 'true');
  for (const [key, value] of Object.entries(metadata)) {
    assert.equal(key, key.toLowerCase(), 'S3 returns keys lower-cased, so they are written that way');
    assert.match(value, headerSafe, key);
  }
  assert.equal(metadata['pixelshift-source-key'], 'photos/%C3%A9t%C3%A9/%C3%BCn%C3%AFc%C3%B6d%C3%A9 1+1.jpg');
  assert.equal(metadata['pixelshift-graph-id'], 'g-1');
});

void test('when values are encoded, then they decode back exactly, including "%" and emoji', () => {
  for (const value of ['plain', '100% cat', 'été', '📷 photo', 'tab\there', 'a+b=c&d']) {
    const encoded = encodeMetadataValue(value);
    assert.match(encoded, headerSafe);
    assert.equal(decodeMetadataValue(encoded), value);
  }
  assert.equal(decodeMetadataValue('%E0%A4%A'), '%E0%A4%A', 'malformed values are shown as stored');
});

void test('when a source key is very long, then its encoded value is cut without breaking an escape', () => {
  const metadata = generatedMetadata({ sourceBucket: 'b', sourceKey: 'é'.repeat(600) });
  const encoded = metadata['pixelshift-source-key']!;
  assert.ok(encoded.length <= 1024);
  assert.equal(decodeMetadataValue(encoded), 'é'.repeat(encoded.length / 6));
  const emoji = generatedMetadata({ sourceBucket: 'b', sourceKey: 'x' + '📷'.repeat(300) })[
    'pixelshift-source-key'
  ]!;
  assert.doesNotThrow(() => decodeURIComponent(emoji));
});

void test('when object metadata has the marker, then it is recognised as generated and its origin decoded', () => {
  const metadata = generatedMetadata({ sourceBucket: 'photos', sourceKey: 'in/é.jpg' });
  assert.equal(isGeneratedObject({ metadata }), true);
  assert.deepEqual(generatedOrigin({ metadata }), { sourceBucket: 'photos', sourceKey: 'in/é.jpg' });
  assert.equal(
    isGeneratedObject({ metadata: { 'Pixelshift-Generated': 'true' } }),
    true,
    'key case does not matter',
  );
});

void test('when the marker is absent or not "true", then the object is not generated', () => {
  assert.equal(isGeneratedObject({ metadata: {} }), false);
  assert.equal(isGeneratedObject({ metadata: { [GENERATED_METADATA_KEY]: 'false' } }), false);
  assert.equal(generatedOrigin({ metadata: { other: 'x' } }), undefined);
});
