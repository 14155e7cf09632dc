import assert from 'node:assert/strict';
import { test } from 'node:test';
import { S3ServiceException } from '@aws-sdk/client-s3';
import { ClassifiedError, isClassifiedError } from '../../../src/core/errors.js';
import { classifyS3Error, retryAfterMsFrom } from '../../../src/core/storage/s3-errors.js';
import { S3ObjectStore } from '../../../src/core/storage/s3-store.js';
import { freePort } from '../../../src/tools/ports.js';
import { startHttpProxy } from '../../support/http-proxy.js';
import {
  createTestBucket,
  deleteTestBucket,
  testS3Credentials,
  testS3Region,
} from '../../support/s3-buckets.js';
import { s3Endpoint } from '../../support/services.js';

const context = { bucket: 'photos', key: 'in/cat.jpg', operation: 'get' as const };

/** Shaped like what the SDK throws for an S3 error response. */
function s3Error(name: string, status: number, headers: Record<string, string> = {}): S3ServiceException {
  const error = new S3ServiceException({
    name,
    $fault: status >= 500 ? 'server' : 'client',
    $metadata: { httpStatusCode: status },
    message: `${name} from 10.0.0.7:9000 using key AKIAEXAMPLE`,
  });
  error.$response = { statusCode: status, headers, body: undefined };
  return error;
}

function networkError(code: string, message = `connect ${code} 10.0.0.7:9000`): Error {
  return Object.assign(new Error(message), { code });
}

function classified(error: unknown): ClassifiedError {
  const result = classifyS3Error(error, context);
  assert.ok(isClassifiedError(result), `expected a ClassifiedError, got ${String(result)}`);
  return result;
}

void test('when S3 says SlowDown with Retry-After: 3, then it is transient and asks for a 3000 ms wait', () => {
  const error = classified(s3Error('SlowDown', 503, { 'retry-after': '3' }));
  assert.equal(error.code, 'transient');
  assert.equal(error.retryAfterMs, 3000);
  assert.equal(error.retryable, true);
  assert.equal(
    error.message,
    'Could not get s3://photos/in/cat.jpg: the storage service is busy or unavailable (SlowDown)',
  );
});

void test('when Retry-After is an HTTP date, then the wait is measured from now', () => {
  const now = Date.parse('2030-01-01T00:00:00Z');
  const error = s3Error('SlowDown', 503, { 'Retry-After': 'Tue, 01 Jan 2030 00:00:05 GMT' });
  assert.equal(retryAfterMsFrom(error, now), 5000);
  assert.equal(retryAfterMsFrom(s3Error('SlowDown', 503, { 'retry-after': 'soon' }), now), undefined);
  assert.equal(retryAfterMsFrom(new Error('no response')), undefined);
});

void test('when S3 answers 503 with an unknown code, then it is transient without a retry hint', () => {
  const error = classified(s3Error('Unknown', 503));
  assert.equal(error.code, 'transient');
  assert.equal(error.retryAfterMs, undefined);
});

void test('when any 5xx comes back, then it is transient', () => {
  for (const [name, status] of [
    ['InternalError', 500],
    ['ServiceUnavailable', 503],
    ['RequestTimeout', 400],
    ['Weird', 599],
  ] as const) {
    assert.equal(classified(s3Error(name, status)).code, 'transient', name);
  }
});

void test('when the throttling trait is set, then it is transient', () => {
  const error = s3Error('Mystery', 400);
  error.$retryable = { throttling: true };
  assert.equal(classified(error).code, 'transient');
});

void test('when the connection resets, then it is transient and the message names no host', () => {
  for (const code of ['ECONNRESET', 'ECONNREFUSED', 'ETIMEDOUT', 'EPIPE']) {
    const error = classified(networkError(code));
    assert.equal(error.code, 'transient', code);
    assert.equal(
      error.message,
      `Could not get s3://photos/in/cat.jpg: the storage service could not be reached (${code})`,
    );
    assert.doesNotMatch(error.message, /10\.0\.0\.7/);
  }
  assert.equal(classified(new Error('socket hang up')).code, 'transient');
  assert.equal(classified(Object.assign(new Error('timed out'), { name: 'TimeoutError' })).code, 'transient');
});

void test('when access is denied, then it is access_denied and the message carries no credentials', () => {
  const error = classified(s3Error('AccessDenied', 403));
  assert.equal(error.code, 'access_denied');
  assert.equal(error.message, 'Could not get s3://photos/in/cat.jpg: access was denied (AccessDenied)');
  for (const name of ['InvalidAccessKeyId', 'SignatureDoesNotMatch']) {
    const rejected = classified(s3Error(name, 403));
    assert.equal(rejected.code, 'access_denied');
    assert.doesNotMatch(rejected.message, /AKIA/);
  }
  assert.equal(classified(s3Error('Forbidden', 403)).code, 'access_denied');
});

void test('when the key does not exist, then it is source_not_found', () => {
  const error = classified(s3Error('NoSuchKey', 404));
  assert.equal(error.code, 'source_not_found');
  assert.equal(error.message, 'Could not get s3://photos/in/cat.jpg: the object was not found (NoSuchKey)');
  assert.equal(classified(s3Error('NotFound', 404)).code, 'source_not_found');
  assert.equal(classified(s3Error('Unnamed', 404)).code, 'source_not_found');
  const bucketError = classified(s3Error('NoSuchBucket', 404));
  assert.equal(
    bucketError.message,
    'Could not get s3://photos/in/cat.jpg: the bucket was not found (NoSuchBucket)',
  );
});

void test('when S3 says EntityTooLarge, then it is too_large', () => {
  assert.equal(classified(s3Error('EntityTooLarge', 400)).code, 'too_large');
});

void test('when S3 rejects the request itself, then it is invalid_graph and not retried', () => {
  const error = classified(s3Error('InvalidBucketName', 400));
  assert.equal(error.code, 'invalid_graph');
  assert.equal(error.retryable, false);
  assert.equal(classified(s3Error('SomethingNew', 400)).code, 'invalid_graph');
});

void test('when the error is an abort, then it is returned unchanged, not classified', () => {
  const abort = Object.assign(new Error('Request aborted'), { name: 'AbortError' });
  assert.equal(classifyS3Error(abort, context), abort);
  const domAbort = new DOMException('This operation was aborted', 'AbortError');
  assert.equal(classifyS3Error(domAbort, context), domAbort);
});

void test('when the error is already classified, then it is returned unchanged', () => {
  const tooLarge = new ClassifiedError('too_large', 'already decided');
  assert.equal(classifyS3Error(tooLarge, context), tooLarge);
});

void test('when the error is unrecognisable, then it is transient and keeps the original as its cause', () => {
  const original = new Error('something odd at https://internal.example:9000');
  const error = classified(original);
  assert.equal(error.code, 'transient');
  assert.equal(error.cause, original);
  assert.doesNotMatch(error.message, /internal\.example/);
});

void test('when the store points at a closed loopback port, then calls fail as transient', async () => {
  const port = await freePort(); // free means nothing listens there
  const store = new S3ObjectStore({
    endpoint: `http://127.0.0.1:${port}`,
    region: testS3Region,
    forcePathStyle: true,
    credentials: testS3Credentials,
  });
  try {
    for (const attempt of [
      () => store.head('photos', 'in/cat.jpg'),
      () => store.put('photos', 'out/cat.jpg', Buffer.from('x')),
    ]) {
      const error = await attempt().then(
        () => assert.fail('expected a failure'),
        (caught: unknown) => caught,
      );
      assert.ok(isClassifiedError(error));
      assert.equal(error.code, 'transient');
      assert.doesNotMatch(error.message, new RegExp(`127\\.0\\.0\\.1|${port}`));
    }
  } finally {
    store.destroy();
  }
});

void test('when a real S3 answer is SlowDown with Retry-After, then the store reports the server-given delay', async () => {
  const endpoint = await s3Endpoint();
  const bucket = await createTestBucket(endpoint, 'storage-errors');
  const proxy = await startHttpProxy(endpoint, {
    intercept: (request) =>
      request.method === 'GET'
        ? {
            status: 503,
            headers: { 'content-type': 'application/xml', 'retry-after': '3' },
            body: '<?xml version="1.0" encoding="UTF-8"?><Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>',
          }
        : undefined,
  });
  // One attempt: the SDK would otherwise honour the hint itself and wait before retrying.
  const store = new S3ObjectStore({
    endpoint: proxy.endpoint,
    region: testS3Region,
    forcePathStyle: true,
    credentials: testS3Credentials,
    maxAttempts: 1,
  });
  try {
    await store.put(bucket, 'busy.jpg', Buffer.from('x'));
    const error = await store.getBuffer(bucket, 'busy.jpg').then(
      () => assert.fail('expected SlowDown'),
      (caught: unknown) => caught,
    );
    assert.ok(isClassifiedError(error));
    assert.equal(error.code, 'transient');
    assert.equal(error.retryAfterMs, 3000);
    assert.equal(
      error.message,
      `Could not get s3://${bucket}/busy.jpg: the storage service is busy or unavailable (SlowDown)`,
    );
  } finally {
    store.destroy();
    await proxy.stop();
    await deleteTestBucket(endpoint, bucket);
  }
});
