/** Short human descriptions of a graph, for the Temporal UI and logs. Pure. */
import type { TransformGraph } from './graph.js';
import type { StorageSink, StorageSource } from './units.js';

export function graphSource(graph: TransformGraph): StorageSource | undefined {
  const first = graph.transformUnits[0];
  return first?.type === 'StorageSource' ? first : undefined;
}

export function graphSinks(graph: TransformGraph): StorageSink[] {
  const sinks: StorageSink[] = [];
  const stack: TransformGraph[] = [graph];
  while (stack.length) {
    const node = stack.pop()!;
    for (const unit of node.transformUnits) if (unit.type === 'StorageSink') sinks.push(unit);
    if (node.outputs) stack.push(...[...node.outputs].reverse());
  }
  return sinks;
}

/** "cat.jpg → 3 outputs" */
export function summarizeGraph(graph: TransformGraph): string {
  const source = graphSource(graph);
  const name = source ? (source.key.split('/').pop() ?? source.key) : 'graph';
  const count = graphSinks(graph).length;
  return `${name} → ${count} output${count === 1 ? '' : 's'}`;
}

/** `bucket/key` of the source, the value of the PixelshiftSource search attribute. */
export function sourceLabel(graph: TransformGraph): string {
  const source = graphSource(graph);
  return source ? `${source.bucket}/${source.key}` : '';
}
