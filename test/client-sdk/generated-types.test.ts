/**
 * The SDK's committed types are what the served document generates today: a route or schema change
 * without `npm run client:types` fails here.
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { describe, test } from 'node:test';
import { renderServedOpenApiDocument } from '../../src/app/openapi-document.js';
import { generateClientTypes } from '../../src/tools/client-types.js';

const committedTypes = new URL('../../packages/client/src/generated/types.ts', import.meta.url);

describe('the SDK’s generated types', { timeout: 300_000 }, () => {
  test('when regenerated from the document the server serves, then they equal the committed file', async () => {
    const regenerated = await generateClientTypes(await renderServedOpenApiDocument());
    const committed = await readFile(committedTypes, 'utf8');
    assert.ok(
      regenerated === committed,
      'packages/client/src/generated/types.ts is stale: run `npm run client:types` and commit the result',
    );
  });
});
