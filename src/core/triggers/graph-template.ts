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
import { z } from 'zod';
import type { TransformGraph } from '../graph/graph.js';
import type { ValidationIssue } from '../graph/issues.js';
import {
  DEFAULT_CONNECTION,
  imageFormatSchema,
  limits,
  operationSchemas,
  storageSinkSchema,
  type StorageSink,
  type TransformUnit,
} from '../graph/units.js';
import {
  checkSize,
  validateGraph,
  type ValidationOptions,
  type ValidationResult,
} from '../graph/validate.js';
import { translateZodIssues } from '../graph/zod-issues.js';
import { isPlainObject } from '../plain-object.js';
import { ok, refused } from '../result.js';

export const templatePlaceholders = ['key', 'dir', 'name', 'ext', 'bucket'] as const;
export type TemplatePlaceholder = (typeof templatePlaceholders)[number];

/**
 * A sink bucket in a template: a bucket name in which `{bucket}` may stand for (part of) the source's
 * bucket. The key's placeholders would make the bucket differ per object, so that neither grants nor a
 * rule's loop check could be decided when the template is saved.
 */
const templateBucketPattern =
  /^(?:[a-z0-9]|\{bucket\})(?:(?:[a-z0-9.-]|\{bucket\})*(?:[a-z0-9]|\{bucket\}))?$/;
/** A sink key in a template: braces only as known placeholders, and no control characters. */
const templateKeyPattern = new RegExp(
  `^(?:[^{}\\u0000-\\u001f\\u007f]|\\{(?:${templatePlaceholders.join('|')})\\})*$`,
);

const templateSinkSchema = storageSinkSchema
  .extend({
    bucket: z
      .string()
      .min(1)
      .max(limits.maxBucketLength)
      .regex(templateBucketPattern)
      .describe('A bucket name; `{bucket}` stands for the bucket of the triggering object.'),
    key: z
      .string()
      .min(1)
      .max(limits.maxKeyLength)
      .regex(templateKeyPattern)
      .describe(`The key; braces only as the placeholders {${templatePlaceholders.join('} {')}}.`),
  })
  .meta({ id: 'TemplateSink' });

const templateUnitSchema = z
  .discriminatedUnion('type', [...operationSchemas, imageFormatSchema, templateSinkSchema])
  .meta({ id: 'TemplateUnit' });

/**
 * The graph a rule or an inbound hook runs, as a schema: a Transform Graph without a StorageSource (the
 * triggering object becomes it) whose sinks may use placeholders. validateGraphTemplate checks a template
 * with it, then every rule of the graph contract on the template filled for a sample object.
 */
export const graphTemplateSchema: z.ZodType<TransformGraph> = z
  .lazy(() =>
    z.strictObject({
      transformUnits: z.array(templateUnitSchema),
      outputs: z.array(graphTemplateSchema).optional(),
    }),
  )
  .meta({
    id: 'GraphTemplate',
    description:
      'A Transform Graph without its StorageSource: the triggering object becomes the source. Sink `key` may use the placeholders {key} {dir} {name} {ext} {bucket}, sink `bucket` only {bucket}; sinks without `storage` write to the source’s connection. Beyond this schema the graph validator checks the template filled for a sample object: the order of units (operations, then an ImageFormat and a StorageSink), the sinks per graph and per-format options and limits.',
  });

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

/**
 * A source that makes every placeholder non-empty, for validating a template. No value is longer than its
 * placeholder ({bucket} is 8 characters, {key} 5), so a template within the schema's lengths stays within
 * them once filled, and the contract's rules are judged on the template as written.
 */
const sampleSource: TemplateSource = {
  connection: DEFAULT_CONNECTION,
  bucket: 'template',
  key: 'd/n.e',
};

/**
 * Validates a template: its size, then its shape with graphTemplateSchema (the placeholders it may use
 * named by their own codes), then every rule of the graph validator on the template filled for a sample
 * source. Issue paths point into the template as written (the root's units shifted by the source that is
 * not there).
 */
export function validateGraphTemplate(
  input: unknown,
  options: ValidationOptions = {},
): ValidationResult<TransformGraph> {
  const sizeIssues = checkSize(input, []);
  if (sizeIssues.length) return refused(sizeIssues);
  const unitIssues = checkTemplateUnits(input);
  const shape = graphTemplateSchema.safeParse(input, { reportInput: true });
  if (unitIssues.length || !shape.success) {
    // Each of these is also a shape mismatch to zod; it is reported once, by its own code.
    const named = unitIssues.map((issue) => issue.path);
    const isNamed = (path: string) => named.some((at) => path === at || path.startsWith(`${at}/`));
    const shapeIssues = shape.success ? [] : translateZodIssues(shape.error.issues, []);
    return refused([...unitIssues, ...shapeIssues.filter((issue) => !isNamed(issue.path))]);
  }
  const meaning = validateGraph(withSampleSource(input), options);
  if (!meaning.ok) return refused(meaning.error.map(unshiftRootUnitPath));
  return ok(shape.data);
}

/**
 * What a template may not hold beyond its schema's types, each by its own code: a StorageSource (the
 * triggering object is the source), unknown placeholders and stray braces, key placeholders in a bucket.
 */
function checkTemplateUnits(input: unknown): ValidationIssue[] {
  const issues: ValidationIssue[] = [];
  walkRawUnits(input, '', (unit, path) => {
    if (unit.type === 'StorageSource') {
      issues.push({
        path,
        code: 'template_has_source',
        message: `Expected an operation, an ImageFormat or a StorageSink for ${path.slice(1)} but received a StorageSource; the triggering object is the source`,
      });
    }
    if (unit.type === 'StorageSink') checkSinkPlaceholders(unit, path, issues);
  });
  return issues;
}

function checkSinkPlaceholders(sink: Record<string, unknown>, path: string, issues: ValidationIssue[]): void {
  for (const field of ['bucket', 'key'] as const) {
    const value = sink[field];
    if (typeof value !== 'string') continue;
    const unknown = unknownPlaceholders(value).map((name) => `{${name}}`);
    const stray = /[{}]/.test(value.replace(placeholderPattern, '')) ? ['a brace outside a placeholder'] : [];
    for (const received of [...unknown, ...stray]) {
      issues.push({
        path: `${path}/${field}`,
        code: 'unknown_placeholder',
        message: `Expected only {${templatePlaceholders.join('}, {')}} in ${field} but received ${received}`,
      });
    }
    if (field === 'bucket' && !unknown.length && /\{(?:key|dir|name|ext)\}/.test(value)) {
      issues.push({
        path: `${path}/bucket`,
        code: 'invalid_value',
        message: `Expected a bucket name or {bucket} for bucket but received ${JSON.stringify(value.slice(0, 64))}; only keys may use {key}, {dir}, {name} and {ext}`,
      });
    }
  }
}

/** Calls `visit` for each unit of a template not yet parsed (its size already checked). */
function walkRawUnits(
  node: unknown,
  base: string,
  visit: (unit: Record<string, unknown>, path: string) => void,
): void {
  if (!isPlainObject(node)) return;
  if (Array.isArray(node.transformUnits)) {
    node.transformUnits.forEach((unit, index) => {
      if (isPlainObject(unit)) visit(unit, `${base}/transformUnits/${index}`);
    });
  }
  if (Array.isArray(node.outputs)) {
    node.outputs.forEach((child, index) => walkRawUnits(child, `${base}/outputs/${index}`, visit));
  }
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
