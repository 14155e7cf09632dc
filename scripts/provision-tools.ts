/**
 * Installs the project's pinned external tools into .tools/ (idempotent):
 * moto (S3/SQS/SNS test endpoint). Run by .ci/run; tests and `npm start` call the same functions lazily.
 */
import { ensureMoto } from '../src/tools/moto.js';

const started = Date.now();
const moto = await ensureMoto();
console.log(`tools ready in ${Date.now() - started} ms: moto at ${moto}`);
