import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { TransformGraph } from '../../../src/core/graph/graph.js';
import { graphSinks } from '../../../src/core/graph/summary.js';
import {
  expandGraphTemplate,
  placeholderValues,
  validateGraphTemplate,
} from '../../../src/core/triggers/graph-template.js';

const thumbnailTemplate: TransformGraph = {
  transformUnits: [{ type: 'Resize', width: 320 }],
  outputs: [
    {
      transformUnits: [
        { type: 'ImageFormat', format: 'webp' },
        { type: 'StorageSink', bucket: '{bucket}', key: 'thumbnails/{dir}/{name}.webp' },
      ],
    },
    {
      transformUnits: [
        { type: 'ImageFormat', format: 'jpeg' },
        { type: 'StorageSink', storage: 'archive', bucket: 'copies', key: '{key}{ext}' },
      ],
    },
  ],
};

describe('graph templates', () => {
  it('when a key has folders and a dotted name, then each placeholder takes its part', () => {
    assert.deepEqual(placeholderValues({ bucket: 'in', key: 'photos/2024/cat.final.jpg' }), {
      key: 'photos/2024/cat.final.jpg',
      dir: 'photos/2024',
      name: 'cat.final',
      ext: '.jpg',
      bucket: 'in',
    });
    assert.deepEqual(placeholderValues({ bucket: 'in', key: '.hidden' }), {
      key: '.hidden',
      dir: '',
      name: '.hidden',
      ext: '',
      bucket: 'in',
    });
  });

  it('when a template is expanded, then the object becomes the source and sinks default to its connection', () => {
    const graph = expandGraphTemplate(thumbnailTemplate, {
      connection: 'media',
      bucket: 'uploads',
      key: 'cat photo.jpg',
    });
    assert.deepEqual(graph.transformUnits[0], {
      type: 'StorageSource',
      storage: 'media',
      bucket: 'uploads',
      key: 'cat photo.jpg',
    });
    assert.deepEqual(
      graphSinks(graph).map((sink) => [sink.storage, sink.bucket, sink.key]),
      [
        ['media', 'uploads', 'thumbnails/cat photo.webp'],
        ['archive', 'copies', 'cat photo.jpg.jpg'],
      ],
    );
    // The template itself is not changed.
    assert.equal(thumbnailTemplate.transformUnits.length, 1);
  });

  it('when a template is valid, then it passes the graph validator', () => {
    assert.deepEqual(validateGraphTemplate(thumbnailTemplate), { ok: true, value: thumbnailTemplate });
  });

  it('when a template brings its own source, then it is refused with template_has_source', () => {
    const result = validateGraphTemplate({
      transformUnits: [
        { type: 'StorageSource', bucket: 'a', key: 'b.jpg' },
        ...thumbnailTemplate.transformUnits,
      ],
      outputs: thumbnailTemplate.outputs,
    });
    assert.equal(result.ok, false);
    assert.deepEqual(!result.ok && result.error.map((i) => [i.path, i.code]), [
      ['/transformUnits/0', 'template_has_source'],
    ]);
  });

  it('when a sink key names an unknown placeholder, then the issue points at that key', () => {
    const result = validateGraphTemplate({
      transformUnits: [
        { type: 'Resize', width: 10 },
        { type: 'ImageFormat', format: 'png' },
        { type: 'StorageSink', bucket: 'b', key: 'x/{date}/{name}.png' },
      ],
    });
    assert.deepEqual(!result.ok && result.error.map((i) => [i.path, i.code]), [
      ['/transformUnits/2/key', 'unknown_placeholder'],
    ]);
  });

  it('when a template breaks a chain rule, then the issue path points into the template as written', () => {
    const result = validateGraphTemplate({
      transformUnits: [
        { type: 'Resize', width: 10 },
        { type: 'Blur', sigma: -1 },
      ],
      outputs: [
        {
          transformUnits: [
            { type: 'ImageFormat', format: 'png' },
            { type: 'StorageSink', bucket: 'b', key: '{key}' },
          ],
        },
      ],
    });
    assert.equal(result.ok, false);
    assert.ok(
      !result.ok && result.error.some((i) => i.path.startsWith('/transformUnits/1')),
      JSON.stringify(result),
    );
  });

  it('when a template is not an object, then it is refused without throwing', () => {
    for (const hostile of [null, 'graph', 42, [], { transformUnits: 'x' }]) {
      const result = validateGraphTemplate(hostile);
      assert.equal(result.ok, false);
    }
  });
});
