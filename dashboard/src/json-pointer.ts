/**
 * JSON pointers (RFC 6901) for the template editor: parsing them, finding where in the edited JSON text a
 * pointer's value starts (so an issue is shown at its line), and mapping the pointers of a dry run of the
 * template (validated as a graph with a sample source unit prepended) back into the template.
 * Pure: no DOM, so node's test runner checks them.
 */

/** The reference tokens of a pointer: `/a/0/b~1c` → ['a', '0', 'b/c']; `''` → []. */
export function parsePointer(pointer: string): string[] {
  if (pointer === '') return [];
  if (!pointer.startsWith('/')) throw new Error(`Not a JSON pointer: ${pointer}`);
  return pointer
    .slice(1)
    .split('/')
    .map((token) => token.replace(/~1/g, '/').replace(/~0/g, '~'));
}

/** The pointer of the tokens (the inverse of parsePointer). */
export function formatPointer(tokens: readonly string[]): string {
  return tokens.map((token) => `/${token.replace(/~/g, '~0').replace(/\//g, '~1')}`).join('');
}

/**
 * Where a template's units sit in the graph that validates it: the dry run validates
 * `{ transformUnits: [source, ...template.transformUnits], outputs: template.outputs }`, so the top-level
 * unit indexes are one higher there (nested outputs are not shifted). Answers the template's pointer,
 * or undefined when the issue is about the sample source unit itself.
 */
export function graphPointerToTemplate(pointer: string): string | undefined {
  const tokens = parsePointer(pointer);
  if (tokens[0] === 'transformUnits' && tokens.length >= 2) {
    const index = Number(tokens[1]);
    if (!Number.isInteger(index)) return pointer;
    if (index === 0) return undefined;
    return formatPointer(['transformUnits', String(index - 1), ...tokens.slice(2)]);
  }
  return pointer;
}

/** A pointer of a rule or hook request body (`/template/…`) as a pointer into the template, or undefined. */
export function requestPointerToTemplate(pointer: string): string | undefined {
  const tokens = parsePointer(pointer);
  if (tokens[0] !== 'template') return undefined;
  return formatPointer(tokens.slice(1));
}

/** The placeholders a template's sink keys and buckets may use, replaced with sample values for the dry run. */
export function fillPlaceholders(text: string, bucket: string): string {
  return text
    .replace(/\{bucket\}/g, bucket)
    .replace(/\{key\}/g, 'uploads/sample.jpg')
    .replace(/\{dir\}/g, 'uploads')
    .replace(/\{name\}/g, 'sample')
    .replace(/\{ext\}/g, 'jpg');
}

/** A graph that the dry run can check for a template: a sample source first, placeholders filled in. */
export function graphOfTemplate(template: unknown, bucket: string): unknown {
  const filled = fillInStrings(template, (text) => fillPlaceholders(text, bucket));
  if (typeof filled !== 'object' || filled === null || Array.isArray(filled)) return filled;
  const record = filled as Record<string, unknown>;
  const units: unknown[] = Array.isArray(record.transformUnits) ? (record.transformUnits as unknown[]) : [];
  return {
    ...record,
    transformUnits: [{ type: 'StorageSource', bucket, key: 'uploads/sample.jpg' }, ...units],
  };
}

function fillInStrings(value: unknown, fill: (text: string) => string): unknown {
  if (typeof value === 'string') return fill(value);
  if (Array.isArray(value)) return value.map((item) => fillInStrings(item, fill));
  if (typeof value === 'object' && value !== null)
    return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, fillInStrings(item, fill)]));
  return value;
}

/** A place in the text: 1-based line and column, and the offset. */
export interface TextPosition {
  offset: number;
  line: number;
  column: number;
}

/**
 * Where the value a pointer names begins in JSON text (its key's position for object members), or the
 * nearest existing ancestor's when the pointer names something missing (an issue about a missing field is
 * shown at its object). Undefined when the text is not JSON.
 */
export function locatePointer(text: string, pointer: string): TextPosition | undefined {
  const tokens = parsePointer(pointer);
  let position = 0;
  const at = (offset: number): TextPosition => positionOf(text, offset);
  const skipSpace = () => {
    while (position < text.length && /\s/.test(text[position]!)) position++;
  };
  // Skips one JSON value starting at `position`; throws on malformed text.
  const skipValue = (): void => {
    skipSpace();
    const char = text[position];
    if (char === '"') {
      readString();
      return;
    }
    if (char === '{' || char === '[') {
      const close = char === '{' ? '}' : ']';
      position++;
      skipSpace();
      if (text[position] === close) {
        position++;
        return;
      }
      for (;;) {
        if (char === '{') {
          skipSpace();
          readString();
          skipSpace();
          if (text[position] !== ':') throw new Error('expected :');
          position++;
        }
        skipValue();
        skipSpace();
        if (text[position] === ',') {
          position++;
          continue;
        }
        if (text[position] === close) {
          position++;
          return;
        }
        throw new Error('expected , or close');
      }
    }
    const literal = /^(?:true|false|null|-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)/.exec(text.slice(position));
    if (!literal) throw new Error('unexpected token');
    position += literal[0].length;
  };
  const readString = (): string => {
    if (text[position] !== '"') throw new Error('expected string');
    const start = position;
    position++;
    while (position < text.length && text[position] !== '"') position += text[position] === '\\' ? 2 : 1;
    position++;
    return JSON.parse(text.slice(start, position)) as string;
  };
  try {
    JSON.parse(text);
    skipSpace();
    let found = at(position);
    for (const token of tokens) {
      skipSpace();
      const char = text[position];
      if (char === '{') {
        position++;
        let matched = false;
        skipSpace();
        while (text[position] !== '}') {
          skipSpace();
          const keyStart = position;
          const key = readString();
          skipSpace();
          position++; // the colon
          skipSpace();
          if (key === token) {
            found = at(keyStart);
            matched = true;
            break;
          }
          skipValue();
          skipSpace();
          if (text[position] === ',') position++;
          skipSpace();
        }
        if (!matched) return found;
      } else if (char === '[') {
        const index = Number(token);
        position++;
        let i = 0;
        skipSpace();
        let matched = false;
        while (text[position] !== ']') {
          skipSpace();
          if (i === index) {
            found = at(position);
            matched = true;
            break;
          }
          skipValue();
          skipSpace();
          if (text[position] === ',') position++;
          skipSpace();
          i++;
        }
        if (!matched) return found;
      } else {
        return found;
      }
    }
    return found;
  } catch {
    return undefined;
  }
}

function positionOf(text: string, offset: number): TextPosition {
  const before = text.slice(0, offset);
  const line = before.split('\n').length;
  const column = offset - before.lastIndexOf('\n');
  return { offset, line, column };
}

/** The line and column where JSON.parse failed, from its message, when the engine names a position. */
export function syntaxErrorPosition(text: string, error: unknown): TextPosition | undefined {
  const message = error instanceof Error ? error.message : String(error);
  const match = /position (\d+)/.exec(message);
  if (match) return positionOf(text, Number(match[1]));
  const lineColumn = /line (\d+) column (\d+)/.exec(message);
  if (lineColumn) {
    const line = Number(lineColumn[1]);
    const column = Number(lineColumn[2]);
    const lines = text.split('\n');
    const offset = lines.slice(0, line - 1).reduce((sum, l) => sum + l.length + 1, 0) + column - 1;
    return { offset, line, column };
  }
  return undefined;
}
