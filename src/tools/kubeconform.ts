/**
 * kubeconform and the Kubernetes JSON schemas it checks deploy/kubernetes/ against, offline
 * (test/deploy/kubernetes.test.ts, docs/deploying.md). Both are pinned and installed into .tools/ once:
 * - kubeconform by `go install` from the Go module proxy (module and build caches in .tools/ as well);
 * - the schemas from the `kubernetes-validate` wheel, which ships them for every Kubernetes minor version
 *   (in `<version>-local-strict/`, each referring to a shared `_definitions.json` by an absolute URI).
 *   kubeconform reads schemas from files but resolves that URI on the network, so each version's folder
 *   is copied with the references made relative to the file (`_definitions.json#/…`) and the `$id`s
 *   dropped: a file then resolves against its own path, and nothing is fetched.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { ensurePipTarget, installOnce, toolsRoot } from './python-tools.js';

const run = promisify(execFile);

export const KUBECONFORM_MODULE = 'github.com/yannh/kubeconform/cmd/kubeconform@v0.8.0';
export const KUBERNETES_VALIDATE_REQUIREMENT = 'kubernetes-validate==1.37.0';
/**
 * The Kubernetes versions the manifests are checked against: the oldest minor version they are meant for
 * (the API's `preStop.sleep` arrived in 1.30) and the newest the pinned schemas know.
 */
export const KUBERNETES_VERSIONS = ['1.30.0', '1.37.0'] as const;

const kubeconformFolder = path.join(toolsRoot, 'kubeconform-0.8.0');
const schemasFolder = path.join(toolsRoot, 'kubernetes-schemas-1.37.0');

/** The kubeconform executable, built once. */
export async function ensureKubeconform(): Promise<string> {
  const executable = path.join(kubeconformFolder, 'kubeconform');
  await installOnce(kubeconformFolder, KUBECONFORM_MODULE, async (scratch) => {
    try {
      await run('go', ['install', KUBECONFORM_MODULE], {
        env: {
          ...process.env,
          GOBIN: scratch,
          GOMODCACHE: path.join(toolsRoot, 'go-modules'),
          GOCACHE: path.join(toolsRoot, 'go-build-cache'),
          // Module files stay deletable (the Go default makes them read-only).
          GOFLAGS: '-modcacherw',
        },
        maxBuffer: 16 * 1024 * 1024,
      });
    } catch (error) {
      throw new Error(`go install ${KUBECONFORM_MODULE}: ${(error as Error).message}`, { cause: error });
    }
  });
  return executable;
}

/**
 * A folder laid out as kubeconform's `-schema-location` template below expects, holding the strict
 * schemas of every version in KUBERNETES_VERSIONS.
 */
export async function ensureKubernetesSchemas(): Promise<string> {
  const wheel = await ensurePipTarget('kubernetes-validate-1.37.0', [KUBERNETES_VALIDATE_REQUIREMENT], {
    noDeps: true,
  });
  const source = path.join(wheel, 'kubernetes_validate', 'kubernetes-json-schema');
  await installOnce(schemasFolder, KUBERNETES_VERSIONS.join('\n'), async (scratch) => {
    for (const version of KUBERNETES_VERSIONS) {
      const from = path.join(source, `v${version}-local-strict`);
      if (!existsSync(from))
        throw new Error(`${KUBERNETES_VALIDATE_REQUIREMENT} has no schemas for ${version}`);
      const to = path.join(scratch, `v${version}-standalone-strict`);
      await mkdir(to, { recursive: true });
      for (const name of await readdir(from)) {
        if (!name.endsWith('.json')) continue;
        const schema = JSON.parse(await readFile(path.join(from, name), 'utf8')) as Record<string, unknown>;
        delete schema.$id;
        const text = JSON.stringify(schema).replaceAll('"/api/_definitions.json#/', '"_definitions.json#/');
        await writeFile(path.join(to, name), text);
      }
    }
  });
  return schemasFolder;
}

/** kubeconform's `-schema-location` for the folder ensureKubernetesSchemas returns. */
export function kubernetesSchemaLocation(folder: string): string {
  return path.join(
    folder,
    '{{.NormalizedKubernetesVersion}}-standalone{{.StrictSuffix}}',
    '{{.ResourceKind}}{{.KindSuffix}}.json',
  );
}

export interface KubeconformResource {
  filename: string;
  kind: string;
  name: string;
  version: string;
  status: 'statusValid' | 'statusInvalid' | 'statusError' | 'statusSkipped' | 'statusEmpty';
  msg?: string;
}

export interface KubeconformReport {
  exitCode: number;
  resources: KubeconformResource[];
  summary: { valid: number; invalid: number; errors: number; skipped: number };
}

/**
 * Checks manifest files with kubeconform in strict mode (unknown fields and duplicate keys are errors;
 * a kind without a schema is an error, never skipped), against one Kubernetes version, offline.
 */
export async function runKubeconform(
  files: readonly string[],
  kubernetesVersion: string,
): Promise<KubeconformReport> {
  const [executable, schemas] = await Promise.all([ensureKubeconform(), ensureKubernetesSchemas()]);
  const args = [
    '-strict',
    '-summary',
    '-output',
    'json',
    '-kubernetes-version',
    kubernetesVersion,
    '-schema-location',
    kubernetesSchemaLocation(schemas),
    ...files,
  ];
  let stdout: string;
  let exitCode = 0;
  try {
    ({ stdout } = await run(executable, args, { maxBuffer: 16 * 1024 * 1024 }));
  } catch (error) {
    const failure = error as { code?: unknown; stdout?: string; message: string };
    if (typeof failure.code !== 'number' || !failure.stdout) throw error;
    exitCode = failure.code;
    stdout = failure.stdout;
  }
  const report = JSON.parse(stdout) as Omit<KubeconformReport, 'exitCode'>;
  return { exitCode, resources: report.resources ?? [], summary: report.summary };
}
