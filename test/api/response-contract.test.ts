import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import request from 'supertest';
import { openApiDocumentOf } from '../../src/app/http-app.js';
import { graphStates } from '../../src/core/jobs/job-status.js';
import { createTestAccount, createTestApi, type TestAccount, type TestApi } from '../support/api-harness.js';
import { contractViolation } from '../support/response-contract.js';

describe('responses checked against the document', () => {
  let api: TestApi;
  let account: TestAccount;
  let document: Record<string, unknown>;
  before(async () => {
    api = await createTestApi();
    account = await createTestAccount(api);
    document = openApiDocumentOf(api.app) as unknown as Record<string, unknown>;
  });
  after(() => api.close());

  const keyList = { keys: [] };
  const json = { 'content-type': 'application/json; charset=utf-8' };

  test('when a body matches the documented schema, then no violation is reported', () => {
    assert.equal(
      contractViolation(document, 'GET', '/v1/keys', {
        status: 200,
        headers: json,
        body: keyList,
        text: '{}',
      }),
      undefined,
    );
  });

  test('when a body has a field the schema does not allow, then the violation names it', () => {
    const violation = contractViolation(document, 'GET', '/v1/keys', {
      status: 200,
      headers: json,
      body: { keys: [], secret: 'x' },
      text: '{}',
    });
    assert.match(violation ?? '', /GET \/v1\/keys answered 200 with a body the document does not allow/);
  });

  test('when the status is not documented for the operation, then that is a violation', () => {
    const violation = contractViolation(document, 'GET', '/v1/keys', {
      status: 418,
      headers: json,
      body: {},
      text: '{}',
    });
    assert.match(violation ?? '', /a status the document does not list/);
  });

  test('when the media type is not documented, then that is a violation', () => {
    const violation = contractViolation(document, 'GET', '/v1/keys', {
      status: 200,
      headers: { 'content-type': 'text/html' },
      body: {},
      text: '<p>',
    });
    assert.match(violation ?? '', /in text\/html, where the document says application\/json/);
  });

  test('when the path is templated, then the request path matches it and literal paths win', () => {
    const error = { error: { code: 'not_found', message: 'x' } };
    assert.equal(
      contractViolation(document, 'GET', '/v1/batches/b_1', {
        status: 404,
        headers: json,
        body: error,
        text: '{}',
      }),
      undefined,
    );
  });

  const eventStream = { 'content-type': 'text/event-stream; charset=utf-8' };
  const streamAnswer = (text: string) =>
    contractViolation(document, 'GET', '/v1/batches/b_1/events', {
      status: 200,
      headers: eventStream,
      body: undefined,
      text,
    });

  test('when an event stream’s events match their documented data, then no violation is reported (heartbeats and a cut-off last event ignored)', () => {
    const end = {
      batchId: 'b_1',
      state: 'succeeded',
      at: '2026-12-04T17:00:00.000Z',
      counts: Object.fromEntries(graphStates.map((state) => [state, state === 'succeeded' ? 1 : 0])),
    };
    const text = `: heartbeat\n\nevent: end\nid: 1\ndata: ${JSON.stringify(end)}\n\nevent: gra`;
    assert.equal(streamAnswer(text), undefined);
  });

  test('when an event’s data breaks its documented schema, then the violation names the event', () => {
    const violation = streamAnswer('event: end\nid: 1\ndata: {"state":"exploded"}\n\n');
    assert.match(violation ?? '', /with the end event 1, whose data the document does not allow/);
  });

  test('when an event is not one the stream documents, then that is a violation', () => {
    const violation = streamAnswer('event: gossip\nid: 1\ndata: {}\n\n');
    assert.match(violation ?? '', /with the event .*gossip.*, which the document does not allow/);
  });

  test('when an event’s data is not JSON, then that is a violation', () => {
    const violation = streamAnswer('event: end\nid: 1\ndata: {not json\n\n');
    assert.match(violation ?? '', /whose data is not JSON/);
  });

  test('when a real request is answered, then supertest’s assertion runs the check (a valid answer passes)', async () => {
    await request(api.app).get('/v1/keys').set(account.auth).expect(200);
  });
});

function testFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return testFiles(full);
    return entry.name.endsWith('.ts') ? [full] : [];
  });
}

test('when a test file sends requests with supertest, then it loads the response check (directly or through the harness)', () => {
  const unchecked = testFiles('test').filter((file) => {
    const text = readFileSync(file, 'utf8');
    return (
      /from 'supertest'/.test(text) &&
      !/support\/(api-harness|response-contract)\.js'/.test(text) &&
      !file.endsWith(path.join('support', 'response-contract.ts'))
    );
  });
  assert.deepEqual(unchecked, []);
});
