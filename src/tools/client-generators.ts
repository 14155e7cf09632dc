/**
 * The client generators the test suite runs against the served OpenAPI document (docs/clients.md), and
 * the OpenAPI 3.0 validator, each pinned and installed into .tools/ once: openapi-python-client and
 * openapi-spec-validator from PyPI, @hey-api/openapi-ts from npm, the OpenAPI Generator CLI jar from
 * Maven Central (fetched by Maven, then checked against the SHA-256 pinned here).
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFile, readFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { ensurePipTarget, installOnce, toolsRoot } from './python-tools.js';

const run = promisify(execFile);

export const OPENAPI_PYTHON_CLIENT_REQUIREMENT = 'openapi-python-client==0.29.1';
export const OPENAPI_SPEC_VALIDATOR_REQUIREMENT = 'openapi-spec-validator==0.9.0';
/** 0.95 is the last release whose engines include Node 20 (later ones ask for Node 22). */
export const HEY_API_PACKAGES = ['@hey-api/openapi-ts@0.95.0', 'typescript@5.9.3'] as const;
export const OPENAPI_GENERATOR = {
  artifact: 'org.openapitools:openapi-generator-cli:7.25.0',
  sha256: '41ce4f6b07f196676439d710759fa1ced7a08066d06ff1bf314681470289efae',
} as const;

/** The folder with the openapi_python_client package (for PYTHONPATH). */
export async function ensureOpenApiPythonClient(): Promise<string> {
  return ensurePipTarget('openapi-python-client-0.29.1', [OPENAPI_PYTHON_CLIENT_REQUIREMENT]);
}

/** The folder with the openapi_spec_validator package, which ships the official OpenAPI 3.0 and 3.1 schemas. */
export async function ensureOpenApiSpecValidator(): Promise<string> {
  return ensurePipTarget('openapi-spec-validator-0.9.0', [OPENAPI_SPEC_VALIDATOR_REQUIREMENT]);
}

/** The `openapi-ts` executable. */
export async function ensureHeyApiOpenApiTs(): Promise<string> {
  const folder = path.join(toolsRoot, 'hey-api-openapi-ts-0.95.0');
  const executable = path.join(folder, 'node_modules', '.bin', 'openapi-ts');
  await installOnce(folder, HEY_API_PACKAGES.join('\n'), async (scratch) => {
    // TypeScript is its peer dependency; pinned beside it so the folder stands alone.
    await run(
      'npm',
      ['install', '--prefix', scratch, '--no-audit', '--no-fund', '--loglevel=error', ...HEY_API_PACKAGES],
      { maxBuffer: 16 * 1024 * 1024 },
    );
  });
  return executable;
}

/** The OpenAPI Generator CLI jar (run with `java -jar`). */
export async function ensureOpenApiGeneratorJar(): Promise<string> {
  const [group, name, version] = OPENAPI_GENERATOR.artifact.split(':') as [string, string, string];
  const folder = path.join(toolsRoot, `${name}-${version}`);
  const jar = path.join(folder, `${name}-${version}.jar`);
  await installOnce(folder, OPENAPI_GENERATOR.artifact, async (scratch) => {
    const repository = path.join(toolsRoot, 'maven-repository');
    await run(
      'mvn',
      [
        '-B',
        '-q',
        `-Dmaven.repo.local=${repository}`,
        'dependency:get',
        `-Dartifact=${OPENAPI_GENERATOR.artifact}`,
        '-Dtransitive=false',
      ],
      { maxBuffer: 16 * 1024 * 1024 },
    );
    const fetched = path.join(repository, ...group.split('.'), name, version, `${name}-${version}.jar`);
    const digest = createHash('sha256')
      .update(await readFile(fetched))
      .digest('hex');
    if (digest !== OPENAPI_GENERATOR.sha256) {
      throw new Error(`${fetched} has SHA-256 ${digest}, expected ${OPENAPI_GENERATOR.sha256}`);
    }
    await copyFile(fetched, path.join(scratch, path.basename(jar)));
  });
  return jar;
}

/** What the client openapi-python-client generates imports at run time, pinned for the smoke test. */
export const PYTHON_CLIENT_RUNTIME_REQUIREMENTS = [
  'httpx==0.28.1',
  'attrs==26.1.0',
  'python-dateutil==2.9.0.post0',
] as const;

export async function ensurePythonClientRuntime(): Promise<string> {
  return ensurePipTarget('python-client-runtime-1', PYTHON_CLIENT_RUNTIME_REQUIREMENTS);
}
