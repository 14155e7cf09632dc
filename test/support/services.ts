import { startMoto } from '../../src/tools/moto.js';

/**
 * Stops a file-local service when the test process is about to exit. node:test's `after()` is tied to
 * the suite it is called in, which stops a server started inside a `before` hook too early.
 */
export function stopAtExit(stop: () => Promise<void>): void {
  process.once('beforeExit', () => void stop());
}

/**
 * The S3 endpoint for this test file: the one the suite runner started, or a moto server of the
 * file's own (stopped when the process exits) when the file is run alone.
 */
export async function s3Endpoint(): Promise<string> {
  const shared = process.env.PIXELSHIFT_TEST_S3_ENDPOINT;
  if (shared) return shared;
  const moto = await startMoto();
  stopAtExit(() => moto.stop());
  process.env.PIXELSHIFT_TEST_S3_ENDPOINT = moto.endpoint;
  return moto.endpoint;
}
