/**
 * Property-based fuzzing of the published OpenAPI document (issue 10): Schemathesis reads the document the
 * server serves and sends every operation requests the document allows and requests it forbids, then
 * checks each answer: no 5xx, a documented status and content type, a body that matches the documented
 * schema, allowed input accepted and forbidden input refused (and a few more: 405 with Allow, auth and
 * required headers enforced). Its settings (seed, cases per operation, checks) are in
 * openapi-fuzz.schemathesis.toml, its hooks in openapi-fuzz.hooks.py.
 *
 * Every documented operation is fuzzed; none is excluded. Two cannot get past their authentication, by
 * design, and are still checked on what they answer: POST /v1/hooks/{hookId} needs an HMAC signature of
 * the exact body, POST /v1/events/sns a signature by the SNS certificate, and no generator makes either.
 * Three refusals of schema-valid input are accepted (in the hooks) because the document does not prevent
 * them: a body that breaks a rule JSON Schema cannot state (listed below), a root graph whose first unit is
 * there but is not a StorageSource, and a page token the API never issued.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, test } from 'node:test';
import { startHttpServer, type HttpServer } from '../../src/api/http-server.js';
import { createApp } from '../../src/app/http-app.js';
import type { IssueCode } from '../../src/core/graph/issues.js';
import { deliveryIdFor, deliveryWorkflowIdFor } from '../../src/core/webhooks/webhook-ids.js';
import { createApiKey } from '../../src/db/api-key-credentials.js';
import { insertDelivery, insertEvent } from '../../src/db/webhook-subscriptions.js';
import { advanceGraphRun, finishBatch } from '../../src/db/graph-runs.js';
import { graphWorkflowId } from '../../src/core/jobs/workflow-ids.js';
import { runSchemathesis } from '../../src/tools/schemathesis.js';
import {
  createTestAccount,
  createTestApi,
  validGraph,
  type TestAccount,
  type TestApi,
} from '../support/api-harness.js';
import { MemoryStore, storesOf } from '../support/memory-store.js';
import { createTestCertificate } from '../support/sns-signing.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const eventsToken = `fuzz-events-${randomBytes(16).toString('hex')}`;

/**
 * Codes of the rules that a JSON Schema cannot state, so that no document can make a schema-valid request
 * keep them: the order of a chain (a StorageSource only first, then operations, an ImageFormat right
 * before each StorageSink and nothing after it), two sinks writing one object, the unit count and depth
 * of the whole tree, and the rules that compare or combine two fields: the pixel limit of a Resize (a
 * product), a fractional Crop inside the image (sums), Normalize's lower percentile below its upper and a
 * rule's minSize at most its maxSize (comparisons), and a usage range's `from` before its `to` and its
 * length (a comparison and a difference of two instants, or of one and the clock). A schema-valid request
 * refused for one of these is not the document's fault; refused for anything else, it is.
 *
 * `missing_source` is not among them: the document demands at least one unit of a root graph (and none
 * of a child graph), so an empty root is the document's to refuse. The hooks forgive `missing_source` only
 * where its pointer finds a unit of another type first: which type comes first is the part the document
 * leaves to the server (src/core/graph/graph.ts says why).
 */
const rulesNoSchemaStates: readonly (
  IssueCode | 'inverted_size_range' | 'inverted_range' | 'range_too_long'
)[] = [
  'misplaced_source',
  'missing_operation',
  'missing_format',
  'missing_sink',
  'misplaced_format',
  'misplaced_sink',
  'too_many_sinks',
  'duplicate_sink',
  'too_many_pixels',
  'too_many_units',
  'too_deep',
  'crop_outside_image',
  'inverted_percentiles',
  'inverted_size_range',
  'inverted_range',
  'range_too_long',
];

const template = {
  transformUnits: [
    { type: 'Resize', width: 320 },
    { type: 'ImageFormat', format: 'webp' },
    { type: 'StorageSink', bucket: '{bucket}', key: 'thumbs/{name}.webp' },
  ],
};

let api: TestApi;
let store: MemoryStore;
let server: HttpServer;
let account: TestAccount;
let spareKeyId: string;
let workDir: string;

before(async () => {
  store = new MemoryStore();
  const stores = storesOf(store);
  api = await createTestApi({ stores });
  // A connection that takes bucket events, so that POST /v1/events/s3 is fuzzed past its token check.
  api.config.storage.connections.lake = { kind: 's3', region: 'us-east-1', events: { token: eventsToken } };
  const certificate = createTestCertificate();
  const app = createApp({
    db: api.db,
    orchestrator: api.orchestrator,
    config: api.config,
    jwtSecret: api.jwtSecret,
    stores,
    // Generated SigningCertURL and SubscribeURL values must never make the server reach out.
    sns: {
      fetchCertificate: () => Promise.resolve(certificate.pem),
      confirmSubscription: () => Promise.resolve(),
    },
    // Redeliveries start, as in production, instead of answering 503 for want of an engine.
    deliveries: { startDelivery: () => Promise.resolve(true) },
  });
  server = await startHttpServer(app, { host: '127.0.0.1', port: 0 });
  account = await createTestAccount(api, 'fuzz');
  api.config.storage.grants[account.accountId] = [{ connection: 'lake', buckets: ['lake-in'] }];
  spareKeyId = (await createApiKey(api.db, account.accountId, 'spare')).keyId;
  workDir = mkdtempSync(path.join(os.tmpdir(), 'pixelshift-fuzz-'));
});

after(async () => {
  await server.close();
  await api.close();
  rmSync(workDir, { recursive: true, force: true });
});

async function call(pathname: string, body: unknown, authorization = account.auth.Authorization) {
  const res = await fetch(`${server.url}${pathname}`, {
    method: 'POST',
    headers: { authorization, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  if (!res.ok) assert.fail(`POST ${pathname} answered ${res.status}: ${await res.text()}`);
  return (await res.json()) as Record<string, unknown>;
}

/**
 * One resource of each kind, so the operations on an existing one answer more than 404. Rules, hooks and
 * webhook subscriptions are listed by the API, where Schemathesis picks their ids up; batches, runs and
 * deliveries are not, so their ids go to the run as dictionaries.
 */
async function seedResources(): Promise<Record<string, string[]>> {
  const batch = await call('/v1/batches', { graphs: [validGraph()] });
  const rule = await call('/v1/rules', {
    connection: 'lake',
    bucket: 'lake-in',
    prefix: 'uploads/',
    template,
  });
  await call('/v1/hooks', {
    name: 'fuzz',
    mapping: { bucket: { pointer: '/bucket' }, key: { pointer: '/key' } },
    template,
  });
  const subscription = await call('/v1/webhooks', {
    url: 'https://hooks.example.com/fuzz',
    events: ['graph.succeeded'],
  });

  store.seed('lake-in', 'uploads/cat.jpg', Buffer.from('not really a jpeg'), 'image/jpeg');
  const received = await call(
    '/v1/events/s3',
    {
      Records: [
        {
          eventVersion: '2.1',
          eventSource: 'aws:s3',
          eventTime: new Date().toISOString(),
          eventName: 'ObjectCreated:Put',
          s3: {
            bucket: { name: 'lake-in' },
            object: { key: 'uploads/cat.jpg', size: 17, sequencer: '00A1' },
          },
        },
      ],
    },
    `Bearer ${eventsToken}`,
  );
  const runs = received.runs as { workflowId: string }[];
  assert.equal(runs.length, 1, `the event started the rule's run (rule ${String(rule.ruleId)})`);

  // Deliveries are written by the engine when an event fires; here, straight into the database.
  const eventId = `evt_fuzz_${account.accountId}`;
  await insertEvent(api.db, {
    id: eventId,
    accountId: account.accountId,
    type: 'graph.succeeded',
    payload: { type: 'graph.succeeded', timestamp: new Date().toISOString(), data: {} },
  });
  const workflowId = deliveryWorkflowIdFor(eventId, String(subscription.id));
  const delivery = await insertDelivery(api.db, {
    id: deliveryIdFor(workflowId),
    accountId: account.accountId,
    eventId,
    subscriptionId: String(subscription.id),
    workflowId,
  });

  // Ended, so that their event streams send everything and close at once: a stream of a batch or run that
  // is still going stays open, and Schemathesis would wait for its end.
  await advanceGraphRun(api.db, graphWorkflowId(account.accountId, String(batch.batchId), 0), {
    state: 'succeeded',
    sinks: [],
    failures: [],
  });
  await finishBatch(api.db, String(batch.batchId), 'succeeded');
  await advanceGraphRun(api.db, runs[0]!.workflowId, {
    state: 'failed',
    error: { code: 'corrupt_input', message: 'not really a jpeg' },
  });

  return {
    'batch-ids': [String(batch.batchId)],
    'run-ids': runs.map((run) => encodeURIComponent(run.workflowId)),
    'delivery-ids': [delivery.id],
  };
}

/** The settings file with the dictionaries its `[parameters]` name appended. */
function writeSettings(dictionaries: Record<string, string[]>): string {
  const settings = path.join(workDir, 'schemathesis.toml');
  copyFileSync(path.join(here, 'openapi-fuzz.schemathesis.toml'), settings);
  const tables = Object.entries(dictionaries).map(
    ([name, values]) => `\n[dictionaries.${name}]\nvalues = ${JSON.stringify(values)}\n`,
  );
  writeFileSync(settings, tables.join(''), { flag: 'a' });
  return settings;
}

/**
 * Schemathesis's own account of what failed: from its FAILURES (or ERRORS) section to its summary, each
 * line cut short (a reproducing curl command carries the whole generated body).
 */
function failureReport(output: string): string {
  const start = output.search(/^=+ (FAILURES|ERRORS|WARNINGS) =+$/m);
  return (start === -1 ? output : output.slice(start))
    .split('\n')
    .map((line) => (line.length > 400 ? `${line.slice(0, 400)} …` : line))
    .join('\n');
}

test(
  'when Schemathesis fuzzes every documented operation, then no answer fails a check',
  {
    timeout: 10 * 60_000,
  },
  async (t) => {
    const settings = writeSettings({
      ...(await seedResources()),
      'client-ids': [account.keyId],
      'client-secrets': [account.secret],
    });
    const run = await runSchemathesis(
      ['--config-file', settings, 'run', `${server.url}/swagger/v1/swagger.json`, '--url', server.url],
      {
        cwd: workDir,
        signal: t.signal,
        env: {
          SCHEMATHESIS_HOOKS: path.join(here, 'openapi-fuzz.hooks.py'),
          PIXELSHIFT_FUZZ_ACCESS_TOKEN: account.token,
          PIXELSHIFT_FUZZ_EVENTS_TOKEN: eventsToken,
          PIXELSHIFT_FUZZ_KEY_ID: account.keyId,
          PIXELSHIFT_FUZZ_SPARE_KEY_ID: spareKeyId,
          PIXELSHIFT_FUZZ_RULE_CODES: JSON.stringify(rulesNoSchemaStates),
        },
      },
    );
    // Its summary (operations tested, cases per phase, seed) goes to the test log, passing or not.
    const summary = run.output.search(/^=+ SUMMARY =+$/m);
    if (summary !== -1) {
      for (const line of run.output.slice(summary).split('\n')) if (line.trim()) t.diagnostic(line);
    }
    assert.equal(run.exitCode, 0, `Schemathesis reported failures:\n${failureReport(run.output)}`);
  },
);
