/**
 * The import graph of src/ has no cycles, between files or between folders (a folder is a layer's
 * subfolder: core/graph, core/imaging, db, temporal/workflows, features/rules, …; a file directly in
 * core/ counts as a folder of its own). Layer directions are enforced by ESLint (eslint.config.js); this
 * catches what a per-file rule cannot see. Type-only imports (`import type …`) are left out: they vanish
 * at run time, and workflows import their activities' types by design.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';

const root = path.resolve('src');

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(full);
    return entry.name.endsWith('.ts') ? [full] : [];
  });
}

/** Relative imports and re-exports of a file that remain at run time, resolved to files under src/. */
function importsOf(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const specifiers = [
    ...text.matchAll(/^\s*(?:import|export)\b(?!\s+type\b)[^'"]*?from\s+'(\.{1,2}\/[^']+)'/gm),
  ].map((match) => match[1]!);
  return specifiers.map((spec) => path.resolve(path.dirname(file), spec).replace(/\.js$/, '.ts'));
}

/** The folder a file belongs to, for the folder-level graph. */
function folderOf(file: string): string {
  const parts = path.relative(root, file).replace(/\.ts$/, '').split(path.sep);
  if (parts[0] === 'core') return parts.slice(0, 2).join('/');
  const depth = ['features', 'temporal'].includes(parts[0]!) ? 2 : 1;
  return parts.slice(0, Math.min(depth, parts.length - 1)).join('/') || '.';
}

/** Strongly connected components with more than one node, or with a self-edge (Tarjan). */
function cycles(graph: Map<string, Set<string>>): string[][] {
  let index = 0;
  const indexes = new Map<string, number>();
  const lowlinks = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const found: string[][] = [];
  const visit = (node: string) => {
    indexes.set(node, index);
    lowlinks.set(node, index);
    index += 1;
    stack.push(node);
    onStack.add(node);
    for (const next of graph.get(node) ?? []) {
      if (!indexes.has(next)) {
        visit(next);
        lowlinks.set(node, Math.min(lowlinks.get(node)!, lowlinks.get(next)!));
      } else if (onStack.has(next)) {
        lowlinks.set(node, Math.min(lowlinks.get(node)!, indexes.get(next)!));
      }
    }
    if (lowlinks.get(node) === indexes.get(node)) {
      const component: string[] = [];
      let member: string;
      do {
        member = stack.pop()!;
        onStack.delete(member);
        component.push(member);
      } while (member !== node);
      if (component.length > 1 || graph.get(node)?.has(node)) found.push(component.sort());
    }
  };
  for (const node of graph.keys()) if (!indexes.has(node)) visit(node);
  return found;
}

describe('the import graph of src/', () => {
  const files = sourceFiles(root);
  const fileGraph = new Map(files.map((file) => [file, new Set(importsOf(file))]));

  test('when every relative import is followed, then it lands on a file that exists', () => {
    const known = new Set(files);
    const missing = [...fileGraph].flatMap(([file, targets]) =>
      [...targets].filter((target) => !known.has(target)).map((target) => `${file} → ${target}`),
    );
    assert.deepEqual(missing, []);
  });

  test('when files are linked by their imports, then no file reaches itself', () => {
    const named = cycles(fileGraph).map((cycle) => cycle.map((file) => path.relative(root, file)));
    assert.deepEqual(named, []);
  });

  test('when folders are linked by their files’ imports, then no folder reaches itself', () => {
    const folderGraph = new Map<string, Set<string>>();
    for (const [file, targets] of fileGraph) {
      const from = folderOf(file);
      const edges = folderGraph.get(from) ?? new Set<string>();
      for (const target of targets) if (folderOf(target) !== from) edges.add(folderOf(target));
      folderGraph.set(from, edges);
    }
    assert.deepEqual(cycles(folderGraph), []);
  });
});
