// deno-lint-ignore-file no-console -- entry point: prints the evaluation report
/**
 * `deno task eval`: ingests tests/fixtures/coaching_kb, asks tests/fixtures/coaching_eval.json and
 * reports retrieval recall@5 and MRR, refusal rates, grounding rate and answer hit rate for the
 * configured models (the embedded default without OLLAMA_HOST). `--verbose` lists every miss.
 */
import { ingestDocument } from "../knowledge/ingest/ingest.ts";
import { seedCreator, seedDocument, seedKnowledgeBase } from "../tests/knowledge_seed.ts";
import { openScratch } from "./knowledge_env.ts";
import { retrieve } from "../knowledge/retrieval/retrieve.ts";
import { followUpContext, runTurn } from "../knowledge/answer/brain.ts";
import { answerFormat } from "../actors/mod.ts";
import type { Turn } from "../knowledge/answer/responder.ts";

interface Question {
  id: string;
  kind: "paraphrase" | "direct" | "followup" | "out_of_scope";
  question: string;
  history?: string[];
  expect?: { document: string; evidence: string };
}

const FIXTURES = new URL("../tests/fixtures/", import.meta.url);
const verbose = Deno.args.includes("--verbose");
const questionsFile = Deno.args[Deno.args.indexOf("--questions") + 1] ?? "coaching_eval.json";
const norm = (s: string) => s.replace(/\s+/g, " ").toLowerCase();

await using scratch = await openScratch();
const { pool, knowledge } = scratch;
const creatorId = await seedCreator(pool, "Eval Coach");
const kb = await seedKnowledgeBase(pool, creatorId, "Coaching");
const titles = new Map<string, string>();
for await (const f of Deno.readDir(new URL("coaching_kb/", FIXTURES))) {
  const content = await Deno.readTextFile(new URL(`coaching_kb/${f.name}`, FIXTURES));
  const title = content.match(/^# (.+)$/m)?.[1] ?? f.name;
  const id = await seedDocument(pool, {
    creatorId,
    knowledgeBaseId: kb,
    title,
    filename: f.name,
    mimeType: "text/markdown",
    content,
  });
  titles.set(id, f.name);
  const outcome = await ingestDocument(knowledge, creatorId, id);
  if (outcome.status !== "ready") throw new Error(`${f.name}: ${JSON.stringify(outcome)}`);
}
const { questions } = JSON.parse(
  await Deno.readTextFile(
    new URL(Deno.args.includes("--questions") ? questionsFile : "coaching_eval.json", FIXTURES),
  ),
) as { questions: Question[] };

interface Row {
  q: Question;
  rank: number | null;
  refused: boolean;
  grounded: boolean;
  answerHit: boolean;
  ms: number;
  answer: string;
  top: string[];
  confidence: number;
  /** Relevance of the passage that holds the answer, when it was retrieved. */
  goldRelevance: number | null;
  /** How well general definitions cover the question, when the models measure it. */
  background: number | null;
}
const rows: Row[] = [];
for (const q of questions) {
  const history: Turn[] = (q.history ?? []).flatMap((text) => [
    { role: "user" as const, text },
    { role: "assistant" as const, text: "(previous answer)" },
  ]);
  const started = performance.now();
  const passages = await retrieve(knowledge, {
    creatorId,
    query: q.question,
    k: 5,
    context: followUpContext(q.question, history),
  });
  const result = await runTurn(knowledge, {
    creatorId,
    message: q.question,
    history,
    summary: "",
    format: answerFormat("web_widget"),
  });
  const ms = performance.now() - started;
  const hit = (text: string, docId: string) =>
    !!q.expect && titles.get(docId) === q.expect.document &&
    norm(text).includes(norm(q.expect.evidence));
  const idx = passages.findIndex((p) => hit(p.text, p.documentId));
  const answerHit = result.citations.some((c) =>
    passages.some((p) =>
      p.id === c.chunkId && hit(p.text, p.documentId)
    )
  ) || (!!q.expect && norm(result.answer).includes(norm(q.expect.evidence)));
  rows.push({
    q,
    rank: idx >= 0 ? idx + 1 : null,
    refused: result.refused,
    grounded: result.qa.grounded,
    answerHit,
    ms,
    answer: result.answer,
    confidence: result.confidence,
    goldRelevance: idx >= 0 ? passages[idx]!.relevance : null,
    background: result.background ?? null,
    top: passages.map((p) =>
      `${titles.get(p.documentId)}#${p.position.ordinal} rel=${p.relevance.toFixed(2)}`
    ),
  });
}

const pct = (x: number) => `${(100 * x).toFixed(1)}%`;
const mean = (xs: number[]) => xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : 0;
const kinds = ["paraphrase", "direct", "followup"] as const;
const report: Record<string, unknown> = {};
console.log(`models: embedder=${knowledge.embedder.id} responder=${knowledge.responder.id}`);
console.log("kind         n   recall@5   MRR     answered  answer-hit");
for (const kind of [...kinds, "all in-scope"] as const) {
  const rs = rows.filter((r) =>
    kind === "all in-scope" ? r.q.kind !== "out_of_scope" : r.q.kind === kind
  );
  const recall = mean(rs.map((r) => (r.rank !== null ? 1 : 0)));
  const mrr = mean(rs.map((r) => (r.rank ? 1 / r.rank : 0)));
  const answered = mean(rs.map((r) => (r.refused ? 0 : 1)));
  const answerHit = mean(rs.map((r) => (r.answerHit && !r.refused ? 1 : 0)));
  report[kind] = { n: rs.length, recallAt5: recall, mrr, answered, answerHit };
  console.log(
    `${kind.padEnd(12)} ${String(rs.length).padStart(2)}   ${pct(recall).padStart(7)}  ${
      mrr.toFixed(3)
    }   ${pct(answered).padStart(7)}   ${pct(answerHit).padStart(7)}`,
  );
}
const oos = rows.filter((r) => r.q.kind === "out_of_scope");
const inScope = rows.filter((r) => r.q.kind !== "out_of_scope");
const answered = rows.filter((r) => !r.refused);
const summary = {
  outOfScopeRefusal: mean(oos.map((r) => (r.refused ? 1 : 0))),
  inScopeFalseRefusal: mean(inScope.map((r) => (r.refused ? 1 : 0))),
  refusalRate: mean(rows.map((r) => (r.refused ? 1 : 0))),
  groundingRate: mean(answered.map((r) => (r.grounded ? 1 : 0))),
  turnMsP50: [...rows.map((r) => r.ms)].sort((a, b) => a - b)[Math.floor(rows.length / 2)],
};
Object.assign(report, summary);
console.log(
  `out-of-scope refused: ${pct(summary.outOfScopeRefusal)} (${
    oos.filter((r) => r.refused).length
  }/${oos.length})` +
    ` | in-scope refused: ${pct(summary.inScopeFalseRefusal)} | overall refusal rate: ${
      pct(summary.refusalRate)
    } | grounding rate: ${pct(summary.groundingRate)} | turn p50 ${
      summary.turnMsP50?.toFixed(0)
    } ms`,
);
if (verbose) {
  for (const r of rows) {
    const bad = r.q.kind === "out_of_scope"
      ? !r.refused
      : r.rank === null || r.refused || !r.answerHit;
    if (!bad) continue;
    console.log(
      `\n✗ ${r.q.id} [${r.q.kind}] ${r.q.question}\n  rank=${r.rank} refused=${r.refused}`,
    );
    console.log(`  top: ${r.top.join(" | ")}`);
    console.log(`  answer: ${r.answer.slice(0, 240).replace(/\n/g, " ")}`);
  }
}
if (Deno.args.includes("--scores")) {
  for (const r of rows) {
    console.log(
      `${r.q.id} ${r.q.kind.padEnd(12)} rank=${r.rank ?? "-"} confidence=${
        r.confidence.toFixed(3)
      } gold=${r.goldRelevance?.toFixed(3) ?? "-"} background=${
        r.background?.toFixed(3) ?? "-"
      } refused=${r.refused}`,
    );
  }
}
if (Deno.args.includes("--json")) console.log(JSON.stringify(report));
