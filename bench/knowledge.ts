// deno-lint-ignore-file no-console -- entry point: prints the benchmark report
/**
 * `deno task bench:knowledge`: retrieval p50/p99 at 10,000 and 100,000 chunks, ingestion
 * throughput (PDF pages/s), a chat turn's latency alone, and chat turns of 200 concurrent
 * conversations on the evaluation's knowledge base, with the configured models (the embedded
 * default without OLLAMA_HOST). `--sizes 1000,10000` changes the corpus sizes, `--conversations
 * 200`, `--think-ms 5000` (mean pause between a reply and the next message, exponential) and
 * `--seconds 60` shape the concurrent run; `--json` prints one JSON line at the end.
 */
import { withTenant } from "../db/tenant.ts";
import { openScratch } from "./knowledge_env.ts";
import { seedCreator, seedDocument, seedKnowledgeBase } from "../tests/knowledge_seed.ts";
import { chunkId } from "../knowledge/store/chunk_rows.ts";
import { ingestDocument } from "../knowledge/ingest/ingest.ts";
import { ExtractorPool } from "../knowledge/ingest/extractor_pool.ts";
import { retrieve } from "../knowledge/retrieval/retrieve.ts";
import { runTurn } from "../knowledge/answer/brain.ts";
import { answerFormat } from "../actors/mod.ts";
import { makePdf } from "../tests/fixtures/documents.ts";
import { coachingKb } from "../tests/fixtures/coaching_kb.ts";
import type { Turn } from "../knowledge/answer/responder.ts";
import process from "node:process";

const arg = (name: string) => {
  const i = Deno.args.indexOf(name);
  return i >= 0 ? Deno.args[i + 1] : undefined;
};
const sizes = (arg("--sizes") ?? "10000,100000").split(",").map(Number);
const QUERIES = [
  "how long should a nap be",
  "I can't fall asleep at night",
  "how much protein do I need",
  "my shins hurt when I run",
  "can I get a refund",
  "how do I stop procrastinating",
  "what should I eat before training",
  "breathing exercise for stress",
];

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? NaN;
};

await using scratch = await openScratch();
const { pool, knowledge } = scratch;
const report: Record<string, unknown> = { embedder: knowledge.embedder.id };

// A synthetic corpus: coaching sentences recombined with filler, so chunks differ but read like text.
const kbFiles = await coachingKb();
const sentencesPool: string[] = [];
for (
  const f of kbFiles.filter((f) => f.mimeType.startsWith("text/") && f.mimeType !== "text/html")
) {
  const text = new TextDecoder().decode(f.bytes);
  sentencesPool.push(...text.replace(/^#.*$/gm, "").replace(/\s+/g, " ").split(/(?<=\.) /));
}
let seed = 42;
const rand = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
const pick = <T>(xs: T[]) => xs[Math.floor(rand() * xs.length)]!;

const creatorId = await seedCreator(pool, "Bench");
const kb = await seedKnowledgeBase(pool, creatorId, "Bench");
let total = 0;
for (const size of sizes) {
  const started = performance.now();
  const perDoc = 1000;
  while (total < size) {
    const docId = await seedDocument(pool, {
      creatorId,
      knowledgeBaseId: kb,
      title: `Synthetic ${total / perDoc}`,
      mimeType: "text/plain",
      content: "synthetic",
    });
    const texts = Array.from(
      { length: perDoc },
      () => [pick(sentencesPool), pick(sentencesPool), pick(sentencesPool)].join(" "),
    );
    const embeddings = await knowledge.embedder.embed(texts);
    await knowledge.store.upsert(
      "chunks",
      texts.map((text, i) => ({
        id: chunkId(docId, i),
        embedding: embeddings[i]!,
        text,
        meta: {
          creator_id: creatorId,
          knowledge_base_id: kb,
          document_id: docId,
          ordinal: i,
          heading: "",
        },
      })),
    );
    await withTenant(pool, creatorId, (c) =>
      c.query(
        `insert into knowledge_chunks (id, creator_id, knowledge_base_id, document_id, ordinal, text,
                                       start_offset, end_offset)
         select $1 || ':' || (i - 1), $2, $3, $1::uuid, i - 1, t, 0, length(t)
         from unnest($4::text[]) with ordinality as u(t, i)`,
        [docId, creatorId, kb, texts],
      ));
    total += perDoc;
  }
  const loadS = (performance.now() - started) / 1000;
  const times: number[] = [];
  for (let round = 0; round < 5; round++) {
    for (const q of QUERIES) {
      const t = performance.now();
      await retrieve(knowledge, { creatorId, query: q, k: 5 });
      times.push(performance.now() - t);
    }
  }
  report[`retrieval_${size}`] = { p50Ms: pct(times, 50), p99Ms: pct(times, 99), loadS };
  console.log(
    `retrieval at ${size} chunks: p50 ${pct(times, 50).toFixed(1)} ms, p99 ${
      pct(times, 99).toFixed(1)
    } ms (${times.length} queries; corpus loaded in ${loadS.toFixed(1)} s)`,
  );
}

// Ingestion throughput: a 20-page PDF through the real pipeline (extract and chunk in a warm
// extractor process, as the ingestion worker does; embed, index).
const pageLines = (p: number) =>
  Array.from({ length: 30 }, (_, i) => `${p}.${i} ${pick(sentencesPool).slice(0, 90)}`);
const pdf = await makePdf(Array.from({ length: 20 }, (_, p) => pageLines(p)));
const ingestCreator = await seedCreator(pool, "Ingest");
const ingestKb = await seedKnowledgeBase(pool, ingestCreator);
await using extractor = ExtractorPool.start();
await extractor.read(pdf, { mimeType: "application/pdf" }); // the process has loaded its modules
const runs = Number(arg("--ingest-runs") ?? 5);
const t0 = performance.now();
for (let i = 0; i < runs; i++) {
  const id = await seedDocument(pool, {
    creatorId: ingestCreator,
    knowledgeBaseId: ingestKb,
    title: `pdf ${i}`,
    mimeType: "application/pdf",
    content: pdf,
  });
  const out = await ingestDocument({ ...knowledge, extractor }, ingestCreator, id);
  if (out.status !== "ready") throw new Error(`bench ingestion failed: ${JSON.stringify(out)}`);
}
const pagesPerS = (runs * 20) / ((performance.now() - t0) / 1000);
report.ingestionPagesPerS = pagesPerS;
console.log(
  `ingestion: ${pagesPerS.toFixed(1)} PDF pages/s (${runs} × 20-page PDF, 30 lines a page)`,
);

// A chat turn on the eval knowledge base (retrieve, answer, QA).
const chatCreator = await seedCreator(pool, "Chat");
const chatKb = await seedKnowledgeBase(pool, chatCreator);
for (const f of kbFiles) {
  const id = await seedDocument(pool, {
    creatorId: chatCreator,
    knowledgeBaseId: chatKb,
    title: f.filename,
    filename: f.filename,
    mimeType: f.mimeType,
    content: f.bytes,
  });
  await ingestDocument(knowledge, chatCreator, id);
}
const turn = (message: string, history: Turn[] = []) =>
  runTurn(knowledge, {
    creatorId: chatCreator,
    message,
    history,
    summary: "",
    format: answerFormat("web_widget"),
  });
const turns: number[] = [];
for (let round = 0; round < 5; round++) {
  for (const q of QUERIES) {
    const t = performance.now();
    await turn(q);
    turns.push(performance.now() - t);
  }
}
report.chatTurn = { p50Ms: pct(turns, 50), p99Ms: pct(turns, 99) };
console.log(
  `chat turn (${knowledge.responder.id}): p50 ${pct(turns, 50).toFixed(1)} ms, p99 ${
    pct(turns, 99).toFixed(1)
  } ms`,
);

// Concurrent conversations: each sends a message, waits for the reply, pauses (exponential,
// mean --think-ms) and sends the next, keeping its history; the messages are the evaluation's.
const conversations = Number(arg("--conversations") ?? 200);
const thinkMs = Number(arg("--think-ms") ?? 5000);
const seconds = Number(arg("--seconds") ?? 60);
const messages: string[] = [];
for (const part of ["dev", "test"]) {
  const file = new URL(`../tests/fixtures/eval/${part}.json`, import.meta.url);
  const { questions } = JSON.parse(await Deno.readTextFile(file)) as {
    questions: { question: string; history?: string[] }[];
  };
  for (const q of questions) messages.push(...(q.history ?? []), q.question);
}
for (const m of messages) await turn(m); // warm: every message once, as a running node would be
const concurrent: number[] = [];
const deadline = performance.now() + seconds * 1000;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const cpu0 = process.cpuUsage();
await Promise.all(Array.from({ length: conversations }, async () => {
  const history: Turn[] = [];
  await sleep(rand() * thinkMs); // conversations start spread out, not all at once
  while (performance.now() < deadline) {
    const message = pick(messages);
    const t = performance.now();
    const r = await turn(message, history.slice(-6));
    concurrent.push(performance.now() - t);
    history.push({ role: "user", text: message }, { role: "assistant", text: r.answer });
    await sleep(-Math.log(1 - rand()) * thinkMs);
  }
}));
const cpu1 = process.cpuUsage();
const cpuMsPerTurn = (cpu1.user - cpu0.user + cpu1.system - cpu0.system) / 1000 /
  concurrent.length;
report.concurrentChat = {
  conversations,
  thinkMs,
  turns: concurrent.length,
  turnsPerS: concurrent.length / seconds,
  p50Ms: pct(concurrent, 50),
  p99Ms: pct(concurrent, 99),
  cpuMsPerTurn,
};
console.log(
  `${conversations} concurrent conversations (think ${thinkMs} ms): ${concurrent.length} turns, ${
    (concurrent.length / seconds).toFixed(1)
  }/s, p50 ${pct(concurrent, 50).toFixed(1)} ms, p99 ${pct(concurrent, 99).toFixed(1)} ms, ${
    cpuMsPerTurn.toFixed(1)
  } ms CPU of this process a turn`,
);
if (Deno.args.includes("--json")) console.log(JSON.stringify(report));
