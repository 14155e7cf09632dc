import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { after, test } from 'node:test';
import { isClassifiedError } from '../../../src/core/errors.js';
import {
  generatedMetadata,
  generatedOrigin,
  isGeneratedObject,
} from '../../../src/core/storage/generated-metadata.js';
import { S3ObjectStore } from '../../../src/core/storage/s3-store.js';
import { startHttpProxy } from '../../support/http-proxy.js';
import {
  createTestBucket,
  deleteTestBucket,
  testS3Credentials,
  testS3Region,
} from '../../support/s3-buckets.js';
import { s3Endpoint } from '../../support/services.js';
import { rejectsWith } from '../../support/store-failures.js';

function storeFor(url: string): S3ObjectStore {
  // One attempt: these tests observe the store's own behaviour, not the SDK's retries.
  return new S3ObjectStore({
    endpoint: url,
    region: testS3Region,
    forcePathStyle: true,
    credentials: testS3Credentials,
    maxAttempts: 1,
  });
}

// Registered before s3Endpoint(): `after` hooks run in registration order, and a moto server this
// file had to start itself must still be up while the bucket is emptied.
const cleanups: Array<() => unknown> = [];
after(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});
const endpoint = await s3Endpoint();
const bucket = await createTestBucket(endpoint, 'storage-s3');
const store = storeFor(endpoint);
cleanups.push(
  () => deleteTestBucket(endpoint, bucket),
  () => store.destroy(),
);

function md5(data: Buffer): string {
  return createHash('md5').update(data).digest('hex');
}

async function readAll(body: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of body) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** Deterministic pseudo-random bytes produced on demand, so a huge object never sits in memory. */
function generatedStream(totalBytes: number, onChunk: (chunk: Buffer) => void): Readable {
  const block = randomBytes(1024 * 1024);
  let produced = 0;
  let counter = 0;
  return new Readable({
    read() {
      if (produced >= totalBytes) {
        this.push(null);
        return;
      }
      const size = Math.min(block.length, totalBytes - produced);
      const chunk = Buffer.from(block.subarray(0, size));
      chunk.writeUInt32BE(counter++, 0); // every MiB differs, so a misplaced part changes the hash
      produced += size;
      onChunk(chunk);
      this.push(chunk);
    },
  });
}

void test('when a buffer is put, then getBuffer returns the same bytes with an unquoted md5 etag', async () => {
  const data = randomBytes(64 * 1024);
  const written = await store.put(bucket, 'roundtrip/buffer.bin', data, {
    contentType: 'application/x-test',
  });
  assert.deepEqual(written, { bucket, key: 'roundtrip/buffer.bin', bytes: data.length, etag: md5(data) });

  const { info, data: read } = await store.getBuffer(bucket, 'roundtrip/buffer.bin');
  assert.ok(read.equals(data));
  assert.equal(info.size, data.length);
  assert.equal(info.etag, md5(data));
  assert.equal(info.contentType, 'application/x-test');
  assert.ok(info.lastModified instanceof Date);
});

void test('when a stream is put, then getStream streams the same bytes back', async () => {
  const data = randomBytes(300 * 1024);
  const written = await store.put(
    bucket,
    'roundtrip/stream.bin',
    Readable.from([data.subarray(0, 1000), data.subarray(1000)]),
  );
  assert.equal(written.bytes, data.length);

  const { info, body } = await store.getStream(bucket, 'roundtrip/stream.bin');
  assert.ok(body instanceof Readable);
  assert.equal(info.size, data.length);
  assert.ok((await readAll(body)).equals(data));
});

void test('when a 100 MB object is streamed in, then it is uploaded in parts and reads back intact', async () => {
  const totalBytes = 100 * 1024 * 1024;
  const sentHash = createHash('sha256');
  const written = await store.put(
    bucket,
    'large/100mb.bin',
    generatedStream(totalBytes, (chunk) => sentHash.update(chunk)),
  );
  assert.equal(written.bytes, totalBytes);
  assert.match(written.etag, /^[0-9a-f]{32}-13$/, 'a multipart etag of 13 parts of 8 MiB');

  const { info, body } = await store.getStream(bucket, 'large/100mb.bin');
  assert.equal(info.size, totalBytes);
  const receivedHash = createHash('sha256');
  let received = 0;
  for await (const chunk of body) {
    receivedHash.update(chunk as Buffer);
    received += (chunk as Buffer).length;
  }
  assert.equal(received, totalBytes);
  assert.equal(receivedHash.digest('hex'), sentHash.digest('hex'));
  await store.delete(bucket, 'large/100mb.bin');
});

void test('when an object exists, then head describes it without reading it', async () => {
  await store.put(bucket, 'head/object.txt', Buffer.from('hello'), {
    contentType: 'text/plain',
    cacheControl: 'max-age=60',
    metadata: { Owner: 'tests' },
  });
  const info = await store.head(bucket, 'head/object.txt');
  assert.equal(info.bucket, bucket);
  assert.equal(info.key, 'head/object.txt');
  assert.equal(info.size, 5);
  assert.equal(info.etag, md5(Buffer.from('hello')));
  assert.equal(info.contentType, 'text/plain');
  assert.deepEqual(info.metadata, { owner: 'tests' }, 'metadata keys come back lower-cased');
});

void test('when a key is missing, then head, get and getBuffer fail with source_not_found', async () => {
  const headError = await rejectsWith(store.head(bucket, 'missing/cat.jpg'), 'source_not_found');
  assert.equal(
    headError.message,
    `Could not head s3://${bucket}/missing/cat.jpg: the object was not found (NotFound)`,
  );
  const getError = await rejectsWith(store.getStream(bucket, 'missing/cat.jpg'), 'source_not_found');
  assert.equal(
    getError.message,
    `Could not get s3://${bucket}/missing/cat.jpg: the object was not found (NoSuchKey)`,
  );
  await rejectsWith(store.getBuffer(bucket, 'missing/cat.jpg', { maxBytes: 10 }), 'source_not_found');
});

void test('when the bucket is missing, then reads, writes and listings fail with source_not_found', async () => {
  const missingBucket = `${bucket}-missing`;
  const getError = await rejectsWith(store.getBuffer(missingBucket, 'a.jpg'), 'source_not_found');
  assert.match(getError.message, /bucket was not found/);
  await rejectsWith(store.put(missingBucket, 'a.jpg', Buffer.from('x')), 'source_not_found');
  await rejectsWith(store.list(missingBucket), 'source_not_found');
  await rejectsWith(store.head(missingBucket, 'a.jpg'), 'source_not_found');
});

void test('when an error is reported, then its message never names the endpoint', async () => {
  const error = await rejectsWith(store.head(bucket, 'missing/secret.jpg'), 'source_not_found');
  assert.doesNotMatch(error.message, /127\.0\.0\.1|localhost|test/);
});

void test('when keys hold spaces, plus signs, unicode and deep prefixes, then they round-trip exactly', async () => {
  const keys = [
    'with space/a b.jpg',
    'plus/1+1=2.png',
    'photos/été/ünïcödé 1+1.jpg',
    'a/b/c/d/e/f/g/h.png',
    'emoji/📷.webp',
  ];
  for (const [index, key] of keys.entries()) {
    const data = Buffer.from(`object ${index}`);
    await store.put(bucket, `odd-keys/${key}`, data);
    const { info, data: read } = await store.getBuffer(bucket, `odd-keys/${key}`);
    assert.equal(info.key, `odd-keys/${key}`);
    assert.ok(read.equals(data), key);
    assert.equal((await store.head(bucket, `odd-keys/${key}`)).size, data.length);
  }
  const listed = await store.list(bucket, 'odd-keys/');
  assert.deepEqual(listed.map((object) => object.key).sort(), keys.map((key) => `odd-keys/${key}`).sort());
  await store.delete(bucket, 'odd-keys/plus/1+1=2.png');
  await rejectsWith(store.head(bucket, 'odd-keys/plus/1+1=2.png'), 'source_not_found');
});

void test('when output metadata marks an object as generated, then it survives the round trip', async () => {
  const metadata = generatedMetadata({
    graphId: 'graph-7',
    sourceBucket: bucket,
    sourceKey: 'photos/été/ünïcödé 1+1.jpg',
  });
  await store.put(bucket, 'generated/out.webp', Buffer.from('webp'), { contentType: 'image/webp', metadata });
  const info = await store.head(bucket, 'generated/out.webp');
  assert.ok(isGeneratedObject(info));
  assert.deepEqual(generatedOrigin(info), {
    graphId: 'graph-7',
    sourceBucket: bucket,
    sourceKey: 'photos/été/ünïcödé 1+1.jpg',
  });

  await store.put(bucket, 'generated/original.jpg', Buffer.from('jpeg'));
  assert.equal(isGeneratedObject(await store.head(bucket, 'generated/original.jpg')), false);
});

void test('when metadata is not printable ASCII, then put refuses it as invalid_graph before sending', async () => {
  const error = await rejectsWith(
    store.put(bucket, 'bad-metadata.jpg', Buffer.from('x'), { metadata: { caption: 'café' } }),
    'invalid_graph',
  );
  assert.match(error.message, /"caption"/);
  await rejectsWith(store.head(bucket, 'bad-metadata.jpg'), 'source_not_found');
});

void test('when the same key is written twice, then the second write replaces the first', async () => {
  await store.put(bucket, 'idempotent/out.jpg', Buffer.from('first'));
  await store.put(bucket, 'idempotent/out.jpg', Buffer.from('second'));
  assert.equal((await store.getBuffer(bucket, 'idempotent/out.jpg')).data.toString(), 'second');
  assert.equal((await store.list(bucket, 'idempotent/')).length, 1);
});

void test('when listing a prefix, then only keys under it are returned, in key order', async () => {
  await store.put(bucket, 'listing/a.jpg', Buffer.from('a'));
  await store.put(bucket, 'listing/sub/b.jpg', Buffer.from('bb'));
  await store.put(bucket, 'listing-other/c.jpg', Buffer.from('ccc'));
  const listed = await store.list(bucket, 'listing/');
  assert.deepEqual(
    listed.map(({ key, size }) => ({ key, size })),
    [
      { key: 'listing/a.jpg', size: 1 },
      { key: 'listing/sub/b.jpg', size: 2 },
    ],
  );
  assert.equal(listed[0]?.etag, md5(Buffer.from('a')));
});

void test('when an object is deleted, then it is gone, and deleting it again succeeds', async () => {
  await store.put(bucket, 'delete/me.jpg', Buffer.from('x'));
  await store.delete(bucket, 'delete/me.jpg');
  await rejectsWith(store.head(bucket, 'delete/me.jpg'), 'source_not_found');
  await store.delete(bucket, 'delete/me.jpg');
});

void test('when maxBytes is below the object size, then the HEAD refuses it before any download', async () => {
  await store.put(bucket, 'limits/big.bin', randomBytes(4096));
  const proxy = await startHttpProxy(endpoint);
  const proxiedStore = storeFor(proxy.endpoint);
  try {
    const error = await rejectsWith(
      proxiedStore.getStream(bucket, 'limits/big.bin', { maxBytes: 1000 }),
      'too_large',
    );
    assert.equal(
      error.message,
      `Could not get s3://${bucket}/limits/big.bin: the object is 4096 bytes, larger than the limit of 1000 bytes`,
    );
    await rejectsWith(proxiedStore.getBuffer(bucket, 'limits/big.bin', { maxBytes: 1000 }), 'too_large');
    assert.deepEqual(
      proxy.requests.map((request) => request.method),
      ['HEAD', 'HEAD'],
      'no GET was sent',
    );

    const { data } = await proxiedStore.getBuffer(bucket, 'limits/big.bin', { maxBytes: 4096 });
    assert.equal(data.length, 4096, 'an object exactly at the limit is allowed');
  } finally {
    proxiedStore.destroy();
    await proxy.stop();
  }
});

void test('when the server under-reports the size, then the stream itself fails with too_large', async () => {
  await store.put(bucket, 'limits/lying.bin', randomBytes(256 * 1024));
  // HEAD claims a tiny object and GET streams chunked with no length: only the stream guard can tell.
  const proxy = await startHttpProxy(endpoint, {
    rewriteHeaders: (request, headers) => {
      const rewritten = { ...headers };
      if (request.method === 'HEAD') rewritten['content-length'] = '10';
      else delete rewritten['content-length'];
      return rewritten;
    },
  });
  const proxiedStore = storeFor(proxy.endpoint);
  try {
    const { body } = await proxiedStore.getStream(bucket, 'limits/lying.bin', { maxBytes: 100 * 1024 });
    const error = await readAll(body).then(
      () => assert.fail('expected the stream to fail'),
      (caught: unknown) => caught,
    );
    assert.ok(isClassifiedError(error));
    assert.equal(error.code, 'too_large');
    await rejectsWith(
      proxiedStore.getBuffer(bucket, 'limits/lying.bin', { maxBytes: 100 * 1024 }),
      'too_large',
    );
  } finally {
    proxiedStore.destroy();
    await proxy.stop();
  }
});

void test('when the signal aborts during a download, then the body stops with an AbortError', async () => {
  await store.put(bucket, 'abort/download.bin', randomBytes(12 * 1024 * 1024));
  const controller = new AbortController();
  const { body } = await store.getStream(bucket, 'abort/download.bin', { signal: controller.signal });
  let received = 0;
  const error = await (async () => {
    for await (const chunk of body) {
      received += (chunk as Buffer).length;
      controller.abort();
    }
  })().then(
    () => assert.fail('expected the download to be aborted'),
    (caught: unknown) => caught,
  );
  assert.equal((error as Error).name, 'AbortError');
  assert.ok(!isClassifiedError(error), 'an abort is not a storage failure');
  assert.ok(received < 12 * 1024 * 1024);
  assert.ok(body.destroyed);
});

void test('when the signal is already aborted, then no request is made and the abort is rethrown', async () => {
  const proxy = await startHttpProxy(endpoint);
  const proxiedStore = storeFor(proxy.endpoint);
  try {
    const controller = new AbortController();
    controller.abort();
    for (const attempt of [
      () => proxiedStore.head(bucket, 'abort/any.bin', { signal: controller.signal }),
      () => proxiedStore.getBuffer(bucket, 'abort/any.bin', { signal: controller.signal, maxBytes: 10 }),
      () => proxiedStore.put(bucket, 'abort/any.bin', Buffer.from('x'), { signal: controller.signal }),
    ]) {
      const error = await attempt().then(
        () => assert.fail('expected an abort'),
        (caught: unknown) => caught,
      );
      assert.equal((error as Error).name, 'AbortError');
    }
    assert.deepEqual(proxy.requests, []);
  } finally {
    proxiedStore.destroy();
    await proxy.stop();
  }
});

void test('when the signal aborts during a streamed upload, then put rejects with the abort and the source stops', async () => {
  const controller = new AbortController();
  let produced = 0;
  const endless = new Readable({
    read() {
      produced += 1024 * 1024;
      this.push(Buffer.alloc(1024 * 1024, 7));
      if (produced >= 20 * 1024 * 1024) controller.abort();
    },
  });
  const error = await store.put(bucket, 'abort/upload.bin', endless, { signal: controller.signal }).then(
    () => assert.fail('expected an abort'),
    (caught: unknown) => caught,
  );
  assert.equal((error as Error).name, 'AbortError');
  assert.ok(endless.destroyed, 'the source stream is released');
  await rejectsWith(store.head(bucket, 'abort/upload.bin'), 'source_not_found');
});

void test('when the body stream fails, then put rejects with that error unchanged and stores nothing', async () => {
  const encoderFailure = new Error('vips encoder failed');
  let chunks = 0;
  const failing = new Readable({
    read() {
      // Past the first part, so the failure happens mid-multipart-upload.
      if (chunks++ === 10) this.destroy(encoderFailure);
      else this.push(Buffer.alloc(1024 * 1024, 1));
    },
  });
  const error = await store.put(bucket, 'producer/fails.bin', failing).then(
    () => assert.fail('expected the put to fail'),
    (caught: unknown) => caught,
  );
  assert.equal(error, encoderFailure, 'not dressed up as a storage failure');
  await rejectsWith(store.head(bucket, 'producer/fails.bin'), 'source_not_found');
});
