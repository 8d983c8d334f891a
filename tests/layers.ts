/**
 * The layer rule, as data: product folders in the order they may import each other (a folder
 * imports only folders before it), and a reader of a folder tree's relative imports.
 */

/** Product folders, lowest first. `main.ts` at the top level belongs to `app`. */
export const LAYERS = [
  "runtime",
  "db",
  "knowledge",
  "actors",
  "channels",
  "analytics",
  "business",
  "api",
  "app",
] as const;

/**
 * Folders that hold harnesses, benchmarks, fixtures and operator tooling (`deploy/`): they may
 * import any layer, none imports them.
 */
export const HARNESS = ["tests", "bench", "deploy"] as const;

export interface ImportEdge {
  from: string;
  to: string;
}

/** Every relative import (static, dynamic, re-export) in a TypeScript source, as written. */
export function relativeImports(source: string): string[] {
  const found: string[] = [];
  const pattern = /(?:\bfrom|\bimport)\s*\(?\s*["'](\.{1,2}\/[^"']+)["']/g;
  for (const m of source.matchAll(pattern)) found.push(m[1]!);
  return found;
}

/** The top-level folder of a repository-relative path (`main.ts` counts as `app`). */
export function folderOf(path: string): string {
  const parts = path.split("/");
  return parts.length === 1 ? (path === "main.ts" ? "app" : ".") : parts[0]!;
}

/** Why an edge breaks the rule, or undefined when it is allowed. */
export function violation({ from, to }: ImportEdge): string | undefined {
  const a = folderOf(from);
  const b = folderOf(to);
  if (a === b) return undefined;
  const harness = HARNESS as readonly string[];
  if (harness.includes(a)) return undefined;
  if (harness.includes(b)) {
    return from.endsWith("_test.ts") ? undefined : `${from} (product code) imports ${to} (harness)`;
  }
  const order = LAYERS as readonly string[];
  const ia = order.indexOf(a);
  const ib = order.indexOf(b);
  if (ia < 0) return `${from}: folder ${a}/ has no place in the layer order`;
  if (ib < 0) return `${from} imports ${to}: folder ${b}/ has no place in the layer order`;
  if (ib > ia) return `${from} imports ${to}: ${a}/ is below ${b}/`;
  return undefined;
}

/** A cycle between top-level folders (as a list `a → b → … → a`), or undefined. */
export function folderCycle(edges: ImportEdge[]): string[] | undefined {
  const next = new Map<string, Set<string>>();
  for (const { from, to } of edges) {
    const a = folderOf(from);
    const b = folderOf(to);
    if (a === b) continue;
    if (!next.has(a)) next.set(a, new Set());
    next.get(a)!.add(b);
  }
  const state = new Map<string, "open" | "done">();
  const path: string[] = [];
  const visit = (n: string): string[] | undefined => {
    if (state.get(n) === "done") return undefined;
    if (state.get(n) === "open") return [...path.slice(path.indexOf(n)), n];
    state.set(n, "open");
    path.push(n);
    for (const m of next.get(n) ?? []) {
      const cycle = visit(m);
      if (cycle) return cycle;
    }
    path.pop();
    state.set(n, "done");
    return undefined;
  };
  for (const n of next.keys()) {
    const cycle = visit(n);
    if (cycle) return cycle;
  }
  return undefined;
}
