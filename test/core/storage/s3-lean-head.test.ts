import assert from 'node:assert/strict';
import http from 'node:http';
import net, { type AddressInfo } from 'node:net';
import { after, test } from 'node:test';
import {
  DeleteBucketCommand,
  DeleteObjectsCommand,
  HeadObjectCommand,
  ListObjectVersionsCommand,
  PutBucketVersioningCommand,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { isClassifiedError } from '../../../src/core/errors.js';
import { LeanS3Head } from '../../../src/core/storage/s3-lean-head.js';
import { S3ObjectStore } from '../../../src/core/storage/s3-store.js';
import {
  startHttpProxy,
  type ProxyResponseOverride,
  type RecordedRequest,
} from '../../support/http-proxy.js';
import {
  createTestBucket,
  deleteTestBucket,
  testS3Client,
  testS3Credentials,
  testS3Region,
} from '../../support/s3-buckets.js';
import { s3Endpoint } from '../../support/services.js';
import { verifySigV4 } from '../../support/sigv4-verifier.js';
import { rejectsWith } from '../../support/store-failures.js';

// Registered before s3Endpoint(), whose own `after` may stop the moto server it started.
let removeFixtures: () => Promise<void> = () => Promise.resolve();
after(() => removeFixtures());
const endpoint = await s3Endpoint();
const bucket = await createTestBucket(endpoint, 'lean-head');
const sdk = testS3Client(endpoint);
removeFixtures = async () => {
  await deleteTestBucket(endpoint, bucket);
  sdk.destroy();
};

/** A store behind a recording proxy, so a test sees every request it sent and can answer some itself. */
async function proxiedStore(
  maxAttempts: number,
  intercept?: (request: RecordedRequest) => ProxyResponseOverride | undefined,
): Promise<{ store: S3ObjectStore; requests: RecordedRequest[]; stop: () => Promise<void> }> {
  const proxy = await startHttpProxy(endpoint, intercept ? { intercept } : {});
  const store = new S3ObjectStore({
    endpoint: proxy.endpoint,
    region: testS3Region,
    forcePathStyle: true,
    credentials: testS3Credentials,
    maxAttempts,
  });
  return {
    store,
    requests: proxy.requests,
    stop: async () => {
      store.destroy();
      await proxy.stop();
    },
  };
}

const oddKeys = [
  'plain/photo.jpg',
  'with space/a b.jpg',
  'plus/1+1=2.png',
  "marks/it's (really) *here*!.jpg",
  'query-like/a?b=c&d#e.jpg',
  'percent/100%25 sure %.png',
  'tilde/~user/x.webp',
  'photos/été/ünïcödé.jpg',
  'emoji/📷.webp',
  'double//slash.png',
];

void test('when objects with odd keys and metadata are headed, then the lean HEAD reads what HeadObject reads, signed as S3 checks', async () => {
  const { store, requests, stop } = await proxiedStore(1);
  const lean = new LeanS3Head(sdk);
  try {
    for (const [index, key] of oddKeys.entries()) {
      await sdk.send(
        new PutObjectCommand({
          Bucket: bucket,
          Key: key,
          Body: Buffer.alloc(index + 1, 1),
          ContentType: index % 2 ? 'image/png' : 'image/jpeg',
          Metadata: { owner: `team-${index}`, 'x-note': 'a b' },
        }),
      );
      const fromSdk = await sdk.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
      const fromLean = await lean.head(bucket, key);
      assert.ok(fromLean, key);
      assert.deepEqual(
        fromLean,
        {
          ContentLength: fromSdk.ContentLength,
          ETag: fromSdk.ETag,
          ContentType: fromSdk.ContentType,
          LastModified: fromSdk.LastModified,
          Metadata: fromSdk.Metadata,
        },
        key,
      );
      assert.equal((await store.head(bucket, key)).size, index + 1, key);
    }
    const heads = requests.filter((request) => request.method === 'HEAD');
    assert.equal(heads.length, oddKeys.length);
    for (const head of heads) {
      const verdict = verifySigV4(head, testS3Credentials.secretAccessKey);
      assert.ok(verdict.valid, verdict.reason);
      assert.equal(head.headers['amz-sdk-invocation-id'], undefined, 'sent by the lean HEAD, not the SDK');
    }
  } finally {
    lean.destroy();
    await stop();
  }
});

void test('when a signature is checked with another secret, then the verifier refuses it', async () => {
  // The check above proves something only if the verifier can fail.
  const { store, requests, stop } = await proxiedStore(1);
  try {
    await sdk.send(new PutObjectCommand({ Bucket: bucket, Key: 'verifier/any.jpg', Body: 'x' }));
    await store.head(bucket, 'verifier/any.jpg');
    const [head] = requests;
    assert.ok(head);
    assert.equal(verifySigV4(head, testS3Credentials.secretAccessKey).valid, true);
    assert.equal(verifySigV4(head, 'another-secret').valid, false);
    assert.equal(
      verifySigV4({ ...head, url: `${head.url}x` }, testS3Credentials.secretAccessKey).valid,
      false,
    );
  } finally {
    await stop();
  }
});

void test('when a bucket keeps versions, then a HEAD of an older version describes that version', async () => {
  const versioned = await createTestBucket(endpoint, 'lean-head-versions');
  const { store, requests, stop } = await proxiedStore(1);
  try {
    await sdk.send(
      new PutBucketVersioningCommand({ Bucket: versioned, VersioningConfiguration: { Status: 'Enabled' } }),
    );
    const first = await sdk.send(
      new PutObjectCommand({ Bucket: versioned, Key: 'v/photo.jpg', Body: 'one' }),
    );
    await sdk.send(new PutObjectCommand({ Bucket: versioned, Key: 'v/photo.jpg', Body: 'three' }));
    assert.ok(first.VersionId);
    assert.equal((await store.head(versioned, 'v/photo.jpg')).size, 5);
    assert.equal((await store.head(versioned, 'v/photo.jpg', { versionId: first.VersionId })).size, 3);
    await rejectsWith(
      store.head(versioned, 'v/photo.jpg', { versionId: 'no-such-version' }),
      'source_not_found',
    );
    for (const head of requests)
      assert.ok(verifySigV4(head, testS3Credentials.secretAccessKey).valid, head.url);
  } finally {
    await stop();
    const { Versions = [] } = await sdk.send(new ListObjectVersionsCommand({ Bucket: versioned }));
    const Objects = Versions.map(({ Key, VersionId }) => ({ Key, VersionId }));
    if (Objects.length > 0)
      await sdk.send(new DeleteObjectsCommand({ Bucket: versioned, Delete: { Objects } }));
    await sdk.send(new DeleteBucketCommand({ Bucket: versioned }));
  }
});

void test('when the server answers 503 once, then the HEAD is sent again and succeeds; with one attempt it fails as transient', async () => {
  await sdk.send(new PutObjectCommand({ Bucket: bucket, Key: 'busy/photo.jpg', Body: 'busy' }));
  for (const [attempts, outcome] of [
    [3, 'succeeds'],
    [1, 'fails'],
  ] as const) {
    let refused = 0;
    const { store, requests, stop } = await proxiedStore(attempts, (request) =>
      request.method === 'HEAD' && refused++ === 0 ? { status: 503 } : undefined,
    );
    try {
      if (outcome === 'succeeds') assert.equal((await store.head(bucket, 'busy/photo.jpg')).size, 4);
      else await rejectsWith(store.head(bucket, 'busy/photo.jpg'), 'transient');
      assert.equal(requests.length, outcome === 'succeeds' ? 2 : 1);
    } finally {
      await stop();
    }
  }
});

void test('when the server answers 403, then the HEAD fails as access_denied at once, without another attempt', async () => {
  const { store, requests, stop } = await proxiedStore(3, () => ({ status: 403 }));
  try {
    const error = await rejectsWith(store.head(bucket, 'denied/photo.jpg'), 'access_denied');
    assert.match(error.message, /access was denied \(Forbidden\)/);
    assert.equal(requests.length, 1);
  } finally {
    await stop();
  }
});

/** A server that accepts connections and then does whatever `onConnection` does with them. */
async function rawServer(
  onConnection: (socket: net.Socket) => void,
): Promise<{ url: string; connections: () => number; stop: () => Promise<void> }> {
  let connections = 0;
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    connections++;
    sockets.add(socket);
    socket.on('error', () => undefined);
    onConnection(socket);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    connections: () => connections,
    stop: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

function storeAt(url: string, maxAttempts: number): S3ObjectStore {
  return new S3ObjectStore({
    endpoint: url,
    region: testS3Region,
    forcePathStyle: true,
    credentials: testS3Credentials,
    maxAttempts,
  });
}

void test('when the signal aborts while the server is silent, then the HEAD rejects with the abort, unclassified', async () => {
  const silent = await rawServer(() => undefined);
  const store = storeAt(silent.url, 3);
  try {
    const controller = new AbortController();
    const pending = store.head('any-bucket', 'slow/photo.jpg', { signal: controller.signal });
    setTimeout(() => controller.abort(), 50);
    const error = await pending.then(
      () => assert.fail('expected an abort'),
      (caught: unknown) => caught,
    );
    assert.equal((error as Error).name, 'AbortError');
    assert.ok(!isClassifiedError(error), 'an abort is not a storage failure');
    assert.equal(silent.connections(), 1, 'an aborted HEAD is not tried again');
  } finally {
    store.destroy();
    await silent.stop();
  }
});

void test('when the peer answers with something other than HTTP, then the HEAD fails as transient after its attempts', async () => {
  const garbage = await rawServer((socket) => socket.end('SSH-2.0-OpenSSH_9.6\r\n\r\n\u0000\u0001'));
  const store = storeAt(garbage.url, 2);
  try {
    const error = await rejectsWith(store.head('any-bucket', 'odd/photo.jpg'), 'transient');
    assert.doesNotMatch(error.message, /127\.0\.0\.1/);
    assert.equal(garbage.connections(), 2);
  } finally {
    store.destroy();
    await garbage.stop();
  }
});

void test('when a HEAD answers 200 with headers out of range, then the object is described without them', async () => {
  const odd = http.createServer((_request, response) => {
    response.writeHead(200, { 'last-modified': 'not a date', etag: '"abc"', 'x-amz-meta-Owner': 'x' });
    response.end();
  });
  await new Promise<void>((resolve) => odd.listen(0, '127.0.0.1', resolve));
  const store = storeAt(`http://127.0.0.1:${(odd.address() as AddressInfo).port}`, 1);
  try {
    const info = await store.head('any-bucket', 'odd/headers.jpg');
    assert.equal(info.etag, 'abc');
    assert.equal(info.lastModified, undefined);
    assert.deepEqual(info.metadata, { owner: 'x' });
  } finally {
    store.destroy();
    odd.closeAllConnections();
    await new Promise<void>((resolve) => odd.close(() => resolve()));
  }
});

void test('when a bucket is an S3 Express directory bucket, then the lean HEAD leaves it to the SDK and sends nothing', async () => {
  const aws = new S3Client({ region: 'us-west-2', credentials: testS3Credentials });
  const lean = new LeanS3Head(aws);
  try {
    assert.equal(await lean.head('photos--usw2-az1--x-s3', 'a.jpg'), undefined);
  } finally {
    lean.destroy();
    aws.destroy();
  }
});

void test("when a bucket's endpoint cannot be resolved once, then that HEAD is left to the SDK and the next is sent lean", async () => {
  await sdk.send(new PutObjectCommand({ Bucket: bucket, Key: 'hiccup/photo.jpg', Body: 'hiccup' }));
  const proxy = await startHttpProxy(endpoint);
  let regionCalls = 0;
  const client = new S3Client({
    endpoint: proxy.endpoint,
    forcePathStyle: true,
    credentials: testS3Credentials,
    // A region provider (an instance's metadata service, say) that fails the first time it is asked.
    region: (): Promise<string> => {
      regionCalls += 1;
      return regionCalls === 1
        ? Promise.reject(new Error('metadata service hiccup'))
        : Promise.resolve(testS3Region);
    },
  });
  const lean = new LeanS3Head(client);
  try {
    assert.equal(await lean.head(bucket, 'hiccup/photo.jpg'), undefined);
    assert.equal((await lean.head(bucket, 'hiccup/photo.jpg'))?.ContentLength, 6);
    assert.equal(proxy.requests.length, 1);
    assert.ok(verifySigV4(proxy.requests[0]!, testS3Credentials.secretAccessKey).valid);
  } finally {
    lean.destroy();
    client.destroy();
    await proxy.stop();
  }
});
