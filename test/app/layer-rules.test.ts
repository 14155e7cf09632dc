/**
 * The layer rules of eslint.config.js (docs/architecture.md §2.1) have teeth: each forbidden import is
 * refused in the layer it is forbidden in, and the imports the layers are meant to make pass. Only the
 * import rule runs, without type information, so the probes may name files that do not exist.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ESLint } from 'eslint';

const eslint = new ESLint({
  ruleFilter: ({ ruleId }) => ruleId === '@typescript-eslint/no-restricted-imports',
  overrideConfig: { languageOptions: { parserOptions: { projectService: false, project: null } } },
});

/** The import-rule messages for one import line placed in `file`. */
async function refusals(file: string, importLine: string): Promise<string[]> {
  const [result] = await eslint.lintText(`${importLine}\nexport const probe = x;\n`, { filePath: file });
  assert.ok(result, file);
  const other = result.messages.filter((m) => m.ruleId !== '@typescript-eslint/no-restricted-imports');
  assert.deepEqual(other, [], `${file}: only the import rule runs`);
  return result.messages.map((m) => m.message);
}

const refused: [file: string, importLine: string][] = [
  // core imports nothing above it, and no infrastructure, HTTP or OpenTelemetry SDK package.
  ['src/core/probe.ts', "import { x } from '../db/database.js';"],
  ['src/core/graph/probe.ts', "import { x } from '../../temporal/setup.js';"],
  ['src/core/graph/probe.ts', "import { x } from '../../api/define-route.js';"],
  ['src/core/probe.ts', "import { x } from '../features/rules/rules.service.js';"],
  ['src/core/probe.ts', "import { x } from '../app/wiring.js';"],
  ['src/core/probe.ts', "import { x } from '@temporalio/client';"],
  ['src/core/probe.ts', "import x from 'pg';"],
  ['src/core/probe.ts', "import x from 'express';"],
  ['src/core/probe.ts', "import { x } from '@opentelemetry/sdk-trace-base';"],
  // db: core only.
  ['src/db/probe.ts', "import { x } from '../temporal/setup.js';"],
  ['src/db/probe.ts', "import { x } from '../api/api-error.js';"],
  ['src/db/probe.ts', "import { x } from '@temporalio/common';"],
  // temporal: core and db; no HTTP.
  ['src/temporal/client/probe.ts', "import { x } from '../../features/runs/runs.service.js';"],
  ['src/temporal/worker/probe.ts', "import { x } from '../../api/api-error.js';"],
  ['src/temporal/worker/probe.ts', "import x from 'express';"],
  // api and features: never Temporal or app.
  ['src/api/probe.ts', "import { x } from '../temporal/setup.js';"],
  ['src/api/probe.ts', "import { x } from '../features/rules/rules.routes.js';"],
  ['src/features/rules/probe.ts', "import { x } from '../../temporal/client/temporal-orchestrator.js';"],
  ['src/features/rules/probe.ts', "import { x } from '../../app/wiring.js';"],
  ['src/features/rules/probe.ts', "import { x } from '@temporalio/client';"],
  // tools: none of the service's layers above core.
  ['src/tools/probe.ts', "import { x } from '../db/database.js';"],
  // workflows: Temporal's sandbox.
  ['src/temporal/workflows/probe.ts', "import x from 'node:fs';"],
  ['src/temporal/workflows/probe.ts', "import x from 'sharp';"],
  ['src/temporal/workflows/probe.ts', "import { x } from '@temporalio/client';"],
  ['src/temporal/workflows/probe.ts', "import { x } from '@opentelemetry/sdk-trace-base';"],
  ['src/temporal/workflows/probe.ts', "import { x } from '../../core/imaging/index.js';"],
  ['src/temporal/workflows/probe.ts', "import { x } from '../../core/telemetry/spans.js';"],
  ['src/temporal/workflows/probe.ts', "import { x } from '../../core/config.js';"],
  ['src/temporal/workflows/probe.ts', "import { x } from '../../db/graph-runs.js';"],
  ['src/temporal/workflows/probe.ts', "import { x } from '../setup.js';"],
  ['src/temporal/workflows/probe.ts', "import { x } from '../worker/runtime.js';"],
  ['src/temporal/workflows/probe.ts', "import { x } from '../activities/index.js';"],
];

const allowed: [file: string, importLine: string][] = [
  ['src/db/probe.ts', "import { x } from '../core/graph/graph.js';"],
  ['src/temporal/activities/probe.ts', "import { x } from '../../db/graph-runs.js';"],
  ['src/features/rules/probe.ts', "import { x } from '../../api/define-route.js';"],
  ['src/features/rules/probe.ts', "import { x } from '../batches/batch-lookup.js';"],
  ['src/app/probe.ts', "import { x } from '../temporal/setup.js';"],
  ['src/app/probe.ts', "import { x } from '@opentelemetry/sdk-trace-base';"],
  ['src/core/probe.ts', "import { x } from '@opentelemetry/api';"],
  ['src/temporal/workflows/probe.ts', "import { x } from '@temporalio/workflow';"],
  ['src/temporal/workflows/probe.ts', "import { x } from '../../core/graph/graph.js';"],
  ['src/temporal/workflows/probe.ts', "import { x } from '../../core/jobs/job-status.js';"],
  ['src/temporal/workflows/probe.ts', "import { x } from '../../core/webhooks/webhook-retry.js';"],
  ['src/temporal/workflows/probe.ts', "import { x } from '../../core/errors.js';"],
  ['src/temporal/workflows/probe.ts', "import { x } from '../search-attributes.js';"],
  ['src/temporal/workflows/probe.ts', "import { x } from '../scheduling.js';"],
  ['src/temporal/workflows/probe.ts', "import { x } from './definitions.js';"],
  ['src/temporal/workflows/probe.ts', "import type { x } from '../activities/index.js';"],
];

describe('the layer rules of eslint.config.js', () => {
  for (const [file, importLine] of refused) {
    test(`when ${file} has ${importLine}, then lint refuses it`, async () => {
      const messages = await refusals(file, importLine);
      assert.equal(messages.length, 1, messages.join('\n'));
    });
  }
  for (const [file, importLine] of allowed) {
    test(`when ${file} has ${importLine}, then lint allows it`, async () => {
      assert.deepEqual(await refusals(file, importLine), []);
    });
  }
});
