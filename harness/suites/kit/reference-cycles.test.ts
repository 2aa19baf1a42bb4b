/**
 * reference/ has no runtime import cycle: module A loading B loading ... A. A cycle makes load order matter
 * (a module sees another's exports still undefined) and usually means two modules do each other's job.
 * Type-only imports are erased before the code runs and do not count.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { scanModule } from '../../labs/closure.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');

function tsFiles(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const full = path.join(dir, e.name);
    if (e.isDirectory()) return tsFiles(full);
    return e.name.endsWith('.ts') ? [full] : [];
  });
}

/** The runtime import graph of the files under `dir`: file -> files it loads (inside `dir`). */
function importGraph(dir: string): Map<string, string[]> {
  const graph = new Map<string, string[]>();
  for (const file of tsFiles(dir)) {
    const scan = scanModule(fs.readFileSync(file, 'utf8'), file);
    const deps = scan.imports
      .filter((spec) => spec.startsWith('./') || spec.startsWith('../'))
      .map((spec) => path.resolve(path.dirname(file), spec))
      .filter((target) => target.startsWith(dir + path.sep));
    graph.set(file, deps);
  }
  return graph;
}

/** One cycle per strongly connected group of two or more modules (or a module importing itself). */
function findCycles(graph: Map<string, string[]>): string[][] {
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const groups: string[][] = [];
  let next = 0;
  const visit = (v: string): void => {
    index.set(v, next);
    low.set(v, next);
    next++;
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!graph.has(w)) continue;
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) {
        low.set(v, Math.min(low.get(v)!, index.get(w)!));
      }
    }
    if (low.get(v) === index.get(v)) {
      const group: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        group.push(w);
      } while (w !== v);
      if (group.length > 1 || (graph.get(v) ?? []).includes(v)) groups.push(group.sort());
    }
  };
  for (const v of graph.keys()) if (!index.has(v)) visit(v);
  return groups;
}

describe('kit: import cycles', () => {
  it('finds a cycle and only a cycle', () => {
    const g = new Map([
      ['a', ['b']],
      ['b', ['c']],
      ['c', ['a', 'd']],
      ['d', []],
      ['e', ['e']],
    ]);
    expect(findCycles(g)).toEqual([['a', 'b', 'c'], ['e']]);
  });

  it('reference/ has no runtime import cycle', () => {
    const dir = path.join(ROOT, 'reference');
    const cycles = findCycles(importGraph(dir)).map((group) => group.map((f) => path.relative(ROOT, f)).join(' <-> '));
    expect(cycles, `runtime import cycles in reference/:\n${cycles.join('\n')}`).toEqual([]);
  });
});
