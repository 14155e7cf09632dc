/**
 * The OpenAPI 3.0.3 rendering of the 3.1 document, for tools that read only 3.0 (AutoRest, NSwag, older
 * generators). It is derived from the served 3.1 document, never written by hand, so both always describe
 * the same routes. 3.1 forms are rewritten into their 3.0 equivalents; the few JSON Schema keywords that
 * 3.0 has no form for are kept as `x-` extensions, so nothing is silently lost (docs/clients.md).
 */
import { isPlainObject } from '../core/plain-object.js';
import type { OpenApiDocument } from './openapi-builder.js';

export type OpenApi30Document = Record<string, unknown> & { openapi: '3.0.3' };

/** JSON Schema keywords of 3.1 that a 3.0 Schema Object does not allow, kept under `x-<keyword>`. */
const keptAsExtension = ['propertyNames', 'contentMediaType', 'contentEncoding', 'contentSchema'] as const;

/** Keywords of a schema whose value is one schema, or a list of schemas. */
const schemaKeys = new Set(['schema', 'items', 'not', 'additionalProperties']);
const schemaListKeys = new Set(['allOf', 'anyOf', 'oneOf']);

export function toOpenApi30(document: OpenApiDocument): OpenApi30Document {
  const { webhooks, ...rest } = structuredClone(document) as unknown as Record<string, unknown>;
  const converted = convertNode(rest) as Record<string, unknown>;
  // 3.0 has no top-level webhooks; the x-webhooks extension (a map of path items) keeps them readable.
  if (webhooks !== undefined) converted['x-webhooks'] = convertNode(webhooks);
  return { ...converted, openapi: '3.0.3' };
}

/** Walks the document; every schema found (by where it stands) is converted on the way. */
function convertNode(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(convertNode);
  if (!isPlainObject(node)) return node;
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(node)) {
    if (key === 'schemas' && isPlainObject(value)) {
      out[key] = Object.fromEntries(
        Object.entries(value).map(([name, schema]) => [
          name,
          convertSchema(distributeConstraintBranches(name, schema)),
        ]),
      );
    } else if (key === 'schema') out[key] = convertSchema(value);
    else out[key] = convertNode(value);
  }
  return out;
}

function mapValues(
  record: Record<string, unknown>,
  convert: (value: unknown) => unknown,
): Record<string, unknown> {
  return Object.fromEntries(Object.entries(record).map(([key, value]) => [key, convert(value)]));
}

/** One JSON Schema (2020-12 dialect, as 3.1 writes it) as a 3.0 Schema Object. */
export function convertSchema(schema: unknown): unknown {
  if (!isPlainObject(schema)) return schema;
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(schema)) {
    if (key === 'properties' && isPlainObject(value)) out[key] = mapValues(value, convertSchema);
    else if (schemaKeys.has(key)) out[key] = convertSchema(value);
    else if (schemaListKeys.has(key) && Array.isArray(value)) out[key] = value.map(convertSchema);
    else out[key] = value;
  }

  // `type: [T, "null"]` → `type: T` + `nullable: true`.
  if (Array.isArray(out.type)) {
    const types = (out.type as unknown[]).filter((type) => type !== 'null');
    if (types.length !== out.type.length) out.nullable = true;
    if (types.length === 1) out.type = types[0];
    else if (types.length === 0) delete out.type;
    else {
      // Several non-null types: 3.0 spells a union only with oneOf.
      delete out.type;
      out.oneOf = types.map((type) => ({ type }));
    }
  }
  // `const: v` → a single-value enum (with the type it implies, which 3.0 generators need for a name).
  if ('const' in out) {
    const value = out.const;
    delete out.const;
    out.enum = [value];
    if (out.type === undefined && value !== null) out.type = jsonTypeOf(value);
  }
  // Numeric exclusive bounds → the bound plus the boolean flag.
  for (const [exclusive, bound] of [
    ['exclusiveMinimum', 'minimum'],
    ['exclusiveMaximum', 'maximum'],
  ] as const) {
    if (typeof out[exclusive] === 'number') {
      out[bound] = out[exclusive];
      out[exclusive] = true;
    }
  }
  // A list of examples → the first as the single example.
  if (Array.isArray(out.examples)) {
    if (out.examples.length > 0 && out.example === undefined) out.example = out.examples[0];
    delete out.examples;
  }
  for (const keyword of keptAsExtension) {
    if (keyword in out) {
      out[`x-${keyword}`] = out[keyword];
      delete out[keyword];
    }
  }
  return out;
}

function jsonTypeOf(value: unknown): string {
  if (Array.isArray(value)) return 'array';
  if (typeof value === 'number') return Number.isInteger(value) ? 'integer' : 'number';
  return typeof value;
}

/**
 * An object schema with an `anyOf` of constraint fragments (per-format options of ImageFormat, the units
 * of Crop, the modes of AutoCrop, Resize's width-or-height) as an `anyOf` of complete objects, one per fragment, each titled.
 * `base ∧ (b1 ∨ b2)` is `(base ∧ b1) ∨ (base ∧ b2)`: the same values are valid, but OpenAPI Generator
 * (and openapi-python-client) model the fragment form as objects holding only the fragment's fields,
 * which drops `type`, `quality` and the rest; even fragments that only add `required` (Resize) make
 * OpenAPI Generator's Go model lose its JSON field names (docs/clients.md).
 */
export function distributeConstraintBranches(name: string, schema: unknown): unknown {
  if (!isPlainObject(schema) || schema.type !== 'object' || !isPlainObject(schema.properties)) return schema;
  const branches = schema.anyOf;
  if (!Array.isArray(branches) || !branches.every(isConstraintFragment)) return schema;
  const { anyOf: _fragments, description, example, ...base } = schema;
  const baseProperties = schema.properties;
  const baseRequired = Array.isArray(base.required) ? (base.required as string[]) : [];
  return {
    ...(description !== undefined ? { description } : {}),
    ...(example !== undefined ? { example } : {}),
    anyOf: branches.map((branch) => {
      const properties: Record<string, unknown> = { ...baseProperties };
      const narrowed = isPlainObject(branch.properties) ? branch.properties : {};
      for (const [property, constraint] of Object.entries(narrowed)) {
        properties[property] = intersectProperty(properties[property], constraint);
      }
      const allowed = isPlainObject(branch.propertyNames) ? branch.propertyNames.enum : undefined;
      if (Array.isArray(allowed)) {
        for (const property of Object.keys(properties))
          if (!allowed.includes(property)) delete properties[property];
      }
      const required = [...new Set([...baseRequired, ...((branch.required as string[] | undefined) ?? [])])];
      return {
        ...base,
        title: branchTitle(
          name,
          narrowed,
          required.filter((field) => !baseRequired.includes(field)),
        ),
        properties,
        required: required.filter((field) => field in properties),
        ...(Array.isArray(allowed) ? { additionalProperties: false } : {}),
      };
    }),
  };
}

const fragmentKeys = new Set(['properties', 'propertyNames', 'required']);
function isConstraintFragment(branch: unknown): branch is Record<string, unknown> {
  return isPlainObject(branch) && Object.keys(branch).every((key) => fragmentKeys.has(key));
}

/** A property schema narrowed by a fragment's constraint on it (both must hold). */
function intersectProperty(base: unknown, constraint: unknown): unknown {
  const out: Record<string, unknown> = isPlainObject(base) ? { ...base } : {};
  if (!isPlainObject(constraint)) return out;
  for (const [key, value] of Object.entries(constraint)) {
    if (key === 'const' || key === 'enum') {
      const values = key === 'const' ? [value] : (value as unknown[]);
      const current = Array.isArray(out.enum) ? out.enum : undefined;
      out.enum = current ? values.filter((item) => current.includes(item)) : values;
      delete out.const;
      // A default the narrowed enum excludes would be a default this branch refuses.
      if ('default' in out && !(out.enum as unknown[]).includes(out.default)) delete out.default;
    } else if (key === 'minimum' && typeof out.minimum === 'number') {
      out.minimum = Math.max(out.minimum, value as number);
    } else if (key === 'maximum' && typeof out.maximum === 'number') {
      out.maximum = Math.min(out.maximum, value as number);
    } else {
      out[key] = value;
    }
  }
  return out;
}

/** E.g. ImageFormatWebp, ImageFormatWebpFalseWithMaxBytes, CropPx: from the values a fragment fixes. */
function branchTitle(name: string, narrowed: Record<string, unknown>, added: readonly string[]): string {
  const pascal = (text: string) =>
    text.replace(/(^|[^A-Za-z0-9])([A-Za-z0-9])/g, (_m, _s, c: string) => c.toUpperCase());
  const fixed = Object.values(narrowed).flatMap((constraint) => {
    if (!isPlainObject(constraint)) return [];
    if ('const' in constraint) return [String(constraint.const)];
    if (Array.isArray(constraint.enum) && constraint.enum.length === 1) return [String(constraint.enum[0])];
    return [];
  });
  const suffix = added.length ? `With${added.map(pascal).join('')}` : '';
  return `${name}${fixed.map(pascal).join('')}${suffix}`;
}
