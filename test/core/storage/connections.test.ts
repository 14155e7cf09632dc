import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { ClassifiedError } from '../../../src/core/errors.js';
import { validateGraph } from '../../../src/core/graph/validate.js';
import {
  createObjectStores,
  DEFAULT_WATCH_SETTLE_MS,
  localWatchSettings,
  storageConnectionsSchema,
} from '../../../src/core/storage/connections.js';
import { LocalObjectStore } from '../../../src/core/storage/local-store.js';
import { S3ObjectStore } from '../../../src/core/storage/s3-store.js';

const scratch = await mkdtemp(path.join(os.tmpdir(), 'pixelshift-connections-'));
after(() => rm(scratch, { recursive: true, force: true }));

void test('when connections of both kinds are configured, then the schema accepts them', () => {
  const parsed = storageConnectionsSchema.parse({
    default: { kind: 's3', region: 'eu-west-1' },
    minio: {
      kind: 's3',
      endpoint: 'http://127.0.0.1:9000',
      region: 'us-east-1',
      forcePathStyle: true,
      credentials: { accessKeyId: 'id', secretAccessKey: 'secret' },
    },
    laptop: { kind: 'local', root: scratch },
  });
  assert.deepEqual(Object.keys(parsed), ['default', 'minio', 'laptop']);
});

void test('when a connection is malformed, then the schema rejects it', () => {
  const invalid = [
    { default: { kind: 'ftp', root: '/x' } },
    { default: { kind: 's3' } }, // region is required
    { default: { kind: 's3', region: 'x', endpoint: 'not a url' } },
    { default: { kind: 's3', region: 'x', credentials: { accessKeyId: 'id' } } },
    { default: { kind: 'local', root: '' } },
    { default: { kind: 'local', root: '/x', extra: true } }, // typos are caught, not ignored
    { 'bad name!': { kind: 'local', root: '/x' } },
  ];
  for (const config of invalid) {
    assert.equal(storageConnectionsSchema.safeParse(config).success, false, JSON.stringify(config));
  }
});

void test('when a connection name is valid in server config, then a graph may name it too, and the reverse', () => {
  const graphNaming = (name: string) =>
    validateGraph({
      transformUnits: [
        { type: 'StorageSource', storage: name, bucket: 'in', key: 'a.png' },
        { type: 'Flip' },
        { type: 'ImageFormat', format: 'png' },
        { type: 'StorageSink', storage: name, bucket: 'out', key: 'a.png' },
      ],
    }).ok;
  const configNaming = (name: string) =>
    storageConnectionsSchema.safeParse({ [name]: { kind: 'local', root: scratch } }).success;
  for (const name of ['default', 'eu.west', 'my_store-2', 'x'.repeat(64)]) {
    assert.deepEqual([configNaming(name), graphNaming(name)], [true, true], name);
  }
  for (const name of ['', '-lead', 'bad name!', 'x'.repeat(65)]) {
    assert.deepEqual([configNaming(name), graphNaming(name)], [false, false], name);
  }
});

void test('when stores are created, then each name gets a store of its kind', () => {
  const registry = createObjectStores(
    storageConnectionsSchema.parse({
      default: { kind: 's3', region: 'us-east-1', endpoint: 'http://127.0.0.1:1', forcePathStyle: true },
      laptop: { kind: 'local', root: scratch },
    }),
  );
  try {
    assert.ok(registry.get('default') instanceof S3ObjectStore);
    assert.equal(registry.get('default').kind, 's3');
    const local = registry.get('laptop');
    assert.ok(local instanceof LocalObjectStore);
    assert.equal(local.root, scratch);
    assert.equal(registry.get('laptop'), local, 'one store per connection, reused');
    assert.deepEqual(registry.names(), ['default', 'laptop']);
    assert.equal(registry.has('laptop'), true);
  } finally {
    registry.destroy();
  }
});

void test('when an unknown connection is asked for, then it fails as invalid_graph', () => {
  const registry = createObjectStores({ laptop: { kind: 'local', root: scratch } });
  for (const name of ['missing', 'constructor', '__proto__']) {
    assert.throws(
      () => registry.get(name),
      (error: unknown) =>
        error instanceof ClassifiedError &&
        error.code === 'invalid_graph' &&
        error.message === `Unknown storage connection ${JSON.stringify(name)}`,
    );
    assert.equal(registry.has(name), false);
  }
});

void test('when a local connection is watched, then its settle time is the default or the one it gives', () => {
  const parsed = storageConnectionsSchema.parse({
    plain: { kind: 'local', root: scratch },
    watched: { kind: 'local', root: scratch, watch: true },
    patient: { kind: 'local', root: scratch, watch: { settle: '30s' } },
    defaulted: { kind: 'local', root: scratch, watch: {} },
    off: { kind: 'local', root: scratch, watch: false },
  });
  const settle = (name: string) => {
    const connection = parsed[name]!;
    return connection.kind === 'local' ? localWatchSettings(connection)?.settleMs : 'not local';
  };
  assert.equal(settle('plain'), undefined);
  assert.equal(settle('off'), undefined);
  assert.equal(settle('watched'), DEFAULT_WATCH_SETTLE_MS);
  assert.equal(settle('defaulted'), DEFAULT_WATCH_SETTLE_MS);
  assert.equal(settle('patient'), 30_000);
  assert.equal(DEFAULT_WATCH_SETTLE_MS, 5_000);
  for (const bad of ['0s', '2h', 'soon', 5, { settle: '1s', interval: '1s' }]) {
    const watch = typeof bad === 'object' ? bad : { settle: bad };
    const result = storageConnectionsSchema.safeParse({ x: { kind: 'local', root: scratch, watch } });
    assert.equal(result.success, false, JSON.stringify(bad));
  }
});
