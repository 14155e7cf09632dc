/**
 * The Dockerfile against what the deployment files ask of it: Node 20, production dependencies only (so
 * everything a process loads must be a runtime dependency), and every command docker-compose.yml and
 * deploy/kubernetes/ run being a command of `pixelshift` (src/app/cli.ts).
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { parse, parseAllDocuments } from 'yaml';

const root = path.resolve(import.meta.dirname, '../..');
const dockerfile = readFileSync(path.join(root, 'Dockerfile'), 'utf8');
// The commands are dispatched in cli.ts (main.ts starts tracing, then loads it).
const mainSource = readFileSync(path.join(root, 'src/app/cli.ts'), 'utf8');
const cliCommands = new Set([...mainSource.matchAll(/^\s*case '([a-z-]+)':/gm)].map((match) => match[1]!));

/** Every first argument the deployment files hand to the image's `pixelshift` entrypoint. */
function commandsRun(): { where: string; command: string }[] {
  const found: { where: string; command: string }[] = [];
  const compose = parse(readFileSync(path.join(root, 'docker-compose.yml'), 'utf8'), { merge: true }) as {
    services: Record<string, { image?: string; command?: string[]; entrypoint?: string[] | string }>;
  };
  for (const [name, service] of Object.entries(compose.services)) {
    if (service.image !== 'pixelshift:local') continue;
    if (service.entrypoint) {
      // A shell line or a script of its own: the pixelshift commands in it are `src/app/main.ts <command>`.
      const text = ([] as string[]).concat(service.entrypoint).join(' ');
      for (const match of text.matchAll(/src\/app\/main\.ts (\w+)/g))
        found.push({ where: `compose ${name}`, command: match[1]! });
    } else {
      found.push({ where: `compose ${name}`, command: service.command?.[0] ?? 'api' });
    }
  }
  const kustomization = parse(
    readFileSync(path.join(root, 'deploy/kubernetes/kustomization.yaml'), 'utf8'),
  ) as {
    resources: string[];
  };
  for (const file of kustomization.resources) {
    const text = readFileSync(path.join(root, 'deploy/kubernetes', file), 'utf8');
    for (const document of parseAllDocuments(text)) {
      const manifest = document.toJS() as {
        metadata: { name: string };
        spec?: { template?: { spec?: Record<string, { name: string; image: string; args?: string[] }[]> } };
      };
      const pod = manifest.spec?.template?.spec;
      for (const container of [...(pod?.initContainers ?? []), ...(pod?.containers ?? [])]) {
        if (container.image === 'pixelshift')
          found.push({ where: `${file} ${container.name}`, command: container.args?.[0] ?? 'api' });
      }
    }
  }
  return found;
}

describe('Dockerfile', () => {
  it('builds on Node 20 with production dependencies only, and runs the CLI', () => {
    assert.match(dockerfile, /^FROM node:20\.\d+-bookworm-slim$/m);
    assert.match(dockerfile, /^RUN npm ci --omit=dev\b/m);
    assert.match(dockerfile, /^ENTRYPOINT \["node", "--import", "tsx", "src\/app\/main\.ts"\]$/m);
    assert.match(dockerfile, /^USER node$/m);
    for (const match of dockerfile.matchAll(/^COPY (.+) \S+$/gm)) {
      for (const source of match[1]!.split(' ')) assert.ok(existsSync(path.join(root, source)), source);
    }
  });

  it('needs no devDependency at run time: tsx, sharp, the Temporal worker and the dashboard build are dependencies', () => {
    const manifest = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as {
      dependencies: Record<string, string>;
    };
    for (const name of ['tsx', 'sharp', '@temporalio/worker', 'pg', 'vite', 'react', 'react-dom'])
      assert.ok(manifest.dependencies[name], `${name} is a runtime dependency`);
  });

  it('every command the compose file and the Kubernetes manifests run is a pixelshift command', () => {
    const runs = commandsRun();
    assert.deepEqual([...new Set(runs.map((r) => r.command))].sort(), [
      'api',
      'keys',
      'migrate',
      'setup',
      'worker',
    ]);
    for (const { where, command } of runs) assert.ok(cliCommands.has(command), `${where}: ${command}`);
  });
});
