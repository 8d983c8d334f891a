/**
 * The two ways the evaluation reaches the coach: the library (`retrieve`, `converse` on the
 * knowledge services) and the API as a creator uses it (a real node over HTTP: upload, wait for
 * ingestion, `POST /knowledge-bases/{id}/search`, `POST /preview/chat` with the history).
 */
import { answerFormat } from "../actors/mod.ts";
import { withSystem } from "../db/tenant.ts";
import { ingestDocument } from "../knowledge/ingest/ingest.ts";
import { retrieve } from "../knowledge/retrieval/retrieve.ts";
import { converse, type TurnResult } from "../knowledge/answer/brain.ts";
import type { Turn } from "../knowledge/answer/responder.ts";
import { seedCreator, seedDocument, seedKnowledgeBase } from "../tests/knowledge_seed.ts";
import { coachingKb } from "../tests/fixtures/coaching_kb.ts";
import { eventually } from "../tests/harness.ts";
import { nodeEnv } from "../tests/node_env.ts";
import { openScratch } from "./knowledge_env.ts";
import type pg from "pg";

/** A retrieved chunk as the evaluation sees it. */
export interface Hit {
  chunkId: string;
  documentId: string;
}

/** One chat turn: what was retrieved, the final result, and how long the turn took. */
export interface ChatTurn {
  retrieved: Hit[];
  result: TurnResult;
  ms: number;
}

export interface EvalPath extends AsyncDisposable {
  name: "library" | "api";
  /** Chunk id → text and file name of its document, read once after ingestion. */
  chunks: Map<string, { text: string; filename: string }>;
  search(query: string): Promise<Hit[]>;
  chat(message: string, history: Turn[]): Promise<ChatTurn>;
}

async function chunkMap(pool: pg.Pool, files: Map<string, string>) {
  const { rows } = await withSystem(
    pool,
    (c) =>
      c.query<{ id: string; text: string; document_id: string }>(
        "select id, text, document_id from knowledge_chunks",
      ),
  );
  return new Map(
    rows.map((r) => [r.id, { text: r.text, filename: files.get(r.document_id) ?? "?" }]),
  );
}

/** The library path: a scratch schema and the configured models, documents ingested directly. */
export async function libraryPath(): Promise<EvalPath> {
  const scratch = await openScratch();
  const { pool, knowledge } = scratch;
  const creatorId = await seedCreator(pool, "Eval Coach");
  const kb = await seedKnowledgeBase(pool, creatorId, "Coaching");
  const files = new Map<string, string>();
  for (const f of await coachingKb()) {
    const id = await seedDocument(pool, {
      creatorId,
      knowledgeBaseId: kb,
      title: f.filename,
      filename: f.filename,
      mimeType: f.mimeType,
      content: f.bytes,
    });
    files.set(id, f.filename);
    const outcome = await ingestDocument(knowledge, creatorId, id);
    if (outcome.status !== "ready") throw new Error(`${f.filename}: ${JSON.stringify(outcome)}`);
  }
  return {
    name: "library",
    chunks: await chunkMap(pool, files),
    search: async (query) =>
      (await retrieve(knowledge, { creatorId, query, k: 5 })).map((p) => ({
        chunkId: p.id,
        documentId: p.documentId,
      })),
    chat: async (message, history) => {
      const started = performance.now();
      let retrieved: Hit[] = [];
      for await (
        const e of converse(knowledge, {
          creatorId,
          message,
          history,
          summary: "",
          format: answerFormat("web_widget"),
        })
      ) {
        if (e.type === "retrieval") {
          retrieved = e.passages.map((p) => ({ chunkId: p.chunkId, documentId: p.documentId }));
        }
        if (e.type === "final") {
          return { retrieved, result: e.result, ms: performance.now() - started };
        }
      }
      throw new Error("converse() ended without a final event");
    },
    [Symbol.asyncDispose]: () => scratch[Symbol.asyncDispose](),
  };
}

/**
 * The API path: a real node (its own schema, NATS prefix and Chroma collections) over HTTP. The
 * creator signs up, uploads every file as multipart, waits until each is ready, then searches and
 * chats through the preview route, sending the conversation so far as `history`.
 */
export async function apiPath(): Promise<EvalPath> {
  const stack = new AsyncDisposableStack();
  try {
    const env = stack.use(
      await nodeEnv({
        NODE_ID: "eval",
        // The evaluation sends a few thousand requests a minute from one key.
        RATE_LIMIT_PER_KEY: "1000000",
        RATE_LIMIT_PER_IP: "1000000",
        // The configured models, as `deno task start` would read them.
        ...Object.fromEntries(
          Object.entries(Deno.env.toObject()).filter(([k]) => /^(?:OLLAMA|OPENAI)_/.test(k)),
        ),
      }),
    );
    const db = env.db;
    const { token } = await env.signup(`eval-${crypto.randomUUID().slice(0, 8)}@example.test`);
    const call = async (method: string, path: string, body?: unknown) => {
      const res = await env.call(method, `/v1${path}`, { token, body });
      if (res.status >= 300) throw new Error(`${method} ${path}: ${res.status} ${res.text}`);
      return res.text;
    };
    const kb = JSON.parse(await call("POST", "/knowledge-bases", { name: "Coaching" })).id;
    const files = new Map<string, string>();
    for (const f of await coachingKb()) {
      const form = new FormData();
      form.append("file", new File([f.bytes], f.filename, { type: f.mimeType }));
      const doc = JSON.parse(await call("POST", `/knowledge-bases/${kb}/documents`, form));
      files.set(doc.id, f.filename);
    }
    for (const [id, filename] of files) {
      await eventually(async () => {
        const d = JSON.parse(await call("GET", `/documents/${id}`));
        if (d.status === "failed") throw new Error(`${filename}: ingestion failed: ${d.error}`);
        return d.status === "ready";
      }, { timeoutMs: 120_000, what: `${filename} ready` });
    }
    const moved = stack.move();
    return {
      name: "api",
      chunks: await chunkMap(db.pool, files),
      search: async (query) =>
        JSON.parse(await call("POST", `/knowledge-bases/${kb}/search`, { query, k: 5 })).results
          .map((r: Hit) => ({ chunkId: r.chunkId, documentId: r.documentId })),
      chat: async (message, history) => {
        const started = performance.now();
        const lines = (await call("POST", "/preview/chat", { message, history })).trim().split("\n")
          .map((l) => JSON.parse(l));
        const ms = performance.now() - started;
        const retrieval = lines.find((l) => l.type === "retrieval");
        const last = lines.at(-1);
        if (last?.type !== "final") throw new Error(`preview chat: ${JSON.stringify(last)}`);
        return {
          retrieved: (retrieval?.passages ?? []).map((p: Hit) => ({
            chunkId: p.chunkId,
            documentId: p.documentId,
          })),
          result: last.result,
          ms,
        };
      },
      [Symbol.asyncDispose]: () => moved.disposeAsync(),
    };
  } catch (err) {
    await stack.disposeAsync();
    throw err;
  }
}
