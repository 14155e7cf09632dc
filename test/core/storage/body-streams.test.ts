import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { test } from 'node:test';
import { ClassifiedError } from '../../../src/core/errors.js';
import { collectBody, guardedBody } from '../../../src/core/storage/body-streams.js';

function guard(source: Readable, maxBytes?: number): Readable {
  return guardedBody(source, {
    ...(maxBytes === undefined ? {} : { maxBytes }),
    tooLarge: () => new ClassifiedError('too_large', 'over the limit'),
    mapSourceError: (error) => new ClassifiedError('transient', 'source failed', { cause: error }),
  });
}

async function failureOf(body: Readable): Promise<unknown> {
  return collectBody(body).then(
    () => assert.fail('expected the stream to fail'),
    (caught: unknown) => caught,
  );
}

void test('when more bytes arrive than maxBytes, then the stream fails with too_large and the source is released', async () => {
  const source = Readable.from([Buffer.alloc(600), Buffer.alloc(600)], { objectMode: false });
  const error = await failureOf(guard(source, 1000));
  assert.ok(error instanceof ClassifiedError);
  assert.equal(error.code, 'too_large');
  assert.ok(source.destroyed);
});

void test('when exactly maxBytes arrive, then the stream completes', async () => {
  const data = await collectBody(guard(Readable.from([Buffer.alloc(500), Buffer.alloc(500)]), 1000));
  assert.equal(data.length, 1000);
});

void test('when the source fails mid-stream, then the consumer sees the mapped error', async () => {
  const source = new Readable({
    read() {
      this.destroy(Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' }));
    },
  });
  const error = await failureOf(guard(source));
  assert.ok(error instanceof ClassifiedError);
  assert.equal(error.code, 'transient');
});

void test('when the consumer stops early, then the source is destroyed', async () => {
  const source = new Readable({
    read() {
      this.push(Buffer.alloc(1024));
    },
  });
  const body = guard(source);
  for await (const _chunk of body) break;
  await new Promise((resolve) => setImmediate(resolve));
  assert.ok(source.destroyed);
});

void test('when the size is known, then the body is read whole into a buffer of that size', async () => {
  const parts = [Buffer.from('abc'), Buffer.from('defg'), Buffer.from('h')];
  const data = await collectBody(Readable.from(parts), 8);
  assert.equal(data.toString(), 'abcdefgh');
});

void test('when the body is longer or shorter than the known size, then it is still returned whole and as it came', async () => {
  const longer = await collectBody(Readable.from([Buffer.from('abc'), Buffer.from('defg')]), 5);
  assert.equal(longer.toString(), 'abcdefg');
  const shorter = await collectBody(Readable.from([Buffer.from('abc')]), 10);
  assert.equal(shorter.toString(), 'abc');
  const empty = await collectBody(Readable.from([]), 10);
  assert.equal(empty.length, 0);
});
