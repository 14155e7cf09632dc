import { randomBytes } from 'node:crypto';
import {
  CreateBucketCommand,
  DeleteBucketCommand,
  DeleteObjectsCommand,
  ListObjectsV2Command,
  S3Client,
} from '@aws-sdk/client-s3';

/** moto accepts any credentials; fixed ones keep the SDK from searching the machine for real ones. */
export const testS3Credentials = { accessKeyId: 'test', secretAccessKey: 'test' };
export const testS3Region = 'us-east-1';

export function testS3Client(endpoint: string): S3Client {
  return new S3Client({
    endpoint,
    region: testS3Region,
    forcePathStyle: true,
    credentials: testS3Credentials,
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
}

/** A unique bucket name, so test files sharing one moto server never see each other's objects. */
export function uniqueBucketName(label: string): string {
  const safeLabel = label
    .toLowerCase()
    .replace(/[^a-z0-9-]/g, '-')
    .slice(0, 30);
  return `${safeLabel}-${Date.now().toString(36)}-${randomBytes(4).toString('hex')}`;
}

export async function createTestBucket(endpoint: string, label: string): Promise<string> {
  const client = testS3Client(endpoint);
  try {
    const bucket = uniqueBucketName(label);
    await client.send(new CreateBucketCommand({ Bucket: bucket }));
    return bucket;
  } finally {
    client.destroy();
  }
}

/** Empties and removes a bucket; moto keeps objects in memory, so large test objects are freed. */
export async function deleteTestBucket(endpoint: string, bucket: string): Promise<void> {
  const client = testS3Client(endpoint);
  try {
    let token: string | undefined;
    do {
      const page = await client.send(new ListObjectsV2Command({ Bucket: bucket, ContinuationToken: token }));
      const keys = (page.Contents ?? []).flatMap((entry) => (entry.Key ? [{ Key: entry.Key }] : []));
      if (keys.length > 0)
        await client.send(new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: keys } }));
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
    await client.send(new DeleteBucketCommand({ Bucket: bucket }));
  } finally {
    client.destroy();
  }
}
