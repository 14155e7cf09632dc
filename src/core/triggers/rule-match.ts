/**
 * Which rules an object event matches, and whether a rule would trigger on its own outputs (docs/architecture.md §10).
 * Pure: the caller supplies what a HEAD learned when the event did not say.
 */
import type { TransformGraph } from '../graph/graph.js';
import { pointer } from '../graph/issues.js';
import type { OutputFormat, StorageSink } from '../graph/units.js';
import { mimeTypes } from '../imaging/encode.js';
import { templatePlaceholders } from './graph-template.js';

/** The filter part of a rule. */
export interface RuleFilter {
  connection: string;
  bucket: string;
  /** Empty matches every key. */
  prefix: string;
  suffix: string;
  /** Media types (`image/jpeg`, or `image/*`); empty matches any. */
  contentTypes: readonly string[];
  minSize: number | null;
  maxSize: number | null;
}

/** What is known about the object: from the event, else from a HEAD. */
export interface ObjectFacts {
  size?: number | undefined;
  contentType?: string | undefined;
}

/** `Image/JPEG; charset=binary` → `image/jpeg`. */
export function normalizeMediaType(value: string): string {
  return (value.split(';')[0] ?? '').trim().toLowerCase();
}

/** The part of the match that needs only the event: connection, bucket, prefix and suffix. */
export function matchesObjectName(
  rule: RuleFilter,
  object: { connection: string; bucket: string; key: string },
): boolean {
  return (
    rule.connection === object.connection &&
    rule.bucket === object.bucket &&
    object.key.startsWith(rule.prefix) &&
    object.key.endsWith(rule.suffix) &&
    object.key.length >= rule.prefix.length + rule.suffix.length
  );
}

/** Whether `facts` hold every value the rule's filter asks for (else a HEAD must supply them). */
export function factsDecide(rule: RuleFilter, facts: ObjectFacts): boolean {
  const sizeKnown = facts.size !== undefined || (rule.minSize === null && rule.maxSize === null);
  return sizeKnown && (facts.contentType !== undefined || rule.contentTypes.length === 0);
}

/** The part that needs size and content type. An unknown value fails a filter that asks for it. */
export function matchesObjectFacts(rule: RuleFilter, facts: ObjectFacts): boolean {
  if (rule.minSize !== null && (facts.size === undefined || facts.size < rule.minSize)) return false;
  if (rule.maxSize !== null && (facts.size === undefined || facts.size > rule.maxSize)) return false;
  if (rule.contentTypes.length === 0) return true;
  if (facts.contentType === undefined) return false;
  return mediaTypeAllowed(rule.contentTypes, normalizeMediaType(facts.contentType));
}

function mediaTypeAllowed(allowed: readonly string[], mediaType: string): boolean {
  return allowed.some((entry) => {
    const pattern = normalizeMediaType(entry);
    return pattern.endsWith('/*') ? mediaType.startsWith(pattern.slice(0, -1)) : pattern === mediaType;
  });
}

/** One sink of a rule's template that could write an object the rule itself matches. */
export interface LoopingSink {
  /** JSON pointer of the sink inside the template. */
  path: string;
  message: string;
}

const placeholderSource = `\\{(?:${templatePlaceholders.join('|')})\\}`;
const placeholderPattern = new RegExp(placeholderSource, 'g');
const hasPlaceholder = new RegExp(placeholderSource);

/**
 * The sinks through which a rule would trigger itself. A sink loops when it writes to the rule's own
 * connection and bucket, with a key that could start with the rule's prefix, end with its suffix, and
 * carry one of its content types. Placeholders are filled from the triggering key, which is not known
 * here, so a key template is judged by its literal head (before the first placeholder) and literal tail
 * (after the last): when either could still agree with the filter, the sink is assumed to loop. Size is
 * not considered (an output's size is unknown). Generated objects never trigger rules anyway; this check
 * refuses, at creation, the rules that could only ever fight that guard.
 */
export function ruleWouldLoop(rule: RuleFilter & { template: TransformGraph }): LoopingSink[] {
  const found: LoopingSink[] = [];
  forEachSinkWithFormat(rule.template, (sink, format, path) => {
    if ((sink.storage ?? rule.connection) !== rule.connection) return;
    const bucket = sink.bucket.replaceAll('{bucket}', rule.bucket);
    // A bucket that still has placeholders could be any bucket, this one included.
    if (bucket !== rule.bucket && !hasPlaceholder.test(bucket)) return;
    if (!keyTemplateCouldMatch(sink.key, rule.prefix, rule.suffix)) return;
    if (rule.contentTypes.length > 0) {
      const written = normalizeMediaType(sink.contentType ?? (format ? mimeTypes[format] : ''));
      // Without a known format the output type is unknown: assume it matches.
      if (written !== '' && !mediaTypeAllowed(rule.contentTypes, written)) return;
    }
    found.push({
      path,
      message: `This sink writes ${JSON.stringify(sink.key)} into the rule's own bucket ${JSON.stringify(rule.bucket)}, where its outputs could match the rule's filter and trigger it again; write outside the prefix, change the suffix, or use another bucket`,
    });
  });
  return found;
}

/** Whether some filling of the key template could start with `prefix` and end with `suffix`. */
export function keyTemplateCouldMatch(template: string, prefix: string, suffix: string): boolean {
  const placeholders = [...template.matchAll(placeholderPattern)];
  if (placeholders.length === 0) {
    return template.startsWith(prefix) && template.endsWith(suffix);
  }
  const first = placeholders[0]!;
  const last = placeholders[placeholders.length - 1]!;
  const head = template.slice(0, first.index);
  const tail = template.slice(last.index + last[0].length);
  const headAgrees = head.startsWith(prefix) || prefix.startsWith(head);
  const tailAgrees = tail.endsWith(suffix) || suffix.endsWith(tail);
  return headAgrees && tailAgrees;
}

/** Each sink with the output format of its branch (the nearest ImageFormat before it). */
function forEachSinkWithFormat(
  graph: TransformGraph,
  visit: (sink: StorageSink, format: OutputFormat | undefined, path: string) => void,
): void {
  const walk = (node: TransformGraph, segments: (string | number)[], inherited: OutputFormat | undefined) => {
    let format = inherited;
    node.transformUnits.forEach((unit, index) => {
      if (unit.type === 'ImageFormat') format = unit.format;
      if (unit.type === 'StorageSink') visit(unit, format, pointer([...segments, 'transformUnits', index]));
    });
    node.outputs?.forEach((child, index) => walk(child, [...segments, 'outputs', index], format));
  };
  walk(graph, [], undefined);
}
