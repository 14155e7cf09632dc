/**
 * Every response an HTTP test receives through supertest is checked against the OpenAPI document of the
 * app that answered it: a documented operation must answer a documented status, in a documented media
 * type, with a JSON body that matches the documented schema. A mismatch fails the request's assertion,
 * so documentation drift fails the test that saw it.
 *
 * Loaded by the API harness (test/support/api-harness.ts); an HTTP test that builds its app another way
 * imports this module itself (test/api/response-contract.test.ts checks that every one does). The e2e
 * stack (test/support/stack.ts) checks the answers of its fetch-based `api()` with `contractViolation`.
 */
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import type { Express } from 'express';
import type { Response } from 'supertest';
import { Test } from 'supertest';

interface DocumentedOperation {
  path: string;
  pattern: RegExp;
  method: string;
  responses: Record<string, { content?: Record<string, unknown> } | undefined>;
}

interface Contract {
  operations: DocumentedOperation[];
  validator(pointer: string): ValidateFunction;
}

const contracts = new WeakMap<object, Contract>();

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** `/v1/batches/{batchId}` → a pattern over raw (still percent-encoded) request paths. */
function pathPattern(path: string): RegExp {
  const parts = path.split(/\{[^}]+\}/).map(escapeRegExp);
  return new RegExp(`^${parts.join('[^/]+')}$`);
}

function contractOf(document: Record<string, unknown>): Contract {
  const cached = contracts.get(document);
  if (cached) return cached;
  const ajv = new Ajv2020({ strict: false, allErrors: true, validateFormats: false });
  ajv.addSchema(document, 'openapi');
  const validators = new Map<string, ValidateFunction>();
  const operations: DocumentedOperation[] = [];
  const paths = document.paths as Record<
    string,
    Record<string, { responses?: DocumentedOperation['responses'] }>
  >;
  for (const [path, item] of Object.entries(paths)) {
    for (const [method, operation] of Object.entries(item)) {
      operations.push({ path, pattern: pathPattern(path), method, responses: operation.responses ?? {} });
    }
  }
  // Literal paths win over templated ones (`/v1/webhooks/callback-secret` before `/v1/webhooks/{id}`).
  operations.sort((a, b) => a.path.split('{').length - b.path.split('{').length);
  const contract: Contract = {
    operations,
    validator(pointer) {
      let validate = validators.get(pointer);
      if (!validate) {
        validate = ajv.getSchema(`openapi#${pointer}`);
        if (!validate) throw new Error(`no schema at ${pointer}`);
        validators.set(pointer, validate);
      }
      return validate;
    },
  };
  contracts.set(document, contract);
  return contract;
}

const pointerSegment = (segment: string) => segment.replace(/~/g, '~0').replace(/\//g, '~1');

/** What is wrong with a response, or undefined when it keeps to the document. */
export function contractViolation(
  document: Record<string, unknown>,
  method: string,
  url: string,
  res: Pick<Response, 'status' | 'headers' | 'body' | 'text'>,
): string | undefined {
  const contract = contractOf(document);
  const requestPath = new URL(url, 'http://test').pathname;
  const operation = contract.operations.find(
    (op) => op.method === method.toLowerCase() && op.pattern.test(requestPath),
  );
  // Unknown paths (404), wrong methods (405) and HEAD are not operations of the document.
  if (!operation) return undefined;
  const where = `${method.toUpperCase()} ${operation.path} answered ${res.status}`;
  const documented = operation.responses[String(res.status)];
  if (!documented) return `${where}, a status the document does not list for it`;
  const contentType = String(res.headers['content-type'] ?? '')
    .split(';')[0]!
    .trim();
  const mediaTypes = Object.keys(documented.content ?? {});
  if (mediaTypes.length === 0) {
    return res.text ? `${where} with a body, where the document says none` : undefined;
  }
  if (!mediaTypes.includes(contentType)) {
    return `${where} in ${contentType || 'no media type'}, where the document says ${mediaTypes.join(' or ')}`;
  }
  const pointer = `/${[
    'paths',
    operation.path,
    method.toLowerCase(),
    'responses',
    String(res.status),
    'content',
    contentType,
    'schema',
  ]
    .map(pointerSegment)
    .join('/')}`;
  if (contentType === 'text/event-stream') return eventStreamViolation(contract, pointer, where, res.text);
  if (contentType !== 'application/json') return undefined;
  const validate = contract.validator(pointer);
  return validate(res.body)
    ? undefined
    : `${where} with a body the document does not allow: ${problems(validate)}`;
}

function problems(validate: ValidateFunction): string {
  return (validate.errors ?? [])
    .slice(0, 5)
    .map((error) => `${error.instancePath || '/'} ${error.message ?? ''}`)
    .join('; ');
}

/** The whole events of a Server-Sent Events text (a block cut off by the end of the text is left out). */
export function parseEventStream(text: string): { event: string; id: string; data: string }[] {
  const blocks = text.split('\n\n').slice(0, -1);
  return blocks.flatMap((block) => {
    const fields = { event: 'message', id: '', data: [] as string[] };
    for (const line of block.split('\n')) {
      if (line === '' || line.startsWith(':')) continue;
      const colon = line.indexOf(':');
      const name = colon === -1 ? line : line.slice(0, colon);
      const value = colon === -1 ? '' : line.slice(colon + 1).replace(/^ /, '');
      if (name === 'data') fields.data.push(value);
      else if (name === 'event' || name === 'id') fields[name] = value;
    }
    return fields.data.length === 0
      ? []
      : [{ event: fields.event, id: fields.id, data: fields.data.join('\n') }];
  });
}

/**
 * A stream is documented as the objects a Server-Sent Events parser yields (src/api/event-stream.ts):
 * each event is checked against that schema, and its JSON `data` against the event's `contentSchema`,
 * which JSON Schema only annotates and so is checked here by hand.
 */
function eventStreamViolation(
  contract: Contract,
  pointer: string,
  where: string,
  text: string | undefined,
): string | undefined {
  const validateEvent = contract.validator(pointer);
  const schema = validateEvent.schema as { oneOf?: unknown[] };
  const variants = (schema.oneOf ?? [schema]) as {
    properties: { event: { enum: string[] }; data: { contentSchema: { $ref: string } } };
  }[];
  for (const event of parseEventStream(text ?? '')) {
    if (!validateEvent(event)) {
      return `${where} with the event ${JSON.stringify(event).slice(0, 200)}, which the document does not allow: ${problems(validateEvent)}`;
    }
    const variant = variants.find((v) => v.properties.event.enum.includes(event.event))!;
    const validateData = contract.validator(variant.properties.data.contentSchema.$ref.replace(/^#/, ''));
    let data: unknown;
    try {
      data = JSON.parse(event.data);
    } catch {
      return `${where} with the ${event.event} event ${event.id}, whose data is not JSON`;
    }
    if (!validateData(data)) {
      return `${where} with the ${event.event} event ${event.id}, whose data the document does not allow: ${problems(validateData)}`;
    }
  }
  return undefined;
}

interface SupertestInternals {
  app?: unknown;
  method: string;
  url: string;
  assert(resError: Error | null, res: Response, fn: (error: Error | null, res: Response) => void): void;
}

const proto = Test.prototype as unknown as SupertestInternals & { __contractChecked?: boolean };
if (!proto.__contractChecked) {
  proto.__contractChecked = true;
  // eslint-disable-next-line @typescript-eslint/unbound-method -- called below with the Test as `this`
  const assert = proto.assert;
  proto.assert = function (this: SupertestInternals, resError, res, fn) {
    const app = this.app as Partial<Express> | undefined;
    const document = app?.locals?.openApiDocument as Record<string, unknown> | undefined;
    if (!resError && res && document) {
      const violation = contractViolation(document, this.method, this.url, res);
      if (violation) {
        fn.call(this, new Error(`The response breaks the OpenAPI document: ${violation}`), res);
        return;
      }
    }
    assert.call(this, resError, res, fn);
  };
}
