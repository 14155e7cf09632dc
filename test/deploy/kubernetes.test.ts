/**
 * deploy/kubernetes/, checked offline: kubeconform in strict mode against the Kubernetes JSON schemas of the
 * oldest and newest versions it is meant for (src/tools/kubeconform.ts installs both into .tools/), plus our
 * own rules: the kustomization lists every manifest, probes on /readyz and /healthz, workers outlive their
 * drain, requests on every container, non-root and read-only, selectors and targets that match.
 */
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { parse, parseAllDocuments, stringify } from 'yaml';
import { loadConfig, parseDuration } from '../../src/core/config.js';
import { KUBERNETES_VERSIONS, runKubeconform } from '../../src/tools/kubeconform.js';

const folder = path.resolve(import.meta.dirname, '../../deploy/kubernetes');

/** A loosely typed manifest: the schemas check the shapes, these tests read a few fields. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Manifest = { apiVersion: string; kind: string; metadata: { name: string }; [key: string]: any };

interface Kustomization {
  resources: string[];
  secretGenerator?: { name: string; envs?: string[] }[];
}

async function readManifests(file: string): Promise<Manifest[]> {
  return parseAllDocuments(await readFile(file, 'utf8')).map((document) => document.toJS() as Manifest);
}

describe('deploy/kubernetes', () => {
  let kustomization: Kustomization;
  let files: string[];
  let manifests: Manifest[];
  const byKind = (kind: string, name: string): Manifest => {
    const found = manifests.find((m) => m.kind === kind && m.metadata.name === name);
    assert.ok(found, `${kind}/${name}`);
    return found;
  };

  before(async () => {
    kustomization = parse(await readFile(path.join(folder, 'kustomization.yaml'), 'utf8')) as Kustomization;
    files = kustomization.resources.map((name) => path.join(folder, name));
    manifests = (await Promise.all(files.map(readManifests))).flat();
  });

  it('the kustomization lists every manifest in the folder, and only those', async () => {
    const yamlFiles = (await readdir(folder)).filter(
      (name) => name.endsWith('.yaml') && name !== 'kustomization.yaml',
    );
    assert.deepEqual([...kustomization.resources].sort(), yamlFiles.sort());
  });

  for (const version of KUBERNETES_VERSIONS) {
    it(`every manifest is valid for Kubernetes ${version} (kubeconform, strict)`, async () => {
      const report = await runKubeconform(files, version);
      assert.deepEqual(
        report.resources.filter((r) => r.status !== 'statusValid'),
        [],
        'kubeconform found problems',
      );
      assert.equal(report.exitCode, 0);
      assert.deepEqual(report.summary, { valid: manifests.length, invalid: 0, errors: 0, skipped: 0 });
    });
  }

  describe('when a manifest is broken', () => {
    let scratch: string;
    before(async () => {
      scratch = await mkdtemp(path.join(os.tmpdir(), 'pixelshift-k8s-'));
    });
    after(async () => {
      await rm(scratch, { recursive: true, force: true });
    });

    it('then kubeconform refuses an unknown field, a wrong type and a missing required field', async () => {
      const worker = await readManifests(path.join(folder, 'worker.yaml'));
      const unknownField = structuredClone(worker);
      unknownField[0]!.spec.template.spec.containers[0].imagePullPolcy = 'Always';
      const wrongType = structuredClone(worker);
      wrongType[0]!.spec.replicas = 'two';
      const missing = structuredClone(worker);
      delete missing[0]!.spec.selector;
      const cases = { unknownField, wrongType, missing };
      for (const [name, documents] of Object.entries(cases)) {
        const file = path.join(scratch, `${name}.yaml`);
        await writeFile(file, documents.map((d) => stringify(d)).join('---\n'));
        const report = await runKubeconform([file], KUBERNETES_VERSIONS.at(-1)!);
        assert.notEqual(report.exitCode, 0, name);
        assert.equal(report.summary.invalid, 1, name);
        const [refused] = report.resources;
        assert.equal(refused?.status, 'statusInvalid', name);
        assert.equal(refused?.name, 'pixelshift-worker', name);
      }
    });

    it('then a kind no schema knows is an error, not skipped', async () => {
      const file = path.join(scratch, 'unknown-kind.yaml');
      await writeFile(file, stringify({ apiVersion: 'apps/v1', kind: 'Deploymnt', metadata: { name: 'x' } }));
      const report = await runKubeconform([file], KUBERNETES_VERSIONS.at(-1)!);
      assert.notEqual(report.exitCode, 0);
      assert.equal(report.summary.errors, 1);
    });
  });

  it('probes the API: ready on /readyz, alive on /healthz', () => {
    const [api] = byKind('Deployment', 'pixelshift-api').spec.template.spec.containers;
    assert.equal(api.readinessProbe.httpGet.path, '/readyz');
    assert.equal(api.livenessProbe.httpGet.path, '/healthz');
  });

  it('gives a worker longer to stop than PIXELSHIFT_WORKER_DRAIN, and as many imaging slots as requested cores', () => {
    const env = byKind('ConfigMap', 'pixelshift-env').data as Record<string, string>;
    const drainMs = parseDuration(env.PIXELSHIFT_WORKER_DRAIN!)!;
    const pod = byKind('Deployment', 'pixelshift-worker').spec.template.spec;
    assert.ok(pod.terminationGracePeriodSeconds * 1000 >= drainMs + 10_000, 'at least 10 s above the drain');
    const [worker] = pod.containers;
    const slots = worker.env.find((e: { name: string }) => e.name === 'PIXELSHIFT_IMAGING_SLOTS').value;
    assert.equal(Number(slots), Number(worker.resources.requests.cpu));
  });

  it('runs every container non-root on a read-only root, without privilege escalation, with requests and a memory limit', () => {
    const pods = manifests
      .filter((m) => m.kind === 'Deployment' || m.kind === 'Job')
      .map((m) => [m.metadata.name, m.spec.template.spec] as const);
    assert.equal(pods.length, 3);
    for (const [name, pod] of pods) {
      assert.equal(pod.securityContext.runAsNonRoot, true, name);
      // The image's user is named (node); the kubelet can only verify non-root with a numeric id.
      assert.ok(pod.securityContext.runAsUser > 0, name);
      assert.equal(pod.automountServiceAccountToken, false, name);
      for (const container of [...(pod.initContainers ?? []), ...pod.containers]) {
        const label = `${name}/${container.name}`;
        assert.equal(container.securityContext.readOnlyRootFilesystem, true, label);
        assert.equal(container.securityContext.allowPrivilegeEscalation, false, label);
        assert.deepEqual(container.securityContext.capabilities.drop, ['ALL'], label);
        assert.ok(container.resources.requests.cpu && container.resources.requests.memory, label);
        assert.ok(container.resources.limits.memory, label);
        assert.ok(
          container.volumeMounts.some((mount: { mountPath: string }) => mount.mountPath === '/tmp'),
          `${label}: a writable /tmp`,
        );
        assert.equal(container.image, 'pixelshift', `${label}: the image kustomize's images: pins`);
      }
    }
  });

  it('points every Service, PodDisruptionBudget and HorizontalPodAutoscaler at something that exists', () => {
    const deployments = manifests.filter((m) => m.kind === 'Deployment');
    const labelsOf = (d: Manifest) => d.spec.template.metadata.labels as Record<string, string>;
    const matches = (selector: Record<string, string>) =>
      deployments.filter((d) => Object.entries(selector).every(([k, v]) => labelsOf(d)[k] === v));
    for (const m of manifests) {
      if (m.kind === 'Service')
        assert.equal(matches(m.spec.selector).length, 1, `Service/${m.metadata.name}`);
      if (m.kind === 'PodDisruptionBudget')
        assert.equal(matches(m.spec.selector.matchLabels).length, 1, `PDB/${m.metadata.name}`);
      if (m.kind === 'HorizontalPodAutoscaler') {
        const target = m.spec.scaleTargetRef;
        assert.ok(
          deployments.some((d) => d.metadata.name === target.name),
          `HPA/${m.metadata.name}`,
        );
      }
    }
    for (const d of deployments)
      assert.deepEqual(d.spec.selector.matchLabels, labelsOf(d), `Deployment/${d.metadata.name}`);
    const hpa = byKind('HorizontalPodAutoscaler', 'pixelshift-worker');
    assert.ok(hpa.spec.minReplicas >= 2);
  });

  it('holds no Secret with values: secrets come from the git-ignored secrets.env through the generator', async () => {
    assert.ok(!manifests.some((m) => m.kind === 'Secret'));
    assert.deepEqual(kustomization.secretGenerator, [{ name: 'pixelshift-secrets', envs: ['secrets.env'] }]);
    const example = await readFile(path.join(folder, 'secrets.env.example'), 'utf8');
    for (const line of example.split('\n')) {
      const match = /^([A-Z0-9_]+)=(.*)$/.exec(line);
      if (match) assert.match(match[2]!, /^(postgres:\/\/[^:]+:change-me@.*|change-me[\w-]*)?$/, match[1]);
    }
  });

  it('ships a PIXELSHIFT_CONFIG file the config parser accepts, mounted where PIXELSHIFT_CONFIG points', async () => {
    const env = byKind('ConfigMap', 'pixelshift-env').data as Record<string, string>;
    const config = byKind('ConfigMap', 'pixelshift-config').data as Record<string, string>;
    assert.equal(path.dirname(env.PIXELSHIFT_CONFIG!), '/etc/pixelshift');
    const scratch = await mkdtemp(path.join(os.tmpdir(), 'pixelshift-k8s-config-'));
    try {
      const file = path.join(scratch, path.basename(env.PIXELSHIFT_CONFIG!));
      await writeFile(file, config[path.basename(env.PIXELSHIFT_CONFIG!)]!);
      const loaded = loadConfig({ ...env, PIXELSHIFT_CONFIG: file });
      assert.equal(loaded.temporal.address, env.TEMPORAL_ADDRESS);
      assert.equal(loaded.worker.drainMs, parseDuration(env.PIXELSHIFT_WORKER_DRAIN!));
    } finally {
      await rm(scratch, { recursive: true, force: true });
    }
  });
});
