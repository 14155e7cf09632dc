/**
 * The template editor's pointer helpers: issues of the dry run (a sample source prepended to the template)
 * map back into the template, save issues (`/template/…`) too, and each pointer is found at its line.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  fillPlaceholders,
  formatPointer,
  graphOfTemplate,
  graphPointerToTemplate,
  locatePointer,
  parsePointer,
  requestPointerToTemplate,
  syntaxErrorPosition,
} from '../../dashboard/src/json-pointer.js';

describe('JSON pointers', () => {
  test('when a pointer has escaped characters, then parsing and formatting round-trip them', () => {
    assert.deepEqual(parsePointer('/a~1b/0/c~0d'), ['a/b', '0', 'c~d']);
    assert.equal(formatPointer(['a/b', '0', 'c~d']), '/a~1b/0/c~0d');
    assert.deepEqual(parsePointer(''), []);
    assert.throws(() => parsePointer('a/b'), /Not a JSON pointer/);
  });
});

describe('graphOfTemplate and graphPointerToTemplate', () => {
  const template = {
    transformUnits: [
      { type: 'Resize', width: 320 },
      { type: 'StorageSink', bucket: '{bucket}', key: '{dir}/{name}.{ext}' },
    ],
    outputs: [{ transformUnits: [{ type: 'StorageSink', bucket: 'b', key: '{key}' }] }],
  };

  test('when a template is checked, then a sample source comes first and its placeholders get sample values', () => {
    assert.deepEqual(graphOfTemplate(template, 'photos'), {
      transformUnits: [
        { type: 'StorageSource', bucket: 'photos', key: 'uploads/sample.jpg' },
        { type: 'Resize', width: 320 },
        { type: 'StorageSink', bucket: 'photos', key: 'uploads/sample.jpg' },
      ],
      outputs: [{ transformUnits: [{ type: 'StorageSink', bucket: 'b', key: 'uploads/sample.jpg' }] }],
    });
    assert.equal(fillPlaceholders('{name}-{name}', 'x'), 'sample-sample');
  });

  test('when the dry run names a top-level unit, then the pointer moves one unit back; nested outputs keep theirs', () => {
    assert.equal(graphPointerToTemplate('/transformUnits/1/width'), '/transformUnits/0/width');
    assert.equal(graphPointerToTemplate('/transformUnits/2'), '/transformUnits/1');
    assert.equal(
      graphPointerToTemplate('/outputs/0/transformUnits/0/key'),
      '/outputs/0/transformUnits/0/key',
    );
    assert.equal(graphPointerToTemplate(''), '');
  });

  test('when the dry run names the sample source, then there is no template pointer for it', () => {
    assert.equal(graphPointerToTemplate('/transformUnits/0/bucket'), undefined);
  });

  test('when a template is not an object, then it is handed to the dry run as it is (the API names the problem)', () => {
    assert.equal(graphOfTemplate('nope', 'b'), 'nope');
    assert.deepEqual(graphOfTemplate([1], 'b'), [1]);
  });

  test('when a save names a template field, then the pointer is relative to the template; other fields have none', () => {
    assert.equal(requestPointerToTemplate('/template/transformUnits/0/width'), '/transformUnits/0/width');
    assert.equal(requestPointerToTemplate('/template'), '');
    assert.equal(requestPointerToTemplate('/bucket'), undefined);
  });
});

describe('locatePointer', () => {
  const text = JSON.stringify(
    {
      transformUnits: [
        { type: 'Resize', width: 0 },
        { type: 'StorageSink', bucket: 'b', key: 'k' },
      ],
    },
    null,
    2,
  );

  test('when a pointer names an existing member or item, then its line is found', () => {
    const lines = text.split('\n');
    const width = locatePointer(text, '/transformUnits/0/width');
    assert.ok(width);
    assert.match(lines[width.line - 1]!, /"width": 0/);
    const sink = locatePointer(text, '/transformUnits/1');
    assert.ok(sink);
    assert.match(lines[sink.line - 1]!, /^\s+\{$/);
    assert.match(lines[sink.line]!, /"StorageSink"/);
    assert.equal(locatePointer(text, '')?.line, 1);
  });

  test('when a pointer names a missing member or item, then the nearest existing ancestor is given', () => {
    const lines = text.split('\n');
    const missing = locatePointer(text, '/transformUnits/0/height');
    assert.ok(missing);
    assert.match(lines[missing.line - 1]!, /^\s+\{$/);
    assert.equal(locatePointer(text, '/transformUnits/9')?.line, 2);
  });

  test('when keys contain escapes or strings contain brackets, then they do not confuse the scan', () => {
    const tricky = '{"a\\"]": "[{", "b/c": {"x": [1, "}", 2]}}';
    assert.equal(locatePointer(tricky, '/b~1c/x/2')?.offset, tricky.lastIndexOf('2'));
  });

  test('when the text is not JSON, then no position is given, and a syntax error names its line', () => {
    const broken = '{\n  "a": 1,\n  oops\n}';
    assert.equal(locatePointer(broken, '/a'), undefined);
    let error: unknown;
    try {
      JSON.parse(broken);
    } catch (caught) {
      error = caught;
    }
    assert.equal(syntaxErrorPosition(broken, error)?.line, 3);
  });
});
