/**
 * What the OpenAPI document allows a client to send, judged by the document itself (ajv over the
 * generated JSON Schema). Tests use it to show that the document is exactly as strict as the server: a
 * request the document allows passes validation, one it forbids is refused.
 */
import { Ajv2020 } from 'ajv/dist/2020.js';

const compiled = new WeakMap<object, Ajv2020>();

const pointerSegment = (segment: string) => segment.replace(/~/g, '~0').replace(/\//g, '~1');

/** True when the document's request body schema of the operation allows `body`. */
export function documentAllowsBody(
  document: object,
  method: string,
  path: string,
  body: unknown,
  mediaType = 'application/json',
): boolean {
  let ajv = compiled.get(document);
  if (!ajv) {
    ajv = new Ajv2020({ strict: false, allErrors: true, validateFormats: false });
    ajv.addSchema(document, 'openapi');
    compiled.set(document, ajv);
  }
  const pointer = ['paths', path, method, 'requestBody', 'content', mediaType, 'schema']
    .map(pointerSegment)
    .join('/');
  const validate = ajv.getSchema(`openapi#/${pointer}`);
  if (!validate) throw new Error(`the document has no request body at ${pointer}`);
  return validate(body) === true;
}
