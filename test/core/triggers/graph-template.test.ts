import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { TransformGraph } from '../../../src/core/graph/graph.js';
import { graphSinks } from '../../../src/core/graph/summary.js';
import {
  expandGraphTemplate,
  graphTemplateSchema,
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

/** A resize written as PNG to the one sink given. */
const withSink = (sink: { bucket: string; key: string }) => ({
  transformUnits: [
    { type: 'Resize', width: 10 },
    { type: 'ImageFormat', format: 'png' },
    { type: 'StorageSink', ...sink },
  ],
});

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
    const result = validateGraphTemplate(withSink({ bucket: 'b', key: 'x/{date}/{name}.png' }));
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

  it('when a template nests a StorageSource in an output, then template_has_source points at it, once', () => {
    const result = validateGraphTemplate({
      transformUnits: [{ type: 'Resize', width: 10 }],
      outputs: [
        {
          transformUnits: [
            { type: 'StorageSource', bucket: 'b', key: 'k' },
            { type: 'ImageFormat', format: 'png' },
            { type: 'StorageSink', bucket: 'b', key: '{key}' },
          ],
        },
      ],
    });
    assert.deepEqual(!result.ok && result.error.map((i) => [i.path, i.code]), [
      ['/outputs/0/transformUnits/0', 'template_has_source'],
    ]);
  });

  it('when a sink bucket uses a key placeholder, then invalid_value says only {bucket} may be used', () => {
    const result = validateGraphTemplate(withSink({ bucket: 'out-{name}', key: '{key}' }));
    assert.deepEqual(!result.ok && result.error, [
      {
        path: '/transformUnits/2/bucket',
        code: 'invalid_value',
        message:
          'Expected a bucket name or {bucket} for bucket but received "out-{name}"; only keys may use {key}, {dir}, {name} and {ext}',
      },
    ]);
  });

  it('when a sink key has a brace outside a placeholder, then unknown_placeholder, once', () => {
    const result = validateGraphTemplate(withSink({ bucket: 'b', key: 'a{b/{name}' }));
    assert.deepEqual(!result.ok && result.error.map((i) => [i.path, i.code, i.message]), [
      [
        '/transformUnits/2/key',
        'unknown_placeholder',
        'Expected only {key}, {dir}, {name}, {ext}, {bucket} in key but received a brace outside a placeholder',
      ],
    ]);
  });

  it('when a template is as long as its schema allows, then the validator accepts it too, placeholders and all', () => {
    const template = withSink({
      bucket: `{bucket}${'b'.repeat(55)}`,
      key: `${'k'.repeat(1003)}{dir}{name}{ext}{key}`,
    });
    assert.equal(graphTemplateSchema.safeParse(template).success, true);
    assert.deepEqual(validateGraphTemplate(template), { ok: true, value: template });
  });

  it('when a template is one character longer than its schema allows, then the validator refuses it too', () => {
    const template = withSink({ bucket: 'b', key: `${'k'.repeat(1020)}{dir}` });
    assert.equal(graphTemplateSchema.safeParse(template).success, false);
    const result = validateGraphTemplate(template);
    assert.deepEqual(!result.ok && result.error.map((i) => [i.path, i.code]), [
      ['/transformUnits/2/key', 'out_of_range'],
    ]);
  });

  it('when a template is not an object, then it is refused without throwing', () => {
    for (const hostile of [null, 'graph', 42, [], { transformUnits: 'x' }]) {
      const result = validateGraphTemplate(hostile);
      assert.equal(result.ok, false);
    }
  });
});
