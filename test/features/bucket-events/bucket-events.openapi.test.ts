/* eslint-disable @typescript-eslint/no-explicit-any -- the document is walked as plain JSON */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { openApiDocumentOf } from '../../../src/app/http-app.js';
import { createTestApi, type TestApi } from '../../support/api-harness.js';

let api: TestApi;
let doc: Record<string, any>;
before(async () => {
  api = await createTestApi();
  doc = openApiDocumentOf(api.app) as Record<string, any>;
});
after(() => api.close());

describe('OpenAPI document: bucket event ingress', () => {
  test('when fetched, then the S3 ingress is documented', () => {
    assert.ok(doc.paths['/v1/events/s3']?.post, 'post /v1/events/s3');
  });

  test('when the ingress is documented, then it uses the event token scheme, not the account token', () => {
    assert.deepEqual(doc.paths['/v1/events/s3'].post.security, [{ eventToken: [] }]);
    assert.equal(doc.components.securitySchemes.eventToken.scheme, 'bearer');
    assert.ok(doc.paths['/v1/events/s3'].post.requestBody.content['text/plain']);
  });

  test('when the SNS Timestamp is documented, then it is an RFC 3339 date-time in UTC', () => {
    const body = doc.paths['/v1/events/sns'].post.requestBody.content['application/json'].schema;
    const variants: any[] = body.oneOf ?? doc.components.schemas[body.$ref.split('/').pop()].oneOf;
    for (const variant of variants) {
      assert.equal(variant.properties.Timestamp.format, 'date-time');
      assert.match('2026-12-03T10:00:00.123Z', new RegExp(variant.properties.Timestamp.pattern));
    }
  });

  test('when the OpenAPI document is built, then the SNS ingress is documented without bearer security and with every code it answers', () => {
    const operation = doc.paths['/v1/events/sns'].post;
    assert.deepEqual(operation.security, []);
    assert.deepEqual(Object.keys(operation.requestBody.content).sort(), ['application/json', 'text/plain']);
    assert.equal(
      operation.responses['200'].content['application/json'].schema.$ref,
      '#/components/schemas/SnsReceipt',
    );
    const described = JSON.stringify(operation.responses);
    for (const code of [
      'invalid_json',
      'invalid_sns_message',
      'invalid_sns_signature',
      'sns_certificate_host_refused',
      'sns_topic_not_allowed',
      'sns_message_expired',
      'sns_message_replayed',
      'payload_too_large',
      'unsupported_media_type',
      'sns_confirmation_failed',
      'orchestrator_unavailable',
      'sns_certificate_unavailable',
    ]) {
      assert.ok(described.includes(`\`${code}\``), code);
    }
    assert.ok(doc.components.schemas.SnsMessage);
  });
});
