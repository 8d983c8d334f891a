/**
 * A throw-away environment for the eval and the benchmark: a fresh Postgres schema with the
 * migrations, Chroma (CHROMA_URL, else TEST_CHROMA_URL, else one started in a temp folder) and
 * the knowledge services with the configured or default models.
 */
import pg from "pg";
import { migrate } from "../db/migrate.ts";
import { startLocalChroma } from "../app/infra/chroma.ts";
import { chromaClient } from "../knowledge/store/vector_store.ts";
import { createKnowledge, type Knowledge } from "../knowledge/services.ts";

export interface Scratch extends AsyncDisposable {
  pool: pg.Pool;
  knowledge: Knowledge;
}

export async function openScratch(
  { log = () => {} }: { log?: (line: string) => void } = {},
): Promise<Scratch> {
  const stack = new AsyncDisposableStack();
  try {
    const base = Deno.env.get("DATABASE_URL") ?? Deno.env.get("TEST_DATABASE_URL") ??
      "postgres://postgres@127.0.0.1:5432/test";
    const schema = `scratch_${crypto.randomUUID().replaceAll("-", "").slice(0, 10)}`;
    const admin = new pg.Client({ connectionString: base });
    await admin.connect();
    await admin.query(`create schema ${schema}`);
    await admin.end();
    stack.defer(async () => {
      const c = new pg.Client({ connectionString: base });
      await c.connect();
      await c.query(`drop schema ${schema} cascade`);
      await c.end();
    });
    const url = new URL(base);
    url.searchParams.set("options", `-c search_path=${schema}`);
    const pool = new pg.Pool({ connectionString: url.toString(), max: 8 });
    stack.defer(() => pool.end());
    await migrate(pool);
    let chromaUrl = Deno.env.get("CHROMA_URL") ?? Deno.env.get("TEST_CHROMA_URL");
    if (!chromaUrl) {
      const dir = await Deno.makeTempDir({ prefix: "coachd-scratch-chroma" });
      stack.defer(() => Deno.remove(dir, { recursive: true }));
      const port = 18500 + Math.floor(Math.random() * 400);
      chromaUrl = stack.use(await startLocalChroma({ dataDir: dir, port, log })).url;
    }
    const chroma = chromaClient(chromaUrl);
    const prefix = schema;
    const ollamaHost = Deno.env.get("OLLAMA_HOST");
    const openaiBaseUrl = Deno.env.get("OPENAI_BASE_URL");
    const knowledge = await createKnowledge({
      pool,
      chroma,
      prefix,
      vectorCacheDir: `${Deno.env.get("DATA_DIR") ?? ".data"}/vectors`,
      ollama: ollamaHost
        ? {
          host: ollamaHost,
          chatModel: Deno.env.get("OLLAMA_CHAT_MODEL") ?? "llama3.1:8b",
          embedModel: Deno.env.get("OLLAMA_EMBED_MODEL") ?? "nomic-embed-text",
        }
        : undefined,
      openai: openaiBaseUrl
        ? {
          baseUrl: openaiBaseUrl,
          apiKey: Deno.env.get("OPENAI_API_KEY"),
          chatModel: Deno.env.get("OPENAI_CHAT_MODEL") ?? "gpt-4o-mini",
          embedModel: Deno.env.get("OPENAI_EMBED_MODEL") ?? "text-embedding-3-small",
        }
        : undefined,
    });
    stack.defer(async () => {
      for (const c of await chroma.listCollections({ limit: 10_000 })) {
        if (c.name.startsWith(knowledge.store.namePrefix)) {
          await chroma.deleteCollection({ name: c.name }).catch(() => {});
        }
      }
    });
    const moved = stack.move();
    return { pool, knowledge, [Symbol.asyncDispose]: () => moved.disposeAsync() };
  } catch (err) {
    await stack.disposeAsync();
    throw err;
  }
}
