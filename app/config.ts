import { z } from "zod";

/** Everything a node reads from its environment, resolved once in the entry point. */
export const Config = z.object({
  /** Postgres URL; when absent the node starts an embedded Postgres under `dataDir`. */
  DATABASE_URL: z.string().url().optional(),
  /** NATS URL; when absent the node starts `nats-server -js` from PATH under `dataDir`. */
  NATS_URL: z.string().optional(),
  DATA_DIR: z.string().default(".data"),
  PORT: z.coerce.number().int().min(0).max(65535).default(8080),
  HOST: z.string().default("0.0.0.0"),
  NODE_ID: z.string().regex(/^[A-Za-z0-9_-]+$/, "letters, digits, _ and - only").optional(),
  /** Subject/stream prefix: lets several clusters (or tests) share one NATS. */
  NATS_PREFIX: z.string().regex(/^[A-Za-z0-9_-]+$/).default("coachd"),
  PARTITIONS: z.coerce.number().int().min(1).max(4096).default(64),
  STREAM_REPLICAS: z.coerce.number().int().min(1).max(5).default(1),
  EMBEDDED_PG_PORT: z.coerce.number().int().default(15432),
  EMBEDDED_NATS_PORT: z.coerce.number().int().default(14222),
  /** Chroma URL; when absent the node starts the `chromadb` package's server under `dataDir`. */
  CHROMA_URL: z.string().url().optional(),
  EMBEDDED_CHROMA_PORT: z.coerce.number().int().default(18400),
  /** Ollama URL; when absent the embedded default models (word vectors, extractive) are used. */
  OLLAMA_HOST: z.string().url().optional(),
  OLLAMA_CHAT_MODEL: z.string().default("llama3.1:8b"),
  OLLAMA_EMBED_MODEL: z.string().default("nomic-embed-text"),
  /** An OpenAI-compatible server (llama.cpp, vLLM, LM Studio); takes precedence over Ollama. */
  OPENAI_BASE_URL: z.string().url().optional(),
  OPENAI_API_KEY: z.string().optional(),
  OPENAI_CHAT_MODEL: z.string().default("gpt-4o-mini"),
  OPENAI_EMBED_MODEL: z.string().default("text-embedding-3-small"),
  LOG_LEVEL: z.enum(["debug", "info", "warn", "error"]).default("info"),
  /** HS256 key for admin API access tokens; when absent one is generated under `DATA_DIR`. */
  JWT_SECRET: z.string().min(32, "at least 32 characters").optional(),
  /** Base64 of 32 bytes: AES-256-GCM key for channel secrets; generated under `DATA_DIR` if absent. */
  SECRETS_KEY: z.string().regex(/^[A-Za-z0-9+/]{43}=$/, "base64 of exactly 32 bytes").optional(),
  /** Comma-separated origins allowed to call the admin API from a browser (`*` for any). */
  CORS_ORIGINS: z.string().default("").transform((v) =>
    v.split(",").map((o) => o.trim()).filter(Boolean)
  ),
  RATE_LIMIT_PER_KEY: z.coerce.number().int().min(1).default(600),
  RATE_LIMIT_PER_IP: z.coerce.number().int().min(1).default(1200),
  RATE_LIMIT_WINDOW_MS: z.coerce.number().int().min(1000).default(60_000),
  MAX_UPLOAD_BYTES: z.coerce.number().int().min(1024).default(10 * 1024 * 1024),
  /** Take client IPs from X-Forwarded-For (set only behind a proxy that overwrites it). */
  TRUST_PROXY: z.enum(["true", "false"]).default("false").transform((v) => v === "true"),
});
export type Config = z.infer<typeof Config>;

/** Parses the environment into a typed config; throws with every failing variable named. */
export function loadConfig(env: Record<string, string | undefined>): Config {
  const parsed = Config.safeParse(env);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  ${i.path.join(".")}: ${i.message}`);
    throw new ConfigError(`Invalid configuration:\n${lines.join("\n")}`);
  }
  return parsed.data;
}

export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ConfigError";
  }
}
