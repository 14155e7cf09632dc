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
const keptAsExtension = ['propertyNames', 'contentMediaType', 'contentEncoding'] as const;

/** The members of an OpenAPI object whose values are maps of schemas or schema-bearing objects. */
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
    if (key === 'schemas' && isPlainObject(value)) out[key] = mapValues(value, convertSchema);
    else if (key === 'schema') out[key] = convertSchema(value);
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
