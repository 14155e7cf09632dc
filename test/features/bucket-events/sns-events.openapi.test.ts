/* eslint-disable @typescript-eslint/no-explicit-any -- the document is walked as plain JSON */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { openApiDocumentOf } from '../../../src/app/http-app.js';
import { createTestApi } from '../../support/api-harness.js';

test('when the OpenAPI document is built, then the SNS ingress is documented without bearer security and with every code it answers', async () => {
  const api = await createTestApi();
  const doc = openApiDocumentOf(api.app) as Record<string, any>;
  await api.close();
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
