/**
 * Graph and batch validation (docs/architecture.md §3). Pure: no I/O, no exceptions for bad input.
 * Every problem is reported, each once, with a JSON pointer into the submitted document.
 *
 * Order of checks, each guarding the next:
 *  1. size pre-walk over the raw JSON (depth, unit count) so hostile nesting never reaches zod's recursion;
 *  2. shape with zod (types, ranges, unknown fields, unknown unit types), worded by zod-issues.ts;
 *  3. meaning: chain rules, sink count, per-format options, cross-field rules.
 */
import { isPlainObject } from '../plain-object.js';
import { ok, refused, type Result } from '../result.js';
import { batchInputSchema, transformGraphSchema, type BatchInput, type TransformGraph } from './graph.js';
import { issue, issueWords, plural, pointer, type ValidationIssue } from './issues.js';
import { DEFAULT_CONNECTION, effortRange, formatOptions, limits, type TransformUnit } from './units.js';
import { translateZodIssues } from './zod-issues.js';

/** A validated value, or every issue found (never only the first). */
export type ValidationResult<T> = Result<T, ValidationIssue[]>;

export interface ValidationOptions {
  /** Largest width×height any unit may ask for; defaults to limits.defaultMaxInputPixels. */
  maxPixels?: number;
}

export function validateGraph(
  input: unknown,
  options: ValidationOptions = {},
): ValidationResult<TransformGraph> {
  const issues = checkGraph(input, [], options);
  return issues.length ? refused(issues) : ok(input as TransformGraph);
}

export function validateBatch(input: unknown, options: ValidationOptions = {}): ValidationResult<BatchInput> {
  if (!isPlainObject(input)) {
    return refused([issue('', 'invalid_type', 'an object with a graphs array', 'the batch', input)]);
  }
  const issues: ValidationIssue[] = [];
  const { graphs, ...rest } = input;
  // Check everything except the graphs with the batch schema, then each graph on its own so that one
  // malformed graph does not hide the problems of the others.
  const shell = batchInputSchema.safeParse(
    { ...rest, graphs: [{ transformUnits: [] }] },
    { reportInput: true },
  );
  if (!shell.success) issues.push(...translateZodIssues(shell.error.issues, [], 'the batch'));
  if (!Array.isArray(graphs)) {
    issues.push(
      issue(
        '/graphs',
        graphs === undefined ? 'missing_field' : 'invalid_type',
        'an array of graphs',
        'graphs',
        graphs,
      ),
    );
  } else if (graphs.length === 0) {
    issues.push(issue('/graphs', 'out_of_range', 'at least 1 graph', 'graphs', graphs));
  } else if (graphs.length > limits.maxGraphsPerBatch) {
    issues.push(
      issue('/graphs', 'too_many_graphs', `at most ${limits.maxGraphsPerBatch} graphs`, 'graphs', graphs),
    );
  } else {
    graphs.forEach((graph, index) => issues.push(...checkGraph(graph, ['graphs', index], options)));
  }
  return issues.length ? refused(issues) : ok(input as BatchInput);
}

/** Parses JSON text, turning a syntax error into an issue instead of an exception. */
export function parseJson(text: string): ValidationResult<unknown> {
  try {
    return ok(JSON.parse(text) as unknown);
  } catch (error) {
    return refused([
      {
        path: '',
        code: 'invalid_json',
        message: `Expected valid JSON for the body but received text that fails to parse: ${(error as Error).message}`,
      },
    ]);
  }
}

function checkGraph(
  input: unknown,
  base: (string | number)[],
  options: ValidationOptions,
): ValidationIssue[] {
  const sizeIssues = checkSize(input, base);
  if (sizeIssues.length) return sizeIssues;
  const parsed = transformGraphSchema.safeParse(input, { reportInput: true });
  if (!parsed.success) return translateZodIssues(parsed.error.issues, base);
  return checkMeaning(parsed.data, base, options);
}

// ------------------------------------------------------------------ 1. size

/** Depth and unit count of a raw graph (or graph template), before any recursive parsing touches it. */
export function checkSize(input: unknown, base: (string | number)[]): ValidationIssue[] {
  let units = 0;
  const stack: { node: unknown; path: (string | number)[]; depth: number }[] = [
    { node: input, path: base, depth: 1 },
  ];
  while (stack.length) {
    const { node, path, depth } = stack.pop()!;
    if (!isPlainObject(node)) continue; // shape errors are zod's job
    if (depth > limits.maxDepth) {
      return [
        issue(
          pointer(path),
          'too_deep',
          `outputs nested at most ${limits.maxDepth} levels deep`,
          'outputs',
          `level ${depth}`,
        ),
      ].map((i) => ({
        ...i,
        message: `Expected outputs nested at most ${limits.maxDepth} levels deep for outputs but received level ${depth} or deeper`,
      }));
    }
    const own = Object.hasOwn(node, 'transformUnits') ? node.transformUnits : undefined;
    if (Array.isArray(own)) units += own.length;
    if (units > limits.maxUnitsPerGraph) {
      return [
        {
          path: pointer(base),
          code: 'too_many_units',
          message: `Expected at most ${limits.maxUnitsPerGraph} units for the graph but received more than ${limits.maxUnitsPerGraph}`,
        },
      ];
    }
    const outputs = Object.hasOwn(node, 'outputs') ? node.outputs : undefined;
    if (Array.isArray(outputs)) {
      units += outputs.length; // an empty output node still costs a walk; count it
      outputs.forEach((child, index) =>
        stack.push({ node: child, path: [...path, 'outputs', index], depth: depth + 1 }),
      );
    }
  }
  return [];
}

// ------------------------------------------------------------------ 3. meaning

interface NodeContext {
  path: (string | number)[];
  isRoot: boolean;
  operationsBefore: number;
}

function checkMeaning(
  graph: TransformGraph,
  base: (string | number)[],
  options: ValidationOptions,
): ValidationIssue[] {
  const out: ValidationIssue[] = [];
  const maxPixels = options.maxPixels ?? limits.defaultMaxInputPixels;
  const sinkTargets = new Set<string>();
  let sinkCount = 0;

  const visit = (node: TransformGraph, context: NodeContext) => {
    const units = node.transformUnits;
    const outputs = node.outputs ?? [];
    const at = (index: number) => pointer([...context.path, 'transformUnits', index]);
    let operations = context.operationsBefore;
    let state: 'operations' | 'formatted' | 'sunk' = 'operations';

    if (context.isRoot && units[0]?.type !== 'StorageSource') {
      out.push(
        issueWords(
          at(0),
          'missing_source',
          'a StorageSource',
          'the first unit of the graph',
          units[0] ? units[0].type : 'nothing',
        ),
      );
    }
    for (const [index, unit] of units.entries()) {
      out.push(...checkUnit(unit, at(index), maxPixels));
      if (unit.type === 'StorageSource') {
        if (!(context.isRoot && index === 0)) {
          out.push(
            issueWords(
              at(index),
              'misplaced_source',
              'a StorageSource only as the first unit of the graph',
              `unit ${index}`,
              'a StorageSource',
            ),
          );
        }
        continue;
      }
      if (state === 'sunk') {
        out.push(
          issueWords(
            at(index),
            'misplaced_sink',
            'nothing after the StorageSink',
            `unit ${index}`,
            unit.type,
          ),
        );
        continue;
      }
      if (state === 'formatted' && unit.type !== 'StorageSink') {
        out.push(
          issueWords(
            at(index),
            'missing_sink',
            'a StorageSink right after the ImageFormat',
            `unit ${index}`,
            unit.type,
          ),
        );
        state = 'sunk'; // report the broken end once
        continue;
      }
      if (unit.type === 'ImageFormat') {
        if (operations === 0) {
          out.push(
            issueWords(
              at(index),
              'missing_operation',
              'at least one operation before the ImageFormat',
              'the chain',
              'none',
            ),
          );
        }
        state = 'formatted';
      } else if (unit.type === 'StorageSink') {
        if (state !== 'formatted') {
          out.push(
            issueWords(
              at(index),
              'missing_format',
              'an ImageFormat right before the StorageSink',
              `unit ${index}`,
              index ? units[index - 1]!.type : 'nothing',
            ),
          );
          state = 'sunk';
          continue;
        }
        state = 'sunk';
        sinkCount += 1;
        if (sinkCount > limits.maxSinksPerGraph) {
          out.push(
            issueWords(
              at(index),
              'too_many_sinks',
              `at most ${limits.maxSinksPerGraph} StorageSinks`,
              'the graph',
              `sink number ${sinkCount}`,
            ),
          );
        }
        const target = `${unit.storage ?? DEFAULT_CONNECTION}\u0000${unit.bucket}\u0000${unit.key}`;
        if (sinkTargets.has(target)) {
          out.push(
            issue(
              at(index),
              'duplicate_sink',
              'a bucket and key no other sink of this graph writes',
              'key',
              unit.key,
            ),
          );
        }
        sinkTargets.add(target);
      } else {
        operations += 1;
      }
    }

    if (state === 'formatted') {
      out.push(
        issueWords(
          at(units.length),
          'missing_sink',
          'a StorageSink right after the ImageFormat',
          `unit ${units.length}`,
          'nothing',
        ),
      );
    }
    if (state !== 'operations' && outputs.length) {
      out.push(
        issueWords(
          pointer([...context.path, 'outputs']),
          'misplaced_format',
          'no outputs after an ImageFormat and StorageSink',
          'outputs',
          plural(outputs.length, 'output'),
        ),
      );
      return;
    }
    if (state === 'operations') {
      if (outputs.length === 0) {
        out.push(
          issueWords(
            at(units.length),
            'missing_format',
            'an ImageFormat and a StorageSink at the end of the chain',
            `unit ${units.length}`,
            'nothing',
          ),
        );
      }
      outputs.forEach((child, index) =>
        visit(child, {
          path: [...context.path, 'outputs', index],
          isRoot: false,
          operationsBefore: operations,
        }),
      );
    }
  };

  visit(graph, { path: base, isRoot: true, operationsBefore: 0 });
  return out;
}

/** Cross-field rules that zod's per-field schemas cannot express. */
function checkUnit(unit: TransformUnit, at: string, maxPixels: number): ValidationIssue[] {
  const out: ValidationIssue[] = [];
  switch (unit.type) {
    case 'Resize':
      if (unit.width === undefined && unit.height === undefined) {
        out.push(issue(`${at}/width`, 'missing_field', 'a width or a height', 'Resize', undefined));
      } else if ((unit.width ?? 1) * (unit.height ?? 1) > maxPixels) {
        out.push(
          issueWords(
            at,
            'too_many_pixels',
            `at most ${maxPixels} pixels`,
            'Resize',
            `${unit.width}×${unit.height}`,
          ),
        );
      }
      break;
    case 'AutoCrop':
      if (unit.mode === 'smart') {
        for (const side of ['width', 'height'] as const) {
          if (unit[side] === undefined)
            out.push(issue(`${at}/${side}`, 'missing_field', `a ${side} for mode "smart"`, side, undefined));
        }
      } else {
        for (const side of ['width', 'height'] as const) {
          if (unit[side] !== undefined)
            out.push(issue(`${at}/${side}`, 'invalid_value', 'no size with mode "trim"', side, unit[side]));
        }
      }
      break;
    case 'Crop':
      if ((unit.unit ?? 'px') === 'fraction') {
        for (const [name, value] of Object.entries({
          left: unit.left,
          top: unit.top,
          width: unit.width,
          height: unit.height,
        })) {
          if (value > 1)
            out.push(issue(`${at}/${name}`, 'out_of_range', 'a fraction between 0 and 1', name, value));
        }
        // Sums of two fields: the one rule of a Crop that the document cannot state.
        if (unit.left + unit.width > 1)
          out.push(
            issue(`${at}/width`, 'crop_outside_image', 'left + width of at most 1', 'width', unit.width),
          );
        if (unit.top + unit.height > 1)
          out.push(
            issue(`${at}/height`, 'crop_outside_image', 'top + height of at most 1', 'height', unit.height),
          );
      } else {
        for (const [name, value] of Object.entries({
          left: unit.left,
          top: unit.top,
          width: unit.width,
          height: unit.height,
        })) {
          if (!Number.isInteger(value))
            out.push(issue(`${at}/${name}`, 'invalid_type', 'an integer number of pixels', name, value));
        }
      }
      break;
    case 'Normalize':
      if (unit.lower !== undefined && unit.upper !== undefined && unit.lower >= unit.upper) {
        out.push(
          issue(
            `${at}/upper`,
            'inverted_percentiles',
            `a percentile above lower (${unit.lower})`,
            'upper',
            unit.upper,
          ),
        );
      }
      break;
    case 'ImageFormat': {
      const allowed = formatOptions[unit.format];
      for (const [key, value] of Object.entries(unit)) {
        if (key === 'type' || key === 'format' || key === 'metadata' || value === undefined) continue;
        if (!allowed.includes(key)) {
          out.push(
            issue(
              `${at}/${key}`,
              'option_not_for_format',
              `an option that applies to ${unit.format}`,
              key,
              value,
            ),
          );
        }
      }
      if (unit.maxBytes !== undefined && unit.lossless === true) {
        out.push(
          issueWords(
            `${at}/maxBytes`,
            'option_not_for_format',
            'an option that applies to lossy output',
            'maxBytes',
            'a byte budget with lossless: true',
          ),
        );
      }
      const range = effortRange[unit.format];
      if (range && unit.effort !== undefined && (unit.effort < range[0] || unit.effort > range[1])) {
        out.push(
          issue(
            `${at}/effort`,
            'out_of_range',
            `an effort between ${range[0]} and ${range[1]} (${unit.format})`,
            'effort',
            unit.effort,
          ),
        );
      }
      break;
    }
    default:
      break;
  }
  return out;
}
