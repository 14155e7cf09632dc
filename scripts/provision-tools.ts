/**
 * Installs the project's pinned external tools into .tools/ (idempotent): moto (S3/SQS/SNS test endpoint),
 * Schemathesis (the OpenAPI fuzzer of the tests), the Temporal CLI (dev server), the client
 * generators and OpenAPI 3.0 validator of test/clients (docs/clients.md), Temporal's time-skipping test
 * server of test/temporal/time-skipping, and kubeconform with the Kubernetes schemas of test/deploy
 * (docs/deploying.md). Run by .ci/run and `npm run tools`;
 * tests and `npm start` call the same functions lazily.
 */
import { ensureMoto } from '../src/tools/moto.js';
import { ensureSchemathesis } from '../src/tools/schemathesis.js';
import { findTemporalCli } from '../src/tools/temporal-cli.js';
import { ensureTemporalTestServer } from '../src/tools/temporal-test-server.js';
import {
  ensureHeyApiOpenApiTs,
  ensureOpenApiGeneratorJar,
  ensureOpenApiPythonClient,
  ensureOpenApiSpecValidator,
  ensurePythonClientRuntime,
} from '../src/tools/client-generators.js';
import { ensureKubeconform, ensureKubernetesSchemas } from '../src/tools/kubeconform.js';

const started = Date.now();
const [moto, schemathesis, temporal] = await Promise.all([
  ensureMoto(),
  ensureSchemathesis(),
  findTemporalCli(),
]);
// One at a time: pip, npm and Maven each download a lot, and CI has two cores.
const generators = [
  await ensureOpenApiSpecValidator(),
  await ensureOpenApiPythonClient(),
  await ensurePythonClientRuntime(),
  await ensureHeyApiOpenApiTs(),
  await ensureOpenApiGeneratorJar(),
];
const testServer = await ensureTemporalTestServer();
const kubeconform = await ensureKubeconform();
const kubernetesSchemas = await ensureKubernetesSchemas();
console.log(
  `tools ready in ${Date.now() - started} ms: moto at ${moto}, schemathesis at ${schemathesis}, temporal at ${temporal}, the time-skipping test server at ${testServer}, client generators at ${generators.join(', ')}, kubeconform at ${kubeconform} with schemas in ${kubernetesSchemas}`,
);
