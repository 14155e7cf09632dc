/**
 * The OpenAPI 3.0.3 rendering (/swagger/v1/swagger-3.0.json): valid against the official 3.0 schema
 * (shipped in the pinned openapi-spec-validator), and the same operations as the 3.1 document.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import request from 'supertest';
import { ensureOpenApiSpecValidator } from '../../src/tools/client-generators.js';
import { convertSchema } from '../../src/api/openapi-30.js';
import { runProcess } from '../support/generated-clients.js';
import { createTestApi, type TestApi } from '../support/api-harness.js';

let api: TestApi;
let doc30: Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any -- plain JSON
let doc31: Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any -- plain JSON
const workDir = mkdtempSync(path.join(os.tmpdir(), 'pixelshift-openapi30-'));
before(async () => {
  api = await createTestApi();
  doc30 = (await request(api.app).get('/swagger/v1/swagger-3.0.json').expect(200)).body;
  doc31 = (await request(api.app).get('/swagger/v1/swagger.json').expect(200)).body;
});
after(async () => {
  await api.close();
  rmSync(workDir, { recursive: true, force: true });
});

/** Every error openapi-spec-validator finds for the given OpenAPI version, one message per line. */
async function validationErrors(document: unknown, version: '30' | '31'): Promise<string[]> {
  const file = path.join(workDir, `document-${version}.json`);
  writeFileSync(file, JSON.stringify(document));
  const script = [
    'import json, sys',
    `from openapi_spec_validator import OpenAPIV${version}SpecValidator as Validator`,
    'document = json.load(open(sys.argv[1]))',
    'for error in Validator(document).iter_errors():',
    '    print(json.dumps("/".join(map(str, error.absolute_path)) + ": " + error.message[:300]))',
  ].join('\n');
  const run = await runProcess('python3', ['-c', script, file], {
    cwd: workDir,
    env: { PYTHONPATH: await ensureOpenApiSpecValidator() },
  });
  assert.equal(run.exitCode, 0, run.output);
  return run.stdout
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as string);
}

describe('OpenAPI 3.0.3 rendering', { timeout: 120_000 }, () => {
  test('when validated against the official OpenAPI 3.0 schema, then there are zero errors', async () => {
    assert.equal(doc30.openapi, '3.0.3');
    assert.deepEqual(await validationErrors(doc30, '30'), []);
  });

  test('when the 3.1 document is read as 3.0, then the validator finds its 3.1-only forms (the check has teeth)', async () => {
    const errors = await validationErrors({ ...doc31, openapi: '3.0.3' }, '30');
    assert.ok(errors.length > 0);
  });

  test('when compared with the 3.1 document, then it has the same operations, components and webhooks', () => {
    assert.deepEqual(Object.keys(doc30.paths), Object.keys(doc31.paths));
    for (const [route, item] of Object.entries(doc31.paths)) {
      assert.deepEqual(Object.keys(doc30.paths[route]), Object.keys(item as object), route);
    }
    assert.deepEqual(Object.keys(doc30.components.schemas), Object.keys(doc31.components.schemas));
    assert.equal(doc30.webhooks, undefined);
    assert.deepEqual(Object.keys(doc30['x-webhooks']), Object.keys(doc31.webhooks));
  });

  test('when a schema uses 3.1-only forms, then each becomes its 3.0 equivalent', () => {
    assert.deepEqual(convertSchema({ type: ['string', 'null'], format: 'date-time' }), {
      type: 'string',
      format: 'date-time',
      nullable: true,
    });
    assert.deepEqual(convertSchema({ type: 'number', exclusiveMinimum: 0, exclusiveMaximum: 1 }), {
      type: 'number',
      minimum: 0,
      exclusiveMinimum: true,
      maximum: 1,
      exclusiveMaximum: true,
    });
    assert.deepEqual(convertSchema({ const: 'px' }), { enum: ['px'], type: 'string' });
    assert.deepEqual(convertSchema({ type: 'integer', examples: [72, 80] }), {
      type: 'integer',
      example: 72,
    });
    assert.deepEqual(convertSchema({ type: 'object', propertyNames: { pattern: '^[a-z]+$' } }), {
      type: 'object',
      'x-propertyNames': { pattern: '^[a-z]+$' },
    });
    assert.deepEqual(convertSchema({ type: 'object', properties: { at: { type: ['integer', 'null'] } } }), {
      type: 'object',
      properties: { at: { type: 'integer', nullable: true } },
    });
    assert.deepEqual(convertSchema({ anyOf: [{ const: 1 }] }), { anyOf: [{ enum: [1], type: 'integer' }] });
    assert.deepEqual(convertSchema({ type: ['string', 'integer'] }), {
      oneOf: [{ type: 'string' }, { type: 'integer' }],
    });
  });
});
