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

  test('when the rule body is documented, then it refers to the GraphTemplate component and rejects unknown fields', () => {
    const rule = doc.components.schemas.RuleRequest;
    assert.equal(rule.additionalProperties, false);
    assert.deepEqual(rule.required.sort(), ['bucket', 'template']);
    assert.equal(
      rule.properties.template.$ref ?? rule.properties.template.allOf?.[0]?.$ref,
      '#/components/schemas/GraphTemplate',
    );
    assert.deepEqual(doc.components.schemas.Rule.properties.template, {
      $ref: '#/components/schemas/GraphTemplate',
    });
  });

  test('when a graph template is documented, then it has no StorageSource and its sinks allow exactly the placeholders the server accepts', () => {
    const schemas = doc.components.schemas;
    assert.deepEqual(schemas.GraphTemplate.properties.outputs.items, {
      $ref: '#/components/schemas/GraphTemplate',
    });
    const units = schemas.TemplateUnit.oneOf.map((unit: { $ref: string }) => unit.$ref);
    assert.ok(!units.includes('#/components/schemas/StorageSource'));
    assert.ok(units.includes('#/components/schemas/TemplateSink'));
    const bucket = new RegExp(schemas.TemplateSink.properties.bucket.pattern);
    const key = new RegExp(schemas.TemplateSink.properties.key.pattern);
    for (const good of ['{bucket}', 'thumbs', '{bucket}-thumbs', 'a']) assert.ok(bucket.test(good), good);
    for (const bad of ['{name}', '-thumbs', 'Thumbs', '{bucket']) assert.ok(!bucket.test(bad), bad);
    for (const good of ['thumbs/{dir}/{name}{ext}', '{key}', 'plain/key.jpg'])
      assert.ok(key.test(good), good);
    for (const bad of ['x/{date}.jpg', 'a{b', 'a}b', 'a\nb']) assert.ok(!key.test(bad), bad);
  });
});
