/**
 * The dry run behind `POST /v1/graphs:validate`: the same checks a submission gets (shape, meaning,
 * storage access), without storing or starting anything. A valid graph answers with its compiled chains:
 * for each leaf, the unit types a source goes through to reach that leaf's sink.
 */
import type { Config } from '../../core/config.js';
import { pointer, validateGraph, type TransformGraph } from '../../core/graph/index.js';
import { invalidGraph } from '../../api/api-error.js';
import type { GraphValidationResponse } from './graphs.schemas.js';
import { assertStorageAccess } from '../batches/storage-access.js';

/** A graph checked by every rule of the graph contract, or a 422 `invalid_graph` with each issue. */
export function parseGraph(config: Pick<Config, 'imaging'>, body: unknown): TransformGraph {
  const result = validateGraph(body, { maxPixels: config.imaging.maxInputPixels });
  if (!result.ok) throw invalidGraph(result.error);
  return result.value;
}

export function validateGraphDryRun(
  config: Config,
  accountId: string,
  graph: TransformGraph,
): GraphValidationResponse {
  assertStorageAccess([{ graph, base: [] }], config.storage, accountId);
  return { valid: true, chains: compileChains(graph) };
}

/** Every root-to-leaf path of a (valid) graph, as unit types in order. Pure. */
export function compileChains(graph: TransformGraph): GraphValidationResponse['chains'] {
  const chains: GraphValidationResponse['chains'] = [];
  const visit = (node: TransformGraph, path: (string | number)[], before: string[]) => {
    const units = [...before, ...node.transformUnits.map((unit) => unit.type)];
    const outputs = node.outputs ?? [];
    if (outputs.length === 0) chains.push({ leaf: pointer(path), units });
    outputs.forEach((child, index) => visit(child, [...path, 'outputs', index], units));
  };
  visit(graph, [], []);
  return chains;
}
