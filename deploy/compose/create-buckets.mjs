// The compose file's bucket one-shot: creates every bucket in S3_BUCKETS (comma-separated) on S3_ENDPOINT
// with the credentials of the environment (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_REGION). A bucket
// that already exists and is ours is fine, so the service may run on every `docker compose up`.
// Runs in the pixelshift image (its AWS SDK); test/deploy/create-buckets.test.ts runs it against moto.
import { CreateBucketCommand, HeadBucketCommand, S3Client } from '@aws-sdk/client-s3';

const endpoint = process.env.S3_ENDPOINT;
const buckets = (process.env.S3_BUCKETS ?? '')
  .split(',')
  .map((name) => name.trim())
  .filter(Boolean);
if (!endpoint || buckets.length === 0) {
  console.error('create-buckets: set S3_ENDPOINT and S3_BUCKETS (comma-separated)');
  process.exit(2);
}
const client = new S3Client({
  endpoint,
  region: process.env.AWS_REGION ?? 'us-east-1',
  forcePathStyle: true,
});
try {
  for (const bucket of buckets) {
    try {
      await client.send(new CreateBucketCommand({ Bucket: bucket }));
      console.log(`create-buckets: created ${bucket}`);
    } catch (error) {
      if (error?.name !== 'BucketAlreadyOwnedByYou' && error?.name !== 'BucketAlreadyExists') throw error;
      // Already there: make sure it is ours to use (a bucket owned by someone else refuses the HEAD).
      await client.send(new HeadBucketCommand({ Bucket: bucket }));
      console.log(`create-buckets: ${bucket} exists`);
    }
  }
} catch (error) {
  console.error(`create-buckets: ${error?.name ?? 'Error'}: ${error?.message ?? error}`);
  process.exitCode = 1;
} finally {
  client.destroy();
}
