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
      '500',
      '503',
    ]);
    assert.deepEqual(doc.components.schemas.HookTriggerResponse.required.sort(), [
      'duplicate',
      'runId',
      'statusUrl',
      'workflowId',
    ]);
  });

  test('when hooks are documented, then templates refer to GraphTemplate and the secret is only in create and rotate answers', () => {
    const schemas = doc.components.schemas;
    for (const name of ['Hook', 'CreatedHook', 'CreateHookRequest', 'UpdateHookRequest']) {
      assert.deepEqual(
        schemas[name].properties.template,
        { $ref: '#/components/schemas/GraphTemplate' },
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

  test('when the request bodies are documented, then they are the schemas the server validates with', () => {
    const paths = doc.paths;
    const body = (path: string, method: string) =>
      paths[path][method].requestBody.content['application/json'].schema;
    assert.deepEqual(body('/v1/hooks', 'post'), { $ref: '#/components/schemas/CreateHookRequest' });
    assert.deepEqual(body('/v1/hooks/{hookId}', 'patch'), { $ref: '#/components/schemas/UpdateHookRequest' });
    const update = doc.components.schemas.UpdateHookRequest;
    assert.equal(update.minProperties, 1, 'a change names at least one field');
    assert.equal(update.additionalProperties, false);
    assert.deepEqual(doc.components.schemas.CreateHookRequest.required.sort(), [
      'mapping',
      'name',
      'template',
    ]);
    for (const name of ['CreateHookRequest', 'UpdateHookRequest']) {
      // What the graph validator checks beyond the schema is said where the template is documented.
      assert.match(doc.components.schemas[name].description, /without its StorageSource/, name);
      assert.match(doc.components.schemas[name].description, /\{dir\}/, name);
    }
  });

  test('when a mapping pointer is documented, then its pattern is what the server accepts', () => {
    const key = doc.components.schemas.HookMapping.properties.key;
    const pointer = new RegExp(key.properties.pointer.pattern);
    for (const good of ['', '/key', '/data/object/key', '/a~0b/c~1d', `/${'a/'.repeat(31)}b`]) {
      assert.ok(pointer.test(good), good);
    }
    for (const bad of ['key', '/a~2b', '/a~', `/${'a/'.repeat(32)}b`, '/a\u0000b']) {
      assert.ok(!pointer.test(bad), bad);
    }
    assert.equal(key.properties.pointer.maxLength, 1024);
  });

  test('when the trigger’s headers are documented, then their patterns are the ones the server checks', () => {
    const trigger = doc.paths['/v1/hooks/{hookId}'].post;
    const schemaOf = (name: string) => trigger.parameters.find((p: any) => p.name === name).schema;
    const id = new RegExp(schemaOf('webhook-id').pattern);
    assert.ok(id.test('msg_2KWPBgLlAfxdpx2AI54pPJ85f4W') && id.test('m'.repeat(256)));
    assert.ok(!id.test('m'.repeat(257)) && !id.test('msg with space') && !id.test(''));
    const timestamp = new RegExp(schemaOf('webhook-timestamp').pattern);
    assert.ok(timestamp.test('1733232037') && !timestamp.test('soon'));
    assert.equal(schemaOf('webhook-signature').minLength, 1);
    // Any media type is taken (the signature covers the raw bytes), so 415 is never answered.
    assert.equal(trigger.responses['415'], undefined);
  });
});
