import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import sharp from 'sharp';
import request from 'supertest';
import type { SinkOutcome } from '../../../src/core/jobs/job-status.js';
import { advanceGraphRun, finishBatch } from '../../../src/db/graph-runs.js';
import { ThumbnailCache } from '../../../src/features/batches/thumbnail-cache.js';
import {
  createTestAccount,
  createTestApi,
  validGraph,
  type TestAccount,
  type TestApi,
} from '../../support/api-harness.js';
import { MemoryStore, storesOf } from '../../support/memory-store.js';

/** Byte limit of this suite's server: the noise image below is larger, every other image smaller. */
const maxSourceBytes = 600_000;

let api: TestApi;
const store = new MemoryStore();
before(async () => {
  api = await createTestApi({
    stores: storesOf(store),
    env: { PIXELSHIFT_MAX_SOURCE_BYTES: String(maxSourceBytes) },
  });
});
after(() => api.close());

const picture = (width: number, height: number) =>
  sharp({ create: { width, height, channels: 3, background: { r: 200, g: 80, b: 40 } } })
    .jpeg()
    .toBuffer();

function sink(key: string, bucket = 'photos'): SinkOutcome {
  return { storage: 'default', bucket, key, bytes: 1, format: 'jpeg', width: 1, height: 1, etag: '"x"' };
}

/** A finished one-graph batch whose graph wrote these sinks. */
async function batchWith(account: TestAccount, sinks: SinkOutcome[]): Promise<string> {
  const res = await request(api.app)
    .post('/v1/batches')
    .set(account.auth)
    .send({ graphs: [validGraph()] })
    .expect(201);
  const batchId = res.body.batchId as string;
  await advanceGraphRun(api.db, `graph/${account.accountId}/${batchId}/0`, {
    state: 'succeeded',
    sinks,
    failures: [],
  });
  await finishBatch(api.db, batchId, 'succeeded');
  return batchId;
}

const thumbnailPath = (batchId: string, output = 0, index = 0) =>
  `/v1/batches/${batchId}/graphs/${index}/outputs/${output}/thumbnail`;

/** supertest buffers image/webp bodies as Buffers with this parser. */
const binary = (res: request.Response, done: (error: Error | null, body: Buffer) => void) => {
  const chunks: Buffer[] = [];
  res.on('data', (chunk: Buffer) => chunks.push(chunk));
  res.on('end', () => done(null, Buffer.concat(chunks)));
};

describe('GET /v1/batches/{id}/graphs/{index}/outputs/{outputIndex}/thumbnail', () => {
  test('when an output was written, then a WebP that fits inside the size comes with an ETag and private caching', async () => {
    const account = await createTestAccount(api);
    const key = `out/${randomBytes(4).toString('hex')}.jpg`;
    store.seed('photos', key, await picture(800, 400));
    const batchId = await batchWith(account, [sink('unused.jpg'), sink(key)]);

    const res = await request(api.app)
      .get(thumbnailPath(batchId, 1))
      .query({ size: 100 })
      .set(account.auth)
      .buffer(true)
      .parse(binary)
      .expect(200);
    assert.equal(res.headers['content-type'], 'image/webp');
    assert.equal(res.headers['cache-control'], 'private, max-age=300');
    assert.match(res.headers.etag!, /^"[A-Za-z0-9_-]{27}"$/);
    const meta = await sharp(res.body as Buffer).metadata();
    assert.deepEqual(
      { format: meta.format, width: meta.width, height: meta.height },
      {
        format: 'webp',
        width: 100,
        height: 50,
      },
    );

    // The default size is 256; a small image is never enlarged.
    const small = `out/${randomBytes(4).toString('hex')}.jpg`;
    store.seed('photos', small, await picture(40, 30));
    const smallBatch = await batchWith(account, [sink(small)]);
    const kept = await request(api.app)
      .get(thumbnailPath(smallBatch))
      .set(account.auth)
      .buffer(true)
      .parse(binary)
      .expect(200);
    const keptMeta = await sharp(kept.body as Buffer).metadata();
    assert.deepEqual([keptMeta.width, keptMeta.height], [40, 30]);
  });

  test('when the same thumbnail is asked again, then it comes from the cache; with its ETag, 304 without reading the object', async () => {
    const account = await createTestAccount(api);
    const key = `out/${randomBytes(4).toString('hex')}.jpg`;
    store.seed('photos', key, await picture(300, 300));
    const batchId = await batchWith(account, [sink(key)]);
    const get = () =>
      request(api.app).get(thumbnailPath(batchId)).set(account.auth).buffer(true).parse(binary);

    const reads = store.calls.getBuffer;
    const first = await get().expect(200);
    const second = await get().expect(200);
    assert.equal(store.calls.getBuffer - reads, 1, 'decoded once');
    assert.deepEqual(second.body, first.body);
    assert.equal(second.headers.etag, first.headers.etag);

    const fresh = await get().set('If-None-Match', `"other", W/${first.headers.etag}`).expect(304);
    assert.equal(fresh.headers.etag, first.headers.etag);
    assert.equal(fresh.headers['cache-control'], 'private, max-age=300');
    assert.equal(store.calls.getBuffer - reads, 1);

    // Another size is another thumbnail; a replaced object is another ETag.
    const other = await get().query({ size: 64 }).expect(200);
    assert.notEqual(other.headers.etag, first.headers.etag);
    store.seed('photos', key, await picture(200, 100));
    const replaced = await get().set('If-None-Match', first.headers.etag!).expect(200);
    assert.notEqual(replaced.headers.etag, first.headers.etag);
    assert.equal((await sharp(replaced.body as Buffer).metadata()).width, 200);
  });

  test('when the output belongs to another account, was not written, or is gone, then 404 not_found and no object is read', async () => {
    const owner = await createTestAccount(api);
    const intruder = await createTestAccount(api);
    const key = `out/${randomBytes(4).toString('hex')}.jpg`;
    store.seed('photos', key, await picture(50, 50));
    const batchId = await batchWith(owner, [sink(key), sink('out/deleted.jpg')]);
    const queued = await request(api.app)
      .post('/v1/batches')
      .set(owner.auth)
      .send({ graphs: [validGraph()] })
      .expect(201);

    const heads = store.calls.head;
    for (const [account, path] of [
      [intruder, thumbnailPath(batchId)],
      [owner, thumbnailPath(batchId, 2)],
      [owner, thumbnailPath(batchId, 0, 1)],
      [owner, thumbnailPath(queued.body.batchId as string)],
      [owner, thumbnailPath('b_0000000000000000000000000a')],
      [owner, thumbnailPath('..%2F..%2Fetc')],
    ] as const) {
      const res = await request(api.app).get(path).set(account.auth).expect(404);
      assert.equal(res.body.error.code, 'not_found', path);
    }
    assert.equal(store.calls.head, heads, 'the database answered first');
    const gone = await request(api.app).get(thumbnailPath(batchId, 1)).set(owner.auth).expect(404);
    assert.equal(gone.body.error.code, 'not_found');
  });

  test('when the output’s bucket is no longer granted to the account, then 403 access_denied and nothing is read', async () => {
    const account = await createTestAccount(api);
    api.config.storage.grants[account.accountId] = [{ connection: 'default', buckets: ['private-*'] }];
    const key = `out/${randomBytes(4).toString('hex')}.jpg`;
    store.seed('private-out', key, await picture(50, 50));
    const batchId = await batchWith(account, [sink(key, 'private-out')]);
    await request(api.app)
      .get(thumbnailPath(batchId))
      .set(account.auth)
      .buffer(true)
      .parse(binary)
      .expect(200);
    delete api.config.storage.grants[account.accountId];
    const heads = store.calls.head;
    const res = await request(api.app).get(thumbnailPath(batchId)).set(account.auth).expect(403);
    assert.equal(res.body.error.code, 'access_denied');
    assert.equal(store.calls.head, heads);
  });

  test('when the object is not an image, is damaged, empty, or too large in bytes or pixels, then 422 with the engine’s code', async () => {
    const account = await createTestAccount(api);
    const noise = await sharp(randomBytes(600 * 600 * 3), { raw: { width: 600, height: 600, channels: 3 } })
      .png({ compressionLevel: 0 })
      .toBuffer();
    assert.ok(noise.length > maxSourceBytes);
    const cases: [string, Buffer, string][] = [
      ['font.ttf', Buffer.from('\0\x01\0\0not an image at all'), 'unsupported_input'],
      ['empty.jpg', Buffer.alloc(0), 'unsupported_input'],
      ['truncated.jpg', (await picture(400, 400)).subarray(0, 400), 'corrupt_input'],
      ['noise.png', noise, 'too_large'],
    ];
    for (const [name, data] of cases) store.seed('photos', `bad/${account.accountId}/${name}`, data);
    store.seedFixture('photos', `bad/${account.accountId}/bomb.png`, 'bad-bomb-png-65536x65536.png');
    cases.push(['bomb.png', Buffer.alloc(0), 'too_large']);
    const batchId = await batchWith(
      account,
      cases.map(([name]) => sink(`bad/${account.accountId}/${name}`)),
    );
    for (const [output, [name, , code]] of cases.entries()) {
      const res = await request(api.app).get(thumbnailPath(batchId, output)).set(account.auth).expect(422);
      assert.equal(res.body.error.code, code, name);
      assert.ok(!/ at thumbnail\)/.test(res.body.error.message), res.body.error.message);
    }
  });

  test('when the size, an index or a header is malformed, hostile or oversized, then 400 invalid_request and nothing is read', async () => {
    const account = await createTestAccount(api);
    const key = `out/${randomBytes(4).toString('hex')}.jpg`;
    store.seed('photos', key, await picture(50, 50));
    const batchId = await batchWith(account, [sink(key)]);
    const heads = store.calls.head;
    const cases: [string, Record<string, string>, Record<string, string>][] = [
      [thumbnailPath(batchId), { size: '31' }, {}],
      [thumbnailPath(batchId), { size: '513' }, {}],
      [thumbnailPath(batchId), { size: 'big' }, {}],
      [thumbnailPath(batchId), { size: '1e2' }, {}],
      [thumbnailPath(batchId), { size: '9'.repeat(400) }, {}],
      [thumbnailPath(batchId), { width: '100' }, {}],
      [`/v1/batches/${batchId}/graphs/01/outputs/0/thumbnail`, {}, {}],
      [`/v1/batches/${batchId}/graphs/0/outputs/-1/thumbnail`, {}, {}],
      [`/v1/batches/${batchId}/graphs/0/outputs/${'9'.repeat(20)}/thumbnail`, {}, {}],
      [thumbnailPath(batchId), {}, { 'If-None-Match': `"${'a'.repeat(2000)}"` }],
    ];
    for (const [path, query, headers] of cases) {
      const res = await request(api.app).get(path).query(query).set(account.auth).set(headers).expect(400);
      assert.equal(res.body.error.code, 'invalid_request', `${path} ${JSON.stringify(query).slice(0, 40)}`);
    }
    assert.equal(store.calls.head, heads);
    await request(api.app).get(thumbnailPath(batchId)).expect(401);
  });
});

describe('the thumbnail cache', () => {
  test('when more than its bounds are stored, then the least recently used entries leave first', () => {
    const cache = new ThumbnailCache({ maxEntries: 3, maxBytes: 10 });
    cache.set('a', Buffer.alloc(2));
    cache.set('b', Buffer.alloc(2));
    cache.set('c', Buffer.alloc(2));
    assert.ok(cache.get('a'), 'a is now the most recently used');
    cache.set('d', Buffer.alloc(2));
    assert.equal(cache.get('b'), undefined, 'b was the least recently used');
    assert.deepEqual([cache.size, cache.totalBytes], [3, 6]);
    cache.set('e', Buffer.alloc(8));
    assert.ok(cache.totalBytes <= 10 && cache.get('e'));
    cache.set('huge', Buffer.alloc(11));
    assert.equal(cache.get('huge'), undefined, 'an entry above the byte bound is not kept');
  });
});
