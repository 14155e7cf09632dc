/**
 * deploy/compose/create-buckets.mjs, the compose file's bucket one-shot, run as the container runs it
 * (plain node, the project's AWS SDK) against moto.
 */
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { HeadBucketCommand } from '@aws-sdk/client-s3';
import { freePort } from '../../src/tools/ports.js';
import { s3Endpoint } from '../support/services.js';
import {
  deleteTestBucket,
  testS3Client,
  testS3Credentials,
  testS3Region,
  uniqueBucketName,
} from '../support/s3-buckets.js';

const run = promisify(execFile);
const root = path.resolve(import.meta.dirname, '../..');
const script = path.join(root, 'deploy/compose/create-buckets.mjs');

async function createBuckets(
  env: Record<string, string>,
): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [script], {
      cwd: root,
      env: {
        PATH: process.env.PATH,
        AWS_ACCESS_KEY_ID: testS3Credentials.accessKeyId,
        AWS_SECRET_ACCESS_KEY: testS3Credentials.secretAccessKey,
        AWS_REGION: testS3Region,
        // The SDK must not look for profiles or instance credentials of the machine.
        AWS_CONFIG_FILE: '/dev/null',
        AWS_SHARED_CREDENTIALS_FILE: '/dev/null',
        AWS_EC2_METADATA_DISABLED: 'true',
        ...env,
      },
      timeout: 60_000,
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failure = error as { code?: number; stdout?: string; stderr?: string };
    return { code: failure.code ?? -1, stdout: failure.stdout ?? '', stderr: failure.stderr ?? '' };
  }
}

describe('deploy/compose/create-buckets.mjs', () => {
  let endpoint: string;
  const buckets = [uniqueBucketName('compose-uploads'), uniqueBucketName('compose-renditions')];

  before(async () => {
    endpoint = await s3Endpoint();
  });
  after(async () => {
    for (const bucket of buckets) await deleteTestBucket(endpoint, bucket).catch(() => undefined);
  });

  it('creates every listed bucket, and a second run finds them and succeeds again', async () => {
    const env = { S3_ENDPOINT: endpoint, S3_BUCKETS: ` ${buckets[0]}, ${buckets[1]} ,` };
    const first = await createBuckets(env);
    assert.equal(first.code, 0, first.stderr);
    const client = testS3Client(endpoint);
    try {
      for (const bucket of buckets) await client.send(new HeadBucketCommand({ Bucket: bucket }));
    } finally {
      client.destroy();
    }
    const second = await createBuckets(env);
    assert.equal(second.code, 0, second.stderr);
    for (const bucket of buckets) assert.match(second.stdout, new RegExp(`${bucket}`));
  });

  it('when the endpoint or the bucket list is missing, then it exits 2 and says what to set', async () => {
    const incomplete: Record<string, string>[] = [
      { S3_BUCKETS: 'a' },
      { S3_ENDPOINT: endpoint },
      { S3_ENDPOINT: endpoint, S3_BUCKETS: ' , ' },
    ];
    for (const env of incomplete) {
      const result = await createBuckets(env);
      assert.equal(result.code, 2, JSON.stringify(env));
      assert.match(result.stderr, /set S3_ENDPOINT and S3_BUCKETS/);
    }
  });

  it('when the S3 service does not answer, then it exits 1 and prints the error', async () => {
    const port = await freePort();
    const result = await createBuckets({
      S3_ENDPOINT: `http://127.0.0.1:${port}`,
      S3_BUCKETS: uniqueBucketName('compose-nowhere'),
    });
    assert.equal(result.code, 1);
    assert.match(result.stderr, /^create-buckets: \w+/m);
  });
});
