/**
 * Installs the project's pinned external tools into .tools/ (idempotent): moto (S3/SQS/SNS test endpoint),
 * Schemathesis (the OpenAPI fuzzer of the tests) and the Temporal CLI (dev server). Run by .ci/run and `npm run tools`; tests and `npm start` call the same
 * functions lazily.
 */
import { ensureMoto } from '../src/tools/moto.js';
import { ensureSchemathesis } from '../src/tools/schemathesis.js';
import { findTemporalCli } from '../src/tools/temporal-cli.js';

const started = Date.now();
const [moto, schemathesis, temporal] = await Promise.all([
  ensureMoto(),
  ensureSchemathesis(),
  findTemporalCli(),
]);
console.log(
  `tools ready in ${Date.now() - started} ms: moto at ${moto}, schemathesis at ${schemathesis}, temporal at ${temporal}`,
);
