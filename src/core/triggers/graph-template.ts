/**
 * Graph templates (docs/architecture.md §10): the graph a rule or an inbound hook runs, written without its source.
 * When an object triggers it, the object becomes the source and each sink key is filled from the source
 * key's parts. Pure: no I/O.
 *
 * Placeholders in sink `key` and `bucket`, for the source `photos/2024/cat.final.jpg` in bucket `in`:
 *   {key}    photos/2024/cat.final.jpg
 *   {dir}    photos/2024        (empty at the bucket root; `{dir}/` then disappears whole)
 *   {name}   cat.final
 *   {ext}    .jpg               (with its dot; empty when the name has none)
 *   {bucket} in
 */
import type { TransformGraph } from '../graph/graph.js';
import type { ValidationIssue } from '../graph/issues.js';
import { DEFAULT_CONNECTION, type StorageSink, type TransformUnit } from '../graph/units.js';
import { validateGraph, type ValidationOptions, type ValidationResult } from '../graph/validate.js';
import { ok, refused } from '../result.js';

export const templatePlaceholders = ['key', 'dir', 'name', 'ext', 'bucket'] as const;
export type TemplatePlaceholder = (typeof templatePlaceholders)[number];

/** The object a template runs on. */
export interface TemplateSource {
  connection: string;
  bucket: string;
  key: string;
  versionId?: string;
}

const placeholderPattern = /\{([^{}]*)\}/g;

/** The parts of a source key the placeholders stand for. */
export function placeholderValues(
  source: Pick<TemplateSource, 'bucket' | 'key'>,
): Record<TemplatePlaceholder, string> {
  const slash = source.key.lastIndexOf('/');
  const dir = slash >= 0 ? source.key.slice(0, slash) : '';
  const file = slash >= 0 ? source.key.slice(slash + 1) : source.key;
  const dot = file.lastIndexOf('.');
  // A leading dot (".env") names a file, it is not an extension.
  const name = dot > 0 ? file.slice(0, dot) : file;
  const ext = dot > 0 ? file.slice(dot) : '';
  return { key: source.key, dir, name, ext, bucket: source.bucket };
}

/** Fills the placeholders of one template string. Unknown placeholders are left as they are. */
export function fillTemplate(template: string, values: Record<TemplatePlaceholder, string>): string {
  const text = values.dir === '' ? template.replaceAll('{dir}/', '') : template;
  return text.replace(placeholderPattern, (whole, name: string) =>
    (templatePlaceholders as readonly string[]).includes(name) ? values[name as TemplatePlaceholder] : whole,
  );
}

/** Every `{…}` in a template string that is not a known placeholder. */
export function unknownPlaceholders(template: string): string[] {
  return [...template.matchAll(placeholderPattern)]
    .map((match) => match[1]!)
    .filter((name) => !(templatePlaceholders as readonly string[]).includes(name));
}

/**
 * The graph for one source object: the source unit goes first, sink keys and buckets are filled, and
 * sinks that name no connection write to the source's connection (not to `default`), so a rule on a
 * bucket writes next to it.
 */
export function expandGraphTemplate(template: TransformGraph, source: TemplateSource): TransformGraph {
  const values = placeholderValues(source);
  const fillSink = (sink: StorageSink): StorageSink => ({
    ...sink,
    storage: sink.storage ?? source.connection,
    bucket: fillTemplate(sink.bucket, values),
    key: fillTemplate(sink.key, values),
  });
  const fillUnits = (units: readonly TransformUnit[]): TransformUnit[] =>
    units.map((unit) => (unit.type === 'StorageSink' ? fillSink(unit) : unit));
  const fillGraph = (graph: TransformGraph): TransformGraph => ({
    transformUnits: fillUnits(graph.transformUnits),
    ...(graph.outputs ? { outputs: graph.outputs.map(fillGraph) } : {}),
  });
  const filled = fillGraph(template);
  return {
    ...filled,
    transformUnits: [
      {
        type: 'StorageSource',
        storage: source.connection,
        bucket: source.bucket,
        key: source.key,
        ...(source.versionId ? { versionId: source.versionId } : {}),
      },
      ...filled.transformUnits,
    ],
  };
}

/** A source that makes every placeholder non-empty, for validating a template. */
const sampleSource: TemplateSource = {
  connection: DEFAULT_CONNECTION,
  bucket: 'sample-bucket',
  key: 'sample-dir/sample-name.jpg',
};

/**
 * Validates a template with the graph validator: it is filled for a sample source (so keys that become
 * invalid once filled are caught), and issue paths point back into the template as written (the root's
 * units shifted by the source that is not there).
 */
export function validateGraphTemplate(
  input: unknown,
  options: ValidationOptions = {},
): ValidationResult<TransformGraph> {
  const first = (input as { transformUnits?: unknown[] } | null)?.transformUnits?.[0] as
    { type?: unknown } | undefined;
  if (first?.type === 'StorageSource') {
    return refused([
      {
        path: '/transformUnits/0',
        code: 'template_has_source',
        message:
          'Expected a template that starts with an operation for transformUnits/0 but received a StorageSource; the triggering object is the source',
      },
    ]);
  }
  const shape = validateGraph(withSampleSource(input), options);
  if (!shape.ok) return refused(shape.error.map(unshiftRootUnitPath));
  const template = input as TransformGraph;
  const issues: ValidationIssue[] = [];
  walkSinks(template, '', (sink, path) => {
    for (const field of ['bucket', 'key'] as const) {
      for (const name of unknownPlaceholders(sink[field])) {
        issues.push({
          path: `${path}/${field}`,
          code: 'unknown_placeholder',
          message: `Expected only {${templatePlaceholders.join('}, {')}} in ${field} but received {${name}}`,
        });
      }
    }
  });
  return issues.length ? refused(issues) : ok(template);
}

/** Calls `visit` for each sink of a template with its JSON pointer. */
export function walkSinks(
  graph: TransformGraph,
  base: string,
  visit: (sink: StorageSink, path: string) => void,
): void {
  graph.transformUnits.forEach((unit, index) => {
    if (unit.type === 'StorageSink') visit(unit, `${base}/transformUnits/${index}`);
  });
  graph.outputs?.forEach((child, index) => walkSinks(child, `${base}/outputs/${index}`, visit));
}

function withSampleSource(input: unknown): unknown {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) return input;
  const graph = input as Record<string, unknown>;
  if (!Array.isArray(graph.transformUnits)) return input;
  const placeholderSafe = (units: unknown[]): unknown[] =>
    units.map((unit) => {
      if (typeof unit !== 'object' || unit === null || (unit as { type?: unknown }).type !== 'StorageSink')
        return unit;
      const sink = unit as Record<string, unknown>;
      const fill = (value: unknown) =>
        typeof value === 'string' ? fillTemplate(value, placeholderValues(sampleSource)) : value;
      return { ...sink, bucket: fill(sink.bucket), key: fill(sink.key) };
    });
  const fillOutputs = (node: unknown): unknown => {
    if (typeof node !== 'object' || node === null || Array.isArray(node)) return node;
    const record = node as Record<string, unknown>;
    return {
      ...record,
      ...(Array.isArray(record.transformUnits)
        ? { transformUnits: placeholderSafe(record.transformUnits) }
        : {}),
      ...(Array.isArray(record.outputs) ? { outputs: record.outputs.map(fillOutputs) } : {}),
    };
  };
  const filled = fillOutputs(graph) as Record<string, unknown>;
  const units = filled.transformUnits as unknown[];
  return {
    ...filled,
    transformUnits: [{ type: 'StorageSource', bucket: sampleSource.bucket, key: sampleSource.key }, ...units],
  };
}

/** `/transformUnits/3/…` of the expanded root is `/transformUnits/2/…` of the template. */
function unshiftRootUnitPath(issue: ValidationIssue): ValidationIssue {
  const match = /^\/transformUnits\/(\d+)(.*)$/.exec(issue.path);
  if (!match) return issue;
  const index = Number(match[1]);
  return index === 0 ? issue : { ...issue, path: `/transformUnits/${index - 1}${match[2]}` };
}
