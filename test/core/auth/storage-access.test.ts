import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { checkStorageAccess, storageReferences } from '../../../src/core/auth/storage-access.js';
import type { TransformGraph } from '../../../src/core/graph/index.js';

const graph: TransformGraph = {
  transformUnits: [
    { type: 'StorageSource', bucket: 'in', key: 'a.jpg' },
    { type: 'Watermark', storage: 'brand', bucket: 'logos', key: 'logo.png' },
  ],
  outputs: [
    {
      transformUnits: [
        { type: 'ImageFormat', format: 'webp' },
        { type: 'StorageSink', storage: 'archive', bucket: 'out', key: 'a.webp' },
      ],
    },
  ],
};

const policy = {
  connections: {
    default: { kind: 'local' as const, root: '/tmp/x' },
    brand: { kind: 'local' as const, root: '/tmp/y' },
    archive: { kind: 'local' as const, root: '/tmp/z' },
  },
  grants: {
    '*': [{ connection: 'brand', buckets: ['logos'] }],
    acme: [
      { connection: 'default', buckets: ['in'] },
      { connection: 'archive', buckets: ['o*'] },
    ],
  },
};

describe('storage access', () => {
  test('when a graph is walked, then every source, watermark and sink is found with its pointer and connection', () => {
    assert.deepEqual(storageReferences(graph, ['graphs', 2]), [
      {
        at: '/graphs/2/transformUnits/0',
        type: 'StorageSource',
        connection: 'default',
        explicitConnection: false,
        bucket: 'in',
      },
      {
        at: '/graphs/2/transformUnits/1',
        type: 'Watermark',
        connection: 'brand',
        explicitConnection: true,
        bucket: 'logos',
      },
      {
        at: '/graphs/2/outputs/0/transformUnits/1',
        type: 'StorageSink',
        connection: 'archive',
        explicitConnection: true,
        bucket: 'out',
      },
    ]);
  });

  test('when the account’s own grants and the "*" grants cover every bucket, then access is allowed', () => {
    assert.deepEqual(checkStorageAccess([{ graph, base: [] }], policy, 'acme'), {
      unknownConnections: [],
      denied: [],
    });
  });

  test('when another account submits the same graph, then only the buckets granted to everyone pass', () => {
    const result = checkStorageAccess([{ graph, base: [] }], policy, 'globex');
    assert.deepEqual(
      result.denied.map((issue) => issue.path),
      ['/transformUnits/0/bucket', '/outputs/0/transformUnits/1/bucket'],
    );
  });

  test('when a connection is unknown (including prototype names), then it is reported at the storage field', () => {
    for (const name of ['nowhere', 'constructor', '__proto__', 'toString']) {
      const bad: TransformGraph = {
        transformUnits: [{ type: 'StorageSource', storage: name, bucket: 'in', key: 'k' }],
      };
      const result = checkStorageAccess([{ graph: bad, base: [] }], policy, 'acme');
      assert.deepEqual(
        result.unknownConnections.map((issue) => [issue.path, issue.code]),
        [['/transformUnits/0/storage', 'unknown_connection']],
      );
    }
  });

  test('when an account id is a prototype name, then it has no grants', () => {
    const result = checkStorageAccess([{ graph, base: [] }], { ...policy, grants: {} }, '__proto__');
    assert.equal(result.denied.length, 3);
  });
});
