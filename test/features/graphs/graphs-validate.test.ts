import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { eq } from 'drizzle-orm';
import request from 'supertest';
import { openApiDocumentOf } from '../../../src/app/http-app.js';
import { batches } from '../../../src/db/index.js';
import {
  createTestAccount,
  createTestApi,
  validGraph,
  type TestAccount,
  type TestApi,
} from '../../support/api-harness.js';
import { documentAllowsBody } from '../../support/request-contract.js';

let api: TestApi;
let account: TestAccount;
before(async () => {
  api = await createTestApi();
  account = await createTestAccount(api);
});
after(() => api.close());

const validate = () => request(api.app).post('/v1/graphs:validate').set(account.auth);

async function assertNothingHappened(): Promise<void> {
  assert.deepEqual(api.orchestrator.calls, []);
  assert.equal(await api.db.$count(batches, eq(batches.accountId, account.accountId)), 0);
}

describe('POST /v1/graphs:validate', () => {
  test('when the graph is valid, then 200 with one compiled chain per leaf, and nothing is stored or started', async () => {
    const graph = {
      transformUnits: [
        { type: 'StorageSource', bucket: 'photos', key: 'in/cat.jpg' },
        { type: 'Resize', width: 1600, fit: 'inside' },
      ],
      outputs: [
        {
          transformUnits: [
            { type: 'ImageFormat', format: 'webp', quality: 80 },
            { type: 'StorageSink', bucket: 'photos', key: 'out/cat-1600.webp' },
          ],
        },
        {
          transformUnits: [
            { type: 'Resize', width: 320, height: 320, fit: 'cover', position: 'attention' },
            { type: 'ImageFormat', format: 'jpeg', quality: 82 },
            { type: 'StorageSink', bucket: 'photos', key: 'out/cat-thumb.jpg' },
          ],
        },
      ],
    };
    const res = await validate().send(graph).expect(200);
    assert.deepEqual(res.body, {
      valid: true,
      chains: [
        { leaf: '/outputs/0', units: ['StorageSource', 'Resize', 'ImageFormat', 'StorageSink'] },
        { leaf: '/outputs/1', units: ['StorageSource', 'Resize', 'Resize', 'ImageFormat', 'StorageSink'] },
      ],
    });
    await assertNothingHappened();
  });

  test('when the graph is invalid, then 422 invalid_graph with issues by pointer, as a submission would get', async () => {
    const graph = validGraph();
    (graph.transformUnits as unknown[]).splice(2, 1); // drop the ImageFormat
    const res = await validate().send(graph).expect(422);
    assert.equal(res.body.error.code, 'invalid_graph');
    assert.deepEqual(
      res.body.error.issues.map((issue: { path: string; code: string }) => [issue.path, issue.code]),
      [['/transformUnits/2', 'missing_format']],
    );
    await assertNothingHappened();
  });

  test('when the graph uses an ungranted bucket, then 403 access_denied, as a submission would get', async () => {
    const graph = validGraph();
    (graph.transformUnits as Record<string, unknown>[])[0] = {
      type: 'StorageSource',
      bucket: 'private',
      key: 'a.jpg',
    };
    const res = await validate().send(graph).expect(403);
    assert.deepEqual(res.body.error.issues[0].path, '/transformUnits/0/bucket');
    await assertNothingHappened();
  });

  test('when the path has no colon (graphsXvalidate), then it is not the validate endpoint', async () => {
    await request(api.app).post('/v1/graphsXvalidate').set(account.auth).send(validGraph()).expect(404);
  });
});

/**
 * A root graph (a batch's graph, the body of graphs:validate) must have units, its first the StorageSource;
 * a child graph (an entry of `outputs`) continues its parent and may have none. Each request is judged
 * twice: by the published document (ajv over it) and by the server, on both operations that take a root.
 */
describe('root and child graphs: the document is as strict as the server', () => {
  const webpOutput = {
    transformUnits: [
      { type: 'ImageFormat', format: 'webp' },
      { type: 'StorageSink', bucket: 'photos', key: 'out/cat.webp' },
    ],
  };
  /** Each test has its own account: the accepted batch of one must not count against another. */
  async function assertNothingHappenedFor(as: TestAccount): Promise<void> {
    assert.deepEqual(
      api.orchestrator.startCalls().filter((call) => call.accountId === as.accountId),
      [],
    );
    assert.equal(await api.db.$count(batches, eq(batches.accountId, as.accountId)), 0);
  }
  /** An operation that carries a graph: how it wraps one, what it answers, where its pointers start. */
  const carrier = (
    path: string,
    accepted: number,
    body: (graph: unknown) => unknown,
    pointer: (path: string) => string,
  ) => ({
    operation: `POST ${path}`,
    body,
    send: (as: TestAccount, sent: unknown) =>
      request(api.app)
        .post(path)
        .set(as.auth)
        .send(sent as object),
    accepted,
    pointer,
    documentAllows: (sent: unknown) => documentAllowsBody(openApiDocumentOf(api.app), 'post', path, sent),
  });
  const carriers = [
    carrier(
      '/v1/graphs:validate',
      200,
      (graph) => graph,
      (at) => at,
    ),
    // After a valid graph, so the pointer shows which graph was judged.
    carrier(
      '/v1/batches',
      201,
      (graph) => ({ graphs: [validGraph(), graph] }),
      (at) => `/graphs/1${at}`,
    ),
  ];

  for (const carrier of carriers) {
    test(`when a root graph has no units, then the document forbids it and the server refuses it with missing_source at its first unit (${carrier.operation})`, async () => {
      // Its one output is a whole chain after a source: the empty root is all that is wrong.
      const body = carrier.body({
        transformUnits: [],
        outputs: [{ transformUnits: [{ type: 'Resize', width: 320 }, ...webpOutput.transformUnits] }],
      });
      const as = await createTestAccount(api);
      assert.equal(carrier.documentAllows(body), false);
      const res = await carrier.send(as, body).expect(422);
      assert.equal(res.body.error.code, 'invalid_graph');
      assert.deepEqual(res.body.error.issues, [
        {
          path: carrier.pointer('/transformUnits/0'),
          code: 'missing_source',
          message: 'Expected a StorageSource for the first unit of the graph but received nothing',
        },
      ]);
      await assertNothingHappenedFor(as);
    });

    test(`when a child graph has no units of its own, then the document allows it and the server accepts it (${carrier.operation})`, async () => {
      const body = carrier.body({
        transformUnits: [
          { type: 'StorageSource', bucket: 'photos', key: 'in/dog.jpg' },
          { type: 'Resize', width: 640 },
        ],
        // A node that only branches again: its units are its parent's.
        outputs: [
          {
            transformUnits: [],
            outputs: [
              webpOutput,
              {
                transformUnits: [
                  { type: 'ImageFormat', format: 'png' },
                  { type: 'StorageSink', bucket: 'photos', key: 'out/dog.png' },
                ],
              },
            ],
          },
        ],
      });
      const as = await createTestAccount(api);
      assert.equal(carrier.documentAllows(body), true);
      const res = await carrier.send(as, body);
      assert.equal(res.status, carrier.accepted, res.text);
    });

    test(`when a root graph starts with another unit than a StorageSource, then the document allows it and only the server refuses it, with missing_source (${carrier.operation})`, async () => {
      // The one refusal of a schema-valid graph's first unit: which type comes first is not in the document
      // (src/core/graph/graph.ts says why), and the fuzzing run forgives exactly this.
      const body = carrier.body({ transformUnits: [{ type: 'Resize', width: 320 }], outputs: [webpOutput] });
      const as = await createTestAccount(api);
      assert.equal(carrier.documentAllows(body), true);
      const res = await carrier.send(as, body).expect(422);
      assert.deepEqual(
        res.body.error.issues.map((issue: { path: string; code: string }) => [issue.path, issue.code]),
        [[carrier.pointer('/transformUnits/0'), 'missing_source']],
      );
      await assertNothingHappenedFor(as);
    });
  }
});
