// deno-lint-ignore-file no-console -- entry point: talks to the terminal
/**
 * `deno task reindex`: rebuilds every creator's Chroma collections from Postgres with the node's
 * own configuration (DATABASE_URL, CHROMA_URL, NATS_PREFIX, the model settings; the embedded
 * Postgres and Chroma under DATA_DIR when those are not set). Prints one progress line per
 * document and a summary.
 */
import pg from "pg";
import { resolve } from "node:path";
import { ConfigError, loadConfig } from "../../app/config.ts";
import { startInfra } from "../../app/node.ts";
import { jsonLogger } from "../../runtime/mod.ts";
import { chromaClient, createKnowledge } from "../../knowledge/mod.ts";
import { reindexAll } from "./reindex.ts";

let config;
try {
  config = loadConfig(Deno.env.toObject());
} catch (err) {
  if (!(err instanceof ConfigError)) throw err;
  console.error(err.message);
  Deno.exit(2);
}
const log = jsonLogger(config.LOG_LEVEL === "info" ? "warn" : config.LOG_LEVEL, {
  app: "coachd-reindex",
});
await using infra = await startInfra(config, log, { parts: ["Postgres", "Chroma"] });
const pool = new pg.Pool({ connectionString: infra.databaseUrl, max: 4 });
try {
  const knowledge = await createKnowledge({
    pool,
    chroma: chromaClient(infra.chromaUrl),
    prefix: config.NATS_PREFIX,
    vectorCacheDir: resolve(config.DATA_DIR, "vectors"),
    ollama: config.OLLAMA_HOST
      ? {
        host: config.OLLAMA_HOST,
        chatModel: config.OLLAMA_CHAT_MODEL,
        embedModel: config.OLLAMA_EMBED_MODEL,
      }
      : undefined,
    openai: config.OPENAI_BASE_URL
      ? {
        baseUrl: config.OPENAI_BASE_URL,
        apiKey: config.OPENAI_API_KEY,
        chatModel: config.OPENAI_CHAT_MODEL,
        embedModel: config.OPENAI_EMBED_MODEL,
      }
      : undefined,
    log,
  });
  console.log(`reindexing with embedder ${knowledge.embedder.id} into ${infra.chromaUrl}`);
  const report = await reindexAll({
    pool,
    store: knowledge.store,
    embedder: knowledge.embedder,
    onProgress: (p) => console.log(`creator ${p.creatorId}: ${p.kind} ${p.done}/${p.total}`),
  });
  console.log(
    `reindexed ${report.creators} creator(s): ${report.documents} document(s), ` +
      `${report.chunks} chunk(s), ${report.profiles} profile(s) in ${report.ms} ms`,
  );
} finally {
  await pool.end();
}
