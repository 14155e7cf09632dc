/* eslint-disable @typescript-eslint/no-explicit-any -- the document is walked as plain JSON */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import request from 'supertest';
import { createTestApi, type TestApi } from '../../support/api-harness.js';

let api: TestApi;
let doc: Record<string, any>;
before(async () => {
  api = await createTestApi();
  doc = (await request(api.app).get('/swagger/v1/swagger.json').expect(200)).body;
});
after(() => api.close());

describe('OpenAPI document: rules', () => {
  test('when fetched, then every rules operation is documented', () => {
    const expected: [string, string][] = [
      ['/v1/rules', 'post'],
      ['/v1/rules', 'get'],
      ['/v1/rules/{ruleId}', 'get'],
      ['/v1/rules/{ruleId}', 'put'],
      ['/v1/rules/{ruleId}', 'delete'],
    ];
    for (const [path, method] of expected) assert.ok(doc.paths[path]?.[method], `${method} ${path}`);
  });

  test('when the rule body is documented, then it refers to the TransformGraph component and rejects unknown fields', () => {
    const rule = doc.components.schemas.RuleRequest;
    assert.equal(rule.additionalProperties, false);
    assert.deepEqual(rule.required.sort(), ['bucket', 'template']);
    assert.equal(
      rule.properties.template.$ref ?? rule.properties.template.allOf?.[0]?.$ref,
      '#/components/schemas/TransformGraph',
    );
  });
});
