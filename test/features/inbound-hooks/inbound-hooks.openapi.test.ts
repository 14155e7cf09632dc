/* eslint-disable @typescript-eslint/no-explicit-any, @typescript-eslint/no-unsafe-return -- the document is walked as plain JSON */
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

describe('OpenAPI document: inbound hooks', () => {
  test('when hooks are documented, then every management operation and the trigger are there', () => {
    assert.deepEqual(Object.keys(doc.paths['/v1/hooks']).sort(), ['get', 'post']);
    assert.deepEqual(Object.keys(doc.paths['/v1/hooks/{hookId}']).sort(), ['delete', 'get', 'patch', 'post']);
    assert.deepEqual(Object.keys(doc.paths['/v1/hooks/{hookId}/rotate-secret']), ['post']);
  });

  test('when the trigger is documented, then its security is the signature and it lists the three Standard Webhooks headers', () => {
    const trigger = doc.paths['/v1/hooks/{hookId}'].post;
    assert.deepEqual(trigger.security, [{ hookSignature: [] }]);
    const scheme = doc.components.securitySchemes.hookSignature;
    assert.equal(scheme.type, 'apiKey');
    assert.equal(scheme.in, 'header');
    assert.equal(scheme.name, 'webhook-signature');
    const headers = trigger.parameters.filter((p: any) => p.in === 'header');
    assert.deepEqual(
      headers.map((p: any) => [p.name, p.required]),
      [
        ['webhook-id', true],
        ['webhook-timestamp', true],
        ['webhook-signature', true],
      ],
    );
    assert.deepEqual(trigger.responses['202'].content['application/json'].schema, {
      $ref: '#/components/schemas/HookTriggerResponse',
    });
    assert.deepEqual(Object.keys(trigger.responses).sort(), [
      '202',
      '400',
      '401',
      '403',
      '404',
      '413',
      '422',
      '503',
    ]);
    assert.deepEqual(doc.components.schemas.HookTriggerResponse.required.sort(), [
      'duplicate',
      'runId',
      'statusUrl',
      'workflowId',
    ]);
  });

  test('when hooks are documented, then templates refer to TransformGraph and the secret is only in create and rotate answers', () => {
    const schemas = doc.components.schemas;
    for (const name of ['Hook', 'CreatedHook', 'CreateHookRequest', 'UpdateHookRequest']) {
      assert.deepEqual(
        schemas[name].properties.template,
        { $ref: '#/components/schemas/TransformGraph' },
        name,
      );
      assert.deepEqual(schemas[name].properties.mapping, { $ref: '#/components/schemas/HookMapping' }, name);
    }
    assert.equal(schemas.Hook.properties.secret, undefined);
    assert.ok(schemas.CreatedHook.required.includes('secret'));
    assert.ok(schemas.RotatedHookSecret.required.includes('secret'));
    assert.equal(schemas.CreateHookRequest.additionalProperties, false);
    assert.deepEqual(
      doc.paths['/v1/hooks/{hookId}'].get.security,
      undefined,
      'management uses the default token security',
    );
  });
});
