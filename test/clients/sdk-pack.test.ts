/**
 * @pixelshift/client is publishable: built with the repo's TypeScript and packed with `npm pack`, the
 * tarball installs into an empty project and the README's quick start runs against the real stack.
 */
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';
import {
  assertOutputsWritten,
  parseSmokeResult,
  runProcess,
  startClientSmoke,
  type ClientSmoke,
} from '../support/generated-clients.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const projectRoot = path.resolve(here, '../..');
const packageDir = path.join(projectRoot, 'packages/client');
let smoke: ClientSmoke;
before(async () => {
  smoke = await startClientSmoke('sdk-pack');
});
after(() => smoke?.close());

describe('the packed @pixelshift/client', { timeout: 300_000 }, () => {
  test('when its tarball is installed into an empty project, then the quick start runs against the stack and writes every output', async () => {
    // Built and packed in a copy, so the test never writes into the working tree.
    const staged = path.join(smoke.workDir, 'package');
    mkdirSync(staged);
    for (const file of ['package.json', 'README.md', 'CHANGELOG.md']) {
      copyFileSync(path.join(packageDir, file), path.join(staged, file));
    }
    const tsc = path.join(projectRoot, 'node_modules/.bin/tsc');
    const built = await runProcess(
      tsc,
      ['-p', path.join(packageDir, 'tsconfig.json'), '--outDir', path.join(staged, 'dist')],
      { cwd: projectRoot },
    );
    assert.equal(built.exitCode, 0, built.output);
    const packed = await runProcess('npm', ['pack', '--loglevel=error'], { cwd: staged });
    assert.equal(packed.exitCode, 0, packed.output);
    const tarball = path.join(
      staged,
      readdirSync(staged).find((name) => name.endsWith('.tgz'))!,
    );
    assert.match(path.basename(tarball), /^pixelshift-client-0\.1\.0\.tgz$/);

    const project = path.join(smoke.workDir, 'project');
    mkdirSync(project);
    writeFileSync(
      path.join(project, 'package.json'),
      JSON.stringify({ name: 'sdk-user', private: true, type: 'module' }),
    );
    const installed = await runProcess(
      'npm',
      ['install', '--no-audit', '--no-fund', '--loglevel=error', tarball],
      {
        cwd: project,
      },
    );
    assert.equal(installed.exitCode, 0, installed.output);
    copyFileSync(path.join(here, 'sdk-pack/quick-start.mjs'), path.join(project, 'quick-start.mjs'));

    const run = await runProcess(process.execPath, ['quick-start.mjs'], { cwd: project, env: smoke.env });
    assert.equal(run.exitCode, 0, run.output);
    assert.equal(parseSmokeResult(run.stdout).state, 'succeeded', run.output);
    await assertOutputsWritten(smoke);
  });
});
