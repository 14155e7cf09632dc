/**
 * docker-compose.yml, checked without a Docker engine: against the Compose specification's JSON schema
 * (vendored in deploy/schemas/, see its README), and by our own rules: depends_on names services that
 * exist, every image is pinned to a tag, secrets come from git-ignored env files, and the workers get
 * longer than their drain time to stop. Each rule is also shown refusing a broken copy.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { parse } from 'yaml';
import { loadConfig, parseDuration } from '../../src/core/config.js';

const root = path.resolve(import.meta.dirname, '../..');
const composeText = readFileSync(path.join(root, 'docker-compose.yml'), 'utf8');

interface Service {
  image?: string;
  build?: unknown;
  env_file?: (string | { path: string })[];
  environment?: Record<string, string | number | boolean | null> | string[];
  depends_on?: string[] | Record<string, { condition?: string }>;
  healthcheck?: { test?: unknown; disable?: boolean };
  stop_grace_period?: string;
  profiles?: string[];
}
interface ComposeFile {
  services: Record<string, Service>;
}

/** YAML as Compose reads it: merge keys (`<<: *anchor`) resolved. */
function parseCompose(text: string): ComposeFile {
  return parse(text, { merge: true }) as ComposeFile;
}

function validateAgainstSpec(document: unknown): string[] {
  const schema = JSON.parse(
    readFileSync(path.join(root, 'deploy/schemas/compose-spec.json'), 'utf8'),
  ) as object;
  const ajv = new Ajv2020({ strict: false, allErrors: true, validateFormats: false });
  const validate = ajv.compile(schema);
  if (validate(document)) return [];
  return (validate.errors ?? []).map((error) => `${error.instancePath} ${error.message ?? ''}`.trim());
}

function environmentOf(service: Service): Record<string, string> {
  const env = service.environment ?? {};
  if (Array.isArray(env)) {
    return Object.fromEntries(
      env.map((entry) => {
        const at = entry.indexOf('=');
        return at < 0 ? [entry, ''] : [entry.slice(0, at), entry.slice(at + 1)];
      }),
    );
  }
  return Object.fromEntries(
    Object.entries(env).map(([key, value]) => [key, value === null ? '' : String(value)]),
  );
}

function dependencies(service: Service): Record<string, string> {
  const deps = service.depends_on ?? [];
  if (Array.isArray(deps)) return Object.fromEntries(deps.map((name) => [name, 'service_started']));
  return Object.fromEntries(
    Object.entries(deps).map(([name, dep]) => [name, dep.condition ?? 'service_started']),
  );
}

/** Our own rules; each problem is one line naming the service. */
function composeProblems(file: ComposeFile): string[] {
  const problems: string[] = [];
  const names = new Set(Object.keys(file.services));
  for (const [name, service] of Object.entries(file.services)) {
    for (const [dependency, condition] of Object.entries(dependencies(service))) {
      if (!names.has(dependency)) problems.push(`${name}: depends on ${dependency}, which is not a service`);
      else if (condition === 'service_healthy' && !file.services[dependency]!.healthcheck?.test)
        problems.push(`${name}: waits for ${dependency} to be healthy, which has no healthcheck`);
    }
    if (!service.image) problems.push(`${name}: no image`);
    else if (
      !/^[^\s:@]+(:[\w][\w.-]{0,127})(@sha256:[0-9a-f]{64})?$|@sha256:[0-9a-f]{64}$/.test(service.image)
    )
      problems.push(`${name}: image ${service.image} is not pinned to a tag or digest`);
    else if (/:latest(@|$)/.test(service.image)) problems.push(`${name}: image ${service.image} is :latest`);
    for (const [key, value] of Object.entries(environmentOf(service))) {
      const secretName = /PASSWORD|PWD|SECRET|TOKEN|API_KEY|ACCESS_KEY|SECRETS_KEY|CREDENTIAL/i.test(key);
      if (secretName && value !== '' && !/^\$\{[A-Z0-9_]+\}$/.test(value))
        problems.push(`${name}: ${key} has a literal value; put it in an env file`);
      if (/:\/\/[^/\s:@]+:[^@\s]+@/.test(value))
        problems.push(`${name}: ${key} carries a password in a URL; put it in an env file`);
    }
    for (const entry of service.env_file ?? []) {
      const file = typeof entry === 'string' ? entry : entry.path;
      if (!existsSync(path.join(root, `${file}.example`)))
        problems.push(`${name}: env file ${file} has no committed ${file}.example`);
    }
  }
  return problems;
}

describe('docker-compose.yml', () => {
  const compose = parseCompose(composeText);

  it('conforms to the Compose specification schema', () => {
    assert.deepEqual(validateAgainstSpec(compose), []);
  });

  it('when a service has a misspelt key or a wrong type, then the schema refuses the file', () => {
    const misspelt = parseCompose(composeText);
    (misspelt.services.api as Record<string, unknown>).helthcheck = { test: ['CMD', 'true'] };
    assert.ok(validateAgainstSpec(misspelt).some((line) => line.startsWith('/services/api')));
    const wrongType = parseCompose(composeText);
    (wrongType.services.postgres as Record<string, unknown>).ports = 5432;
    assert.ok(validateAgainstSpec(wrongType).some((line) => line.startsWith('/services/postgres/ports')));
  });

  it('passes our own rules: dependencies exist, images pinned, no literal secrets, env files have examples', () => {
    assert.deepEqual(composeProblems(compose), []);
  });

  it('when a dependency is missing, an image unpinned or a secret literal, then our rules name each', () => {
    const broken = parseCompose(composeText);
    broken.services.api!.depends_on = { migrate: { condition: 'service_completed_successfully' }, redis: {} };
    broken.services.postgres!.image = 'postgres';
    broken.services['temporal-ui']!.image = 'temporalio/ui:latest';
    broken.services['worker-1']!.environment = {
      PIXELSHIFT_JWT_SECRET: 'hunter2-hunter2-hunter2-hunter2-hunter2',
    };
    broken.services.keys!.environment = { DATABASE_URL: 'postgres://u:pw@postgres/db' };
    broken.services.migrate!.depends_on = { 'temporal-schema': { condition: 'service_healthy' } };
    assert.deepEqual(composeProblems(broken).sort(), [
      'api: depends on redis, which is not a service',
      'keys: DATABASE_URL carries a password in a URL; put it in an env file',
      'migrate: waits for temporal-schema to be healthy, which has no healthcheck',
      'postgres: image postgres is not pinned to a tag or digest',
      'temporal-ui: image temporalio/ui:latest is :latest',
      // worker-2 is worker-1 (a YAML alias): one mapping, named twice.
      'worker-1: PIXELSHIFT_JWT_SECRET has a literal value; put it in an env file',
      'worker-2: PIXELSHIFT_JWT_SECRET has a literal value; put it in an env file',
    ]);
  });

  it('mounts only files that exist, and its shell scripts parse', () => {
    const mounts = Object.values(compose.services).flatMap((service) =>
      ((service as { volumes?: (string | { source?: string })[] }).volumes ?? [])
        .map((volume) => (typeof volume === 'string' ? volume.split(':')[0]! : (volume.source ?? '')))
        .filter((source) => source.startsWith('./')),
    );
    assert.ok(mounts.length >= 4, mounts.join(', '));
    for (const source of mounts) {
      assert.ok(existsSync(path.join(root, source)), source);
      if (source.endsWith('.sh')) execFileSync('sh', ['-n', path.join(root, source)]);
    }
  });

  it('runs Temporal on its current images: server 1.29 or later (fairness), admin-tools for the schema, the UI', () => {
    const images = Object.values(compose.services).map((service) => service.image ?? '');
    assert.ok(!images.some((image) => image.startsWith('temporalio/auto-setup')), 'no auto-setup image');
    assert.ok(!images.some((image) => image.startsWith('minio/')), 'no MinIO image (no longer published)');
    const server = /^temporalio\/server:1\.(\d+)\.\d+$/.exec(compose.services.temporal!.image!);
    assert.ok(server && Number(server[1]) >= 29, `temporal server ${compose.services.temporal!.image}`);
    assert.match(compose.services['temporal-schema']!.image!, /^temporalio\/admin-tools:/);
    assert.match(compose.services['temporal-ui']!.image!, /^temporalio\/ui:/);
    assert.deepEqual(dependencies(compose.services.temporal!), {
      'temporal-schema': 'service_completed_successfully',
    });
  });

  it('gives each worker longer to stop than its drain time, and runs two of them', () => {
    const workers = Object.entries(compose.services).filter(([, service]) =>
      JSON.stringify(service).includes('"worker"'),
    );
    assert.deepEqual(workers.map(([name]) => name).sort(), ['worker-1', 'worker-2']);
    for (const [name, service] of workers) {
      const drain = parseDuration(environmentOf(service).PIXELSHIFT_WORKER_DRAIN ?? '30s')!;
      const grace = parseDuration(service.stop_grace_period ?? '10s')!;
      assert.ok(
        grace > drain,
        `${name}: stop_grace_period ${service.stop_grace_period} is not above the drain`,
      );
    }
  });

  it('keeps the real env files out of git, and their examples hold placeholders only', () => {
    const envFiles = new Set(
      Object.values(compose.services).flatMap((service) =>
        (service.env_file ?? []).map((entry) => (typeof entry === 'string' ? entry : entry.path)),
      ),
    );
    assert.ok(envFiles.size >= 4, [...envFiles].join(', '));
    for (const file of envFiles) {
      // git check-ignore exits 0 when the path is ignored.
      execFileSync('git', ['check-ignore', '--quiet', '--no-index', file], { cwd: root });
      const example = readFileSync(path.join(root, `${file}.example`), 'utf8');
      for (const line of example.split('\n')) {
        const match = /^([A-Z0-9_]+)=(.*)$/.exec(line);
        if (!match || !/PASSWORD|PWD|SECRET|TOKEN|KEY/.test(match[1]!) || /ACCESS_KEY(_ID)?$/.test(match[1]!))
          continue;
        assert.match(match[2]!, /^(change-me[\w-]*)?$/, `${file}.example: ${match[1]} is not a placeholder`);
      }
      assert.doesNotMatch(
        example,
        /:\/\/[^:/\s]+:(?!change-me)[^@\s]+@/,
        `${file}.example: a password in a URL`,
      );
    }
  });

  it('mounts a PIXELSHIFT_CONFIG that the config parser accepts, without credentials, granting the buckets it creates', () => {
    const file = path.join(root, 'deploy/pixelshift.json');
    const config = loadConfig({ PIXELSHIFT_CONFIG: file });
    const text = readFileSync(file, 'utf8');
    assert.doesNotMatch(text, /secretAccessKey|"token"/);
    const granted = Object.values(config.storage.grants)
      .flat()
      .flatMap((grant) => grant.buckets)
      .sort();
    const created = environmentOf(compose.services['s3-buckets']!).S3_BUCKETS!.split(',').sort();
    assert.deepEqual(created, granted);
  });
});
