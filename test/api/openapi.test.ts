/* eslint-disable @typescript-eslint/no-explicit-any, @typescript-eslint/no-unsafe-return -- the document is walked as plain JSON */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import request from 'supertest';
import {
  batchInputSchema,
  transformGraphSchema,
  transformUnitSchema,
  unitTypes,
} from '../../src/core/graph/index.js';
import { createTestApi, type TestApi } from '../support/api-harness.js';

let api: TestApi;
let doc: Record<string, any>;
before(async () => {
  api = await createTestApi();
  doc = (await request(api.app).get('/swagger/v1/swagger.json').expect(200).expect('Content-Type', /json/))
    .body;
});
after(() => api.close());

/** Every `$ref` in the document, so none may point at a missing component. */
function refs(node: unknown, found = new Set<string>()): Set<string> {
  if (Array.isArray(node)) node.forEach((item) => refs(item, found));
  else if (node && typeof node === 'object') {
    for (const [key, value] of Object.entries(node)) {
      if (key === '$ref' && typeof value === 'string') found.add(value);
      else refs(value, found);
    }
  }
  return found;
}

describe('OpenAPI document', () => {
  test('when fetched, then it is an OpenAPI 3.1 document with info, paths and components', () => {
    assert.match(doc.openapi, /^3\.1\.\d+$/);
    assert.equal(doc.info.title, 'pixelshift');
    assert.equal(typeof doc.info.version, 'string');
    for (const path of [
      '/oauth/token',
      '/v1/batches',
      '/v1/batches/{batchId}',
      '/v1/batches/{batchId}/graphs/{index}',
      '/v1/batches/{batchId}/cancel',
      '/v1/graphs:validate',
      '/v1/keys',
      '/v1/keys/{keyId}',
      '/healthz',
      '/readyz',
      '/metrics',
    ]) {
      assert.ok(doc.paths[path], `documents ${path}`);
    }
  });

  test('when a generator reads the unit union, then it finds a discriminator on type mapping every unit to its own component', () => {
    const union = doc.components.schemas.TransformUnit;
    assert.equal(union.discriminator.propertyName, 'type');
    assert.deepEqual(Object.keys(union.discriminator.mapping).sort(), [...unitTypes].sort());
    for (const type of unitTypes) {
      assert.equal(union.discriminator.mapping[type], `#/components/schemas/${type}`);
      const component = doc.components.schemas[type];
      assert.ok(component, `component ${type}`);
      assert.deepEqual(component.properties.type.enum, [type]);
      assert.ok(component.required.includes('type'));
      assert.equal(component.additionalProperties, false, `${type} rejects unknown fields`);
    }
    assert.deepEqual(
      union.oneOf.map((option: { $ref: string }) => option.$ref).sort(),
      unitTypes.map((type) => `#/components/schemas/${type}`).sort(),
    );
  });

  test('when a generator reads a unit, then every optional field states its default and the example is a valid unit', () => {
    for (const type of unitTypes) {
      const component = doc.components.schemas[type];
      assert.ok(component.description, `${type} is described`);
      assert.equal(component.example?.type, type, `${type} has an example of itself`);
      const parsed = transformUnitSchema.safeParse(component.example);
      assert.ok(parsed.success, `${type} example is valid: ${JSON.stringify(parsed.error?.issues)}`);
      for (const [name, property] of Object.entries(component.properties as Record<string, any>)) {
        if (component.required.includes(name)) continue;
        assert.match(property.description ?? '', /Default: /, `${type}.${name} states its default`);
        if (property.default !== undefined) {
          assert.ok(
            (property.description as string).endsWith(`Default: ${JSON.stringify(property.default)}.`),
            `${type}.${name}: the description and the default keyword agree`,
          );
        }
      }
    }
    assert.match(
      doc.components.schemas.Resize.properties.withoutEnlargement.description,
      /false for "cover" and "fill" with both width and height/,
    );
  });

  test('when the graph is documented, then the root TransformGraph has at least one unit, its outputs are recursive ChildGraphs that may have none, and the batch refers to the root', () => {
    const graph = doc.components.schemas.TransformGraph;
    assert.deepEqual(graph.properties.transformUnits, {
      type: 'array',
      items: { $ref: '#/components/schemas/TransformUnit' },
      minItems: 1,
    });
    assert.deepEqual(graph.properties.outputs.items, { $ref: '#/components/schemas/ChildGraph' });
    assert.deepEqual(Object.keys(graph.properties).sort(), Object.keys(transformGraphSchema.shape).sort());
    const child = doc.components.schemas.ChildGraph;
    assert.deepEqual(child.properties.transformUnits, {
      type: 'array',
      items: { $ref: '#/components/schemas/TransformUnit' },
    });
    assert.deepEqual(child.properties.outputs.items, { $ref: '#/components/schemas/ChildGraph' });
    assert.deepEqual(child.required, ['transformUnits']);
    assert.deepEqual(Object.keys(child.properties).sort(), Object.keys(graph.properties).sort());
    const batch = doc.components.schemas.BatchRequest;
    assert.deepEqual(batch.properties.graphs.items, { $ref: '#/components/schemas/TransformGraph' });
    assert.equal(batch.properties.graphs.maxItems, 1000);
    assert.deepEqual(Object.keys(batch.properties).sort(), Object.keys(batchInputSchema.shape).sort());
    assert.deepEqual(doc.paths['/v1/batches'].post.requestBody.content['application/json'].schema, {
      $ref: '#/components/schemas/BatchRequest',
    });
    assert.deepEqual(doc.paths['/v1/graphs:validate'].post.requestBody.content['application/json'].schema, {
      $ref: '#/components/schemas/TransformGraph',
    });
    assert.deepEqual(doc.components.schemas.BatchGraph.properties.graph, {
      $ref: '#/components/schemas/TransformGraph',
    });
  });

  test('when responses are documented, then they use the named components, including the error format', () => {
    const post = doc.paths['/v1/batches'].post;
    assert.deepEqual(post.responses['201'].content['application/json'].schema, {
      $ref: '#/components/schemas/BatchStartReportResponse',
    });
    for (const status of ['400', '401', '403', '409', '413', '415', '422', '503']) {
      assert.deepEqual(post.responses[status].content['application/json'].schema, {
        $ref: '#/components/schemas/ErrorResponse',
      });
    }
    const report = doc.components.schemas.BatchStartReportResponse;
    assert.deepEqual(report.required.sort(), [
      'batchId',
      'createdAt',
      'graphsAccepted',
      'statusUrl',
      'workflowId',
    ]);
    assert.ok(doc.components.schemas.ErrorResponse.properties.error);
  });

  test('when security is documented, then OAuth2 client credentials at /oauth/token, bearer and the dashboard session cookie are offered', () => {
    const schemes = doc.components.securitySchemes;
    assert.equal(schemes.oauth2.type, 'oauth2');
    assert.equal(schemes.oauth2.flows.clientCredentials.tokenUrl, '/oauth/token');
    assert.deepEqual(schemes.bearerAuth, {
      type: 'http',
      scheme: 'bearer',
      bearerFormat: 'JWT',
      description: schemes.bearerAuth.description,
    });
    assert.deepEqual(schemes.sessionCookie, {
      type: 'apiKey',
      in: 'cookie',
      name: 'pixelshift_session',
      description: schemes.sessionCookie.description,
    });
    assert.match(schemes.sessionCookie.description, /X-CSRF-Token/);
    assert.deepEqual(doc.security, [{ oauth2: [] }, { bearerAuth: [] }, { sessionCookie: [] }]);
    assert.deepEqual(doc.paths['/oauth/token'].post.security, []);
    assert.deepEqual(doc.paths['/auth/sign-in'].post.security, []);
    assert.deepEqual(doc.paths['/auth/session'].get.security, [{ sessionCookie: [] }]);
    assert.ok(doc.paths['/auth/sign-in'].post.responses['200'].headers['Set-Cookie']);
    assert.ok(doc.paths['/v1/keys'].post.responses['403'], 'a cookie request without CSRF is documented');
    assert.deepEqual(doc.paths['/healthz'].get.security, []);
  });

  test('when a field names a storage connection, then the document lists the connections this server has', () => {
    const schemas = doc.components.schemas;
    const configured = Object.keys(api.config.storage.connections);
    for (const [where, field] of [
      [schemas.StorageSource, 'storage'],
      [schemas.StorageSink, 'storage'],
      [schemas.TemplateSink, 'storage'],
      [schemas.Watermark, 'storage'],
      [schemas.RuleRequest, 'connection'],
      [schemas.HookMapping, 'connection'],
    ] as const) {
      assert.deepEqual(where.properties[field].enum, configured, field);
    }
  });

  test('when a unit has rules across its fields that JSON Schema can state, then the document states them', () => {
    const schemas = doc.components.schemas;
    assert.deepEqual(schemas.Resize.anyOf, [{ required: ['width'] }, { required: ['height'] }]);
    assert.deepEqual(
      schemas.AutoCrop.anyOf.map((branch: any) => branch.properties.mode.const),
      ['smart', 'trim'],
    );
    const webp = schemas.ImageFormat.anyOf.filter((branch: any) => branch.properties.format.const === 'webp');
    assert.deepEqual(
      webp.map((branch: any) => [branch.properties.effort, branch.properties.lossless, branch.required]),
      [
        [{ minimum: 0, maximum: 6 }, undefined, undefined],
        [{ minimum: 0, maximum: 6 }, { type: 'boolean', enum: [false] }, ['maxBytes']],
      ],
      'a byte budget only with lossy output',
    );
    const gif = schemas.ImageFormat.anyOf.find((branch: any) => branch.properties.format.const === 'gif');
    assert.deepEqual(gif.propertyNames.enum.sort(), [
      'animated',
      'colors',
      'effort',
      'format',
      'metadata',
      'type',
    ]);
    const metadata = schemas.StorageSink.properties.metadata;
    assert.deepEqual([metadata.propertyNames.pattern, metadata.maxProperties], ['^[a-z0-9-]{1,64}$', 32]);
  });

  test('when every $ref is followed, then it lands on a component that exists', () => {
    for (const ref of refs(doc)) {
      const name = ref.replace('#/components/schemas/', '');
      assert.ok(doc.components.schemas[name], `${ref} exists`);
    }
    const operationIds = Object.values(doc.paths).flatMap((item: any) =>
      Object.values(item).map((op: any) => op.operationId),
    );
    assert.equal(new Set(operationIds).size, operationIds.length, 'operationIds are unique');
  });

  test('when /swagger is opened, then it redirects to the interactive docs page, which loads the document', async () => {
    const redirect = await request(api.app).get('/swagger').expect(301);
    assert.equal(redirect.headers.location, 'swagger/');
    const page = await request(api.app).get('/swagger/').expect(200).expect('Content-Type', /html/);
    assert.match(page.text, /<div id="swagger-ui">/);
    const init = await request(api.app).get('/swagger/swagger-ui-init.js').expect(200);
    assert.match(init.text, /v1\/swagger\.json/);
    await request(api.app).get('/swagger/swagger-ui.css').expect(200);
    await request(api.app).get('/swagger/index.html').expect(301).expect('Location', './');
  });
});
