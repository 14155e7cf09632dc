import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  hookMappingSchema,
  mapHookBody,
  type HookMapping,
} from '../../../src/core/triggers/inbound-hook-mapping.js';

const pointed: HookMapping = { bucket: { pointer: '/data/bucket' }, key: { pointer: '/data/object/key' } };
const fixed: HookMapping = { connection: 'archive', bucket: { value: 'photos' }, key: { pointer: '/key' } };

const body = (data: Record<string, unknown>) => ({ data });

describe('inbound hook mapping', () => {
  it('when the pointers find strings, then they become the source on the default connection', () => {
    assert.deepEqual(mapHookBody(pointed, body({ bucket: 'photos', object: { key: 'in/cat.jpg' } })), {
      ok: true,
      value: { connection: 'default', bucket: 'photos', key: 'in/cat.jpg' },
    });
  });

  it('when the bucket is fixed, then only the key comes from the body, on the named connection', () => {
    assert.deepEqual(mapHookBody(fixed, { key: 'a b/c.png' }), {
      ok: true,
      value: { connection: 'archive', bucket: 'photos', key: 'a b/c.png' },
    });
  });

  it('when the body is not a JSON object, then it is refused at the root', () => {
    for (const value of [null, 42, 'text', [], [{ key: 'x' }], true]) {
      const result = mapHookBody(fixed, value);
      assert.equal(result.ok, false);
      assert.equal(!result.ok && result.error.pointer, '');
    }
  });

  it('when a pointer finds nothing, a number, an object, an array or null, then the refusal names that pointer', () => {
    const cases: [unknown, string][] = [
      [body({ object: { key: 'k' } }), '/data/bucket'],
      [body({ bucket: 7, object: { key: 'k' } }), '/data/bucket'],
      [body({ bucket: 'photos', object: { key: { nested: 'k' } } }), '/data/object/key'],
      [body({ bucket: 'photos', object: { key: ['k'] } }), '/data/object/key'],
      [body({ bucket: 'photos', object: { key: null } }), '/data/object/key'],
      [body({ bucket: 'photos' }), '/data/object/key'],
    ];
    for (const [input, pointer] of cases) {
      const result = mapHookBody(pointed, input);
      assert.equal(result.ok, false, pointer);
      assert.equal(!result.ok && result.error.pointer, pointer);
      assert.match(!result.ok ? result.error.message : '', new RegExp(pointer.replaceAll('/', '\\/')));
    }
  });

  it('when the bucket or key would not pass the graph contract, then it is refused with its pointer', () => {
    const cases: [Record<string, unknown>, string][] = [
      [{ bucket: 'Photos!', object: { key: 'k' } }, '/data/bucket'],
      [{ bucket: '', object: { key: 'k' } }, '/data/bucket'],
      [{ bucket: 'photos', object: { key: '' } }, '/data/object/key'],
      [{ bucket: 'photos', object: { key: 'a\u0000b' } }, '/data/object/key'],
      [{ bucket: 'photos', object: { key: 'line\nbreak' } }, '/data/object/key'],
      [{ bucket: 'photos', object: { key: 'x'.repeat(1025) } }, '/data/object/key'],
      [{ bucket: 'photos', object: { key: '../etc/passwd' } }, '/data/object/key'],
      [{ bucket: 'photos', object: { key: 'in/../../secret.jpg' } }, '/data/object/key'],
      [{ bucket: 'photos', object: { key: 'in/./cat.jpg' } }, '/data/object/key'],
    ];
    for (const [data, pointer] of cases) {
      const result = mapHookBody(pointed, body(data));
      assert.equal(result.ok, false, JSON.stringify(data).slice(0, 60));
      assert.equal(!result.ok && result.error.pointer, pointer);
    }
  });

  it('when the body tries prototype members, then they are not found and no prototype changes', () => {
    const hostile = JSON.parse(
      '{"__proto__":{"polluted":"yes"},"constructor":{"prototype":{"polluted":"yes"}},"data":{}}',
    ) as unknown;
    const protoMapping: HookMapping = {
      bucket: { value: 'photos' },
      key: { pointer: '/data/constructor/name' },
    };
    assert.equal(mapHookBody(protoMapping, hostile).ok, false);
    const viaProto: HookMapping = {
      bucket: { value: 'photos' },
      key: { pointer: '/data/__proto__/polluted' },
    };
    assert.equal(mapHookBody(viaProto, hostile).ok, false);
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
  });

  it('when a mapping is declared, then the schema refuses malformed pointers, unknown fields and bad buckets', () => {
    assert.equal(hookMappingSchema.safeParse(pointed).success, true);
    assert.equal(hookMappingSchema.safeParse(fixed).success, true);
    for (const bad of [
      { bucket: { pointer: 'no-slash' }, key: { pointer: '/k' } },
      { bucket: { value: 'Not A Bucket' }, key: { pointer: '/k' } },
      { bucket: { value: 'photos' }, key: { value: 'fixed-key' } },
      { bucket: { value: 'photos', pointer: '/b' }, key: { pointer: '/k' } },
      { bucket: { value: 'photos' }, key: { pointer: '/k' }, extra: true },
      { bucket: { value: 'photos' }, key: { pointer: `/${'a/'.repeat(40)}` } },
      { connection: '../x', bucket: { value: 'photos' }, key: { pointer: '/k' } },
    ]) {
      assert.equal(hookMappingSchema.safeParse(bad).success, false, JSON.stringify(bad));
    }
  });
});
