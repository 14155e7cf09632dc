import { after } from 'node:test';
import { startMoto } from '../../src/tools/moto.js';

/**
 * The S3 endpoint for this test file: the one the suite runner started, or a moto server of the
 * file's own (stopped when the file ends) when the file is run alone.
 */
export async function s3Endpoint(): Promise<string> {
  const shared = process.env.PIXELSHIFT_TEST_S3_ENDPOINT;
  if (shared) return shared;
  const moto = await startMoto();
  after(() => moto.stop());
  process.env.PIXELSHIFT_TEST_S3_ENDPOINT = moto.endpoint;
  return moto.endpoint;
}
