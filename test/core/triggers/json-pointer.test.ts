import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  MAX_POINTER_LENGTH,
  MAX_POINTER_SEGMENTS,
  parsePointer,
  resolvePointer,
} from '../../../src/core/triggers/json-pointer.js';

const document = JSON.parse(
  '{"data":{"object":{"key":"in/cat.jpg","a/b":"slash","m~n":"tilde","":"empty"},"list":[{"k":"zero"},{"k":"one"}]},"__proto__":{"own":"yes"}}',
) as unknown;

describe('JSON pointers', () => {
  it('when a pointer names nested members and array indices, then it finds the value', () => {
    assert.deepEqual(resolvePointer(document, '/data/object/key'), { ok: true, value: 'in/cat.jpg' });
    assert.deepEqual(resolvePointer(document, '/data/list/1/k'), { ok: true, value: 'one' });
    assert.deepEqual(resolvePointer(document, ''), { ok: true, value: document });
  });

  it('when segments use ~1 and ~0, then they stand for "/" and "~" (and an empty segment is a key)', () => {
    assert.deepEqual(resolvePointer(document, '/data/object/a~1b'), { ok: true, value: 'slash' });
    assert.deepEqual(resolvePointer(document, '/data/object/m~0n'), { ok: true, value: 'tilde' });
    assert.deepEqual(resolvePointer(document, '/data/object/'), { ok: true, value: 'empty' });
    // ~01 is "~1" literally, not "/": ~1 is unescaped before ~0.
    assert.deepEqual(parsePointer('/~01'), { ok: true, value: ['~1'] });
  });

  it('when a pointer is malformed, then it is refused as invalid, not resolved', () => {
    for (const bad of ['data/key', '/a~2b', '/a~', 'x']) {
      const result = resolvePointer(document, bad);
      assert.equal(result.ok, false, bad);
      assert.equal(!result.ok && result.error.reason, 'invalid_pointer', bad);
    }
  });

  it('when a pointer is deeper or longer than the caps, then it is refused without walking', () => {
    assert.equal(parsePointer('/a'.repeat(MAX_POINTER_SEGMENTS)).ok, true);
    assert.equal(parsePointer('/a'.repeat(MAX_POINTER_SEGMENTS + 1)).ok, false);
    assert.equal(parsePointer(`/${'a'.repeat(MAX_POINTER_LENGTH)}`).ok, false);
  });

  it('when a segment names an array index that is out of range, signed, padded or "-", then nothing is found', () => {
    for (const pointer of [
      '/data/list/2',
      '/data/list/-1',
      '/data/list/01',
      '/data/list/-',
      '/data/list/ 1',
      '/data/list/length',
    ]) {
      const result = resolvePointer(document, pointer);
      assert.equal(result.ok, false, pointer);
      assert.equal(!result.ok && result.error.reason, 'missing', pointer);
    }
  });

  it('when a pointer names prototype members, then only own properties count', () => {
    for (const pointer of [
      '/constructor',
      '/toString',
      '/data/__proto__',
      '/data/constructor/name',
      '/data/object/hasOwnProperty',
    ]) {
      assert.equal(resolvePointer(document, pointer).ok, false, pointer);
    }
    // A member literally named "__proto__" in the JSON is data like any other.
    assert.deepEqual(resolvePointer(document, '/__proto__/own'), { ok: true, value: 'yes' });
    assert.equal(({} as Record<string, unknown>).own, undefined);
  });

  it('when a pointer goes through a string or a number, then nothing is found', () => {
    assert.equal(resolvePointer(document, '/data/object/key/0').ok, false);
    assert.equal(resolvePointer(document, '/data/object/key/length').ok, false);
    assert.equal(resolvePointer(42, '/a').ok, false);
    assert.equal(resolvePointer(null, '/a').ok, false);
  });

  it('when something is missing, then the message names the first missing part', () => {
    const result = resolvePointer(document, '/data/nothing/key');
    assert.equal(result.ok, false);
    assert.match(!result.ok ? result.error.message : '', /\/data\/nothing$/);
  });
});
