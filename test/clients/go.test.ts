/**
 * The Go client OpenAPI Generator (pinned jar, .tools/) writes from the served 3.0.3 document: it
 * compiles with the machine's Go together with the smoke program (go/main.go), which takes a token,
 * submits a branching batch and waits for it against the real stack. Go modules and the build cache
 * live under .tools/, so only the first run downloads and compiles the dependencies.
 */
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';
import { ensureOpenApiGeneratorJar } from '../../src/tools/client-generators.js';
import { toolsRoot } from '../../src/tools/python-tools.js';
import {
  assertOutputsWritten,
  parseSmokeResult,
  runProcess,
  startClientSmoke,
  type ClientSmoke,
} from '../support/generated-clients.js';

const here = path.join(path.dirname(fileURLToPath(import.meta.url)), 'go');
const goEnv = {
  GOFLAGS: '-mod=mod',
  GOMODCACHE: path.join(toolsRoot, 'go-modules'),
  GOCACHE: path.join(toolsRoot, 'go-build-cache'),
  // The machine's Go, never a toolchain download.
  GOTOOLCHAIN: 'local',
};
let smoke: ClientSmoke;
before(async () => {
  smoke = await startClientSmoke('go');
});
after(() => smoke?.close());

describe('generated Go client (OpenAPI Generator)', { timeout: 600_000 }, () => {
  test('when generated from the served 3.0 document, then it compiles and submits a branching batch that writes every output', async () => {
    const jar = await ensureOpenApiGeneratorJar();
    const generatedDir = path.join(smoke.workDir, 'pixelshift-go');
    const generated = await runProcess(
      'java',
      [
        '-jar',
        jar,
        'generate',
        '--generator-name',
        'go',
        '--input-spec',
        smoke.documents.v30,
        '--output',
        generatedDir,
        '--git-user-id',
        'pixelshift',
        '--git-repo-id',
        'pixelshift-go',
        '--package-name',
        'pixelshift',
        '--global-property',
        'apiTests=false,modelTests=false,apiDocs=false,modelDocs=false',
      ],
      { cwd: smoke.workDir },
    );
    assert.equal(generated.exitCode, 0, generated.output);
    assert.doesNotMatch(generated.output, /\bERROR\b/, generated.output);

    const programDir = path.join(smoke.workDir, 'smoke');
    mkdirSync(programDir);
    copyFileSync(path.join(here, 'main.go'), path.join(programDir, 'main.go'));
    writeFileSync(
      path.join(programDir, 'go.mod'),
      [
        'module pixelshift-smoke',
        '',
        'go 1.23',
        '',
        'require github.com/pixelshift/pixelshift-go v0.0.0',
        '',
        `replace github.com/pixelshift/pixelshift-go => ${generatedDir}`,
        '',
      ].join('\n'),
    );
    const built = await runProcess('go', ['build', '-o', 'smoke', '.'], { cwd: programDir, env: goEnv });
    assert.equal(built.exitCode, 0, built.output);

    const run = await runProcess(path.join(programDir, 'smoke'), [], { cwd: programDir, env: smoke.env });
    assert.equal(run.exitCode, 0, run.output);
    assert.equal(parseSmokeResult(run.stdout).state, 'succeeded', run.output);
    await assertOutputsWritten(smoke);
  });
});
