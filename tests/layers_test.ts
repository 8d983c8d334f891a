import assert from "node:assert/strict";
import { dirname, join, normalize, relative } from "node:path";
import { folderCycle, type ImportEdge, LAYERS, relativeImports, violation } from "./layers.ts";

const ROOT = normalize(join(dirname(new URL(import.meta.url).pathname), ".."));
const SKIP = new Set(["node_modules", ".git", ".data", ".tools"]);
/** Layers whose public surface is one `mod.ts`: other folders import nothing else of them. */
const SEALED = ["runtime", "knowledge"];

async function* sources(dir: string): AsyncGenerator<string> {
  for await (const e of Deno.readDir(dir)) {
    if (SKIP.has(e.name)) continue;
    const path = join(dir, e.name);
    if (e.isDirectory) yield* sources(path);
    else if (/\.tsx?$/.test(e.name) && !e.name.endsWith(".d.ts")) yield path;
  }
}

async function repositoryEdges(): Promise<ImportEdge[]> {
  const edges: ImportEdge[] = [];
  for await (const file of sources(ROOT)) {
    const from = relative(ROOT, file);
    for (const spec of relativeImports(await Deno.readTextFile(file))) {
      edges.push({ from, to: relative(ROOT, normalize(join(dirname(file), spec))) });
    }
  }
  return edges;
}

Deno.test("layers - no import runs up the order runtime ← db ← knowledge ← actors ← channels ← api ← app", async () => {
  const edges = await repositoryEdges();
  assert.ok(edges.length > 300, `read ${edges.length} imports: the walk found the sources`);
  const bad = edges.map(violation).filter((v) => v !== undefined);
  assert.deepEqual(bad, []);
  const product = edges.filter(({ from, to }) =>
    !from.endsWith("_test.ts") && ![from, to].some((p) => /^(tests|bench)\//.test(p))
  );
  assert.equal(folderCycle(product), undefined);
});

Deno.test("layers - other folders reach runtime/ and knowledge/ through their mod.ts only", async () => {
  const bad = (await repositoryEdges()).filter(({ from, to }) => {
    const owner = to.split("/")[0]!;
    const inTests = from.endsWith("_test.ts") || /^(tests|bench)\//.test(from);
    return SEALED.includes(owner) && !from.startsWith(`${owner}/`) && !inTests &&
      to !== `${owner}/mod.ts`;
  }).map(({ from, to }) => `${from} imports ${to}`);
  assert.deepEqual(bad, []);
});

Deno.test("violation() and folderCycle() catch an upward import and a cycle", () => {
  const up = { from: "knowledge/answer/brain.ts", to: "api/lib/route.ts" };
  assert.equal(
    violation(up),
    "knowledge/answer/brain.ts imports api/lib/route.ts: knowledge/ is below api/",
  );
  assert.match(violation({ from: "misc/x.ts", to: "db/tenant.ts" }) ?? "", /misc\/ has no place/);
  assert.match(violation({ from: "api/app.ts", to: "tests/harness.ts" }) ?? "", /harness/);
  assert.equal(violation({ from: "api/app_test.ts", to: "tests/harness.ts" }), undefined);
  assert.equal(violation({ from: "api/app.ts", to: "db/tenant.ts" }), undefined);
  const cycle = folderCycle([
    { from: "app/node.ts", to: "actors/mod.ts" },
    { from: "actors/mod.ts", to: "knowledge/mod.ts" },
    { from: "knowledge/ingest/ingest.ts", to: "app/db/tenant.ts" },
  ]);
  assert.deepEqual(cycle, ["app", "actors", "knowledge", "app"]);
  assert.deepEqual(
    relativeImports(
      `import a from "./a.ts";\nexport { b } from "../b.ts";\nawait import("./c.ts");\nimport "npm:x";`,
    ),
    ["./a.ts", "../b.ts", "./c.ts"],
  );
  assert.equal(LAYERS[0], "runtime");
});
