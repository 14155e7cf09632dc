/**
 * Regenerates the SDK's types (packages/client/src/generated/types.ts) from the OpenAPI document the
 * server serves, with the pinned @hey-api/openapi-ts (types only, no client code). The suite fails when
 * the committed file differs from what this writes (test/client-sdk/generated-types.test.ts).
 *
 * Usage: npm run client:types
 */
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { generateClientTypes } from '../src/tools/client-types.js';
import { renderServedOpenApiDocument } from '../src/app/openapi-document.js';

const target = path.resolve(
  path.dirname(fileURLToPath(import.meta.url)),
  '../packages/client/src/generated/types.ts',
);
await writeFile(target, await generateClientTypes(await renderServedOpenApiDocument()));
console.log(`wrote ${path.relative(process.cwd(), target)}`);
