import { z } from "zod";
import { DEFAULT_LIMITS } from "../knowledge/mod.ts";

/** Everything a node reads from its environment, resolved once in the entry point. */
export const Config = z.object({
  /**
   * The node's Postgres URL (role `coachd_system`: the runtime and what precedes or spans
   * tenants); when absent the node starts an embedded Postgres under `DATA_DIR`.
   */
  DATABASE_URL: z.string().url().optional(),
  /** Tenant transactions' URL (role `coachd_app`, under row-level security); see docs/operations.md. */
  DATABASE_TENANT_URL: z.string().url().optional(),
  /** The schema owner's URL: migrations and the login roles' passwords; else DATABASE_URL. */
  DATABASE_ADMIN_URL: z.string().url().optional(),
  /**
   * NATS URL(s), comma-separated, credentials allowed (`nats://user:pass@host:4222`); when absent
   * the node starts `nats-server` from PATH under `DATA_DIR`, with generated credentials.
   */
  NATS_URL: z.string().optional(),
  NATS_USER: z.string().min(1).optional(),
  NATS_PASSWORD: z.string().min(1).optional(),
  /** A NATS credentials file (JWT and NKey seed, as `nsc` writes them). */
  NATS_CREDS: z.string().min(1).optional(),
  DATA_DIR: z.string().default(".data"),
  PORT: z.coerce.number().int().min(0).max(65535).default(8080),
  HOST: z.string().default("0.0.0.0"),
  NODE_ID: z.string().regex(/^[A-Za-z0-9_-]+$/, "letters, digits, _ and - only").optional(),
  /** Subject/stream prefix: lets several clusters (or tests) share one NATS. */
  NATS_PREFIX: z.string().regex(/^[A-Za-z0-9_-]+$/).default("coachd"),
  PARTITIONS: z.coerce.number().int().min(1).max(4096).default(64),
  STREAM_REPLICAS: z.coerce.number().int().min(1).max(5).default(1),
  EMBEDDED_PG_PORT: z.coerce.number().int().default(15432),
  /** Started as root, the embedded Postgres keeps here what the `postgres` user must reach. */
  EMBEDDED_PG_ROOT_HOME: z.string().min(1).default("/var/lib/coachd"),
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
  /** Sentry (or a Sentry-compatible ingest such as GlitchTip): errors and failed turns, scrubbed. */
  SENTRY_DSN: z.string().url().optional(),
  SENTRY_ENVIRONMENT: z.string().default("production"),
  SENTRY_RELEASE: z.string().optional(),
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
  /**
   * What this node does, comma-separated: `http` (admin API and webhooks), `actors` (hosts actor
   * partitions), `workers` (deliveries, ingestion, indexing, projections). Default: all three.
   * A node without `actors` still sends to actors; one without `workers` leaves the queues to
   * the others. Every node serves health and metrics.
   */
  NODE_ROLES: z.string().default("http,actors,workers").transform((v, ctx) => {
    const roles = new Set(v.split(",").map((r) => r.trim()).filter(Boolean));
    for (const r of roles) {
      if (!["http", "actors", "workers"].includes(r)) {
        ctx.addIssue({ code: "custom", message: `unknown role "${r}" (http, actors, workers)` });
      }
    }
    return roles as Set<"http" | "actors" | "workers">;
  }),
  /** Deadline of one call to an external provider (model server, Telegram, WhatsApp…). */
  PROVIDER_TIMEOUT_MS: z.coerce.number().int().min(100).default(10_000),
  /** Consecutive failures of a provider that open its circuit breaker. */
  PROVIDER_BREAKER_FAILURES: z.coerce.number().int().min(1).default(5),
  /** How long an open breaker refuses calls before letting a trial through. */
  PROVIDER_BREAKER_HALF_OPEN_MS: z.coerce.number().int().min(100).default(30_000),
  /** Telegram Bot API base URL (a loopback fake in tests). */
  TELEGRAM_API_URL: z.string().url().default("https://api.telegram.org"),
  /** WhatsApp Cloud API (Graph API) base URL and version. */
  WHATSAPP_API_URL: z.string().url().default("https://graph.facebook.com"),
  WHATSAPP_GRAPH_VERSION: z.string().regex(/^v\d+\.\d+$/, "like v23.0").default("v23.0"),
  /**
   * The node's public base URL (https://coach.example.com), used to register webhooks; unset:
   * Telegram bots connect by long polling, and WhatsApp cannot be connected.
   */
  PUBLIC_URL: z.string().url().optional(),
  /** Messages from one person within this window get one answer (burst debounce). */
  INBOUND_DEBOUNCE_MS: z.coerce.number().int().min(0).max(60_000).default(1500),
  /** What an uploaded document may unpack to (knowledge/ingest/limits.ts). */
  INGEST_MAX_UNPACKED_BYTES: z.coerce.number().int().min(1024).default(
    DEFAULT_LIMITS.maxUnpackedBytes,
  ),
  INGEST_MAX_COMPRESSION_RATIO: z.coerce.number().min(1).default(
    DEFAULT_LIMITS.maxCompressionRatio,
  ),
  INGEST_MAX_ZIP_ENTRIES: z.coerce.number().int().min(1).default(DEFAULT_LIMITS.maxZipEntries),
  INGEST_MAX_PAGES: z.coerce.number().int().min(1).default(DEFAULT_LIMITS.maxPages),
  INGEST_MAX_PARAGRAPHS: z.coerce.number().int().min(1).default(DEFAULT_LIMITS.maxParagraphs),
  INGEST_MAX_TEXT_CHARS: z.coerce.number().int().min(1).default(DEFAULT_LIMITS.maxTextChars),
  INGEST_MAX_CHUNKS: z.coerce.number().int().min(1).default(DEFAULT_LIMITS.maxChunks),
  /** Extractor processes per node, each reading one document at a time within its ceilings. */
  INGEST_EXTRACTORS: z.coerce.number().int().min(1).max(64).default(1),
  INGEST_EXTRACTOR_MEMORY_MB: z.coerce.number().int().min(128).default(512),
  INGEST_EXTRACTOR_TIMEOUT_MS: z.coerce.number().int().min(1000).default(60_000),
  /** Take client IPs from X-Forwarded-For (set only behind a proxy that overwrites it). */
  TRUST_PROXY: z.enum(["true", "false"]).default("false").transform((v) => v === "true"),
  /** Send Strict-Transport-Security: set when clients reach the node over HTTPS only. */
  HSTS: z.enum(["true", "false"]).default("false").transform((v) => v === "true"),
  /** Serve /metrics on this port (on HOST) instead of the main one; unset: on the main port. */
  METRICS_PORT: z.coerce.number().int().min(0).max(65535).optional(),
  /** When set, /metrics needs `Authorization: Bearer <METRICS_TOKEN>`. */
  METRICS_TOKEN: z.string().min(16, "at least 16 characters").optional(),
  /** How long a node trusts a session check before asking Postgres again. */
  SESSION_CACHE_MS: z.coerce.number().int().min(0).max(60_000).default(5_000),
  /** Where account notices (sign-up confirmations) go while there is no e-mail sender. */
  MAIL_DROP_DIR: z.string().optional(),
  /** Lifetime of an end user's app access token (refreshed with the refresh token). */
  APP_ACCESS_TOKEN_TTL_SECONDS: z.coerce.number().int().min(60).max(86_400).default(3600),
  APP_REFRESH_TOKEN_TTL_SECONDS: z.coerce.number().int().min(3600).default(90 * 86_400),
  /** FCM HTTP v1: the service account key file's JSON (unset: no Android push). */
  FCM_SERVICE_ACCOUNT: z.string().min(2).optional(),
  FCM_API_URL: z.string().url().default("https://fcm.googleapis.com"),
  /** Overrides the service account's token_uri (OAuth2 token endpoint). */
  FCM_TOKEN_URL: z.string().url().optional(),
  /** APNs: the .p8 key (PEM), its key id, the team id and the app's bundle id (unset: no iOS push). */
  APNS_KEY: z.string().min(1).optional(),
  APNS_KEY_ID: z.string().min(1).optional(),
  APNS_TEAM_ID: z.string().min(1).optional(),
  APNS_TOPIC: z.string().min(1).optional(),
  /** https://api.push.apple.com, or https://api.sandbox.push.apple.com for development builds. */
  APNS_API_URL: z.string().url().default("https://api.push.apple.com"),
  /** A PEM file of extra CAs to trust for APNS_API_URL (a test server). */
  APNS_CA_FILE: z.string().min(1).optional(),
  /** Web Push VAPID keys (`npx web-push generate-vapid-keys`) and contact (unset: no Web Push). */
  VAPID_PUBLIC_KEY: z.string().min(1).optional(),
  VAPID_PRIVATE_KEY: z.string().min(1).optional(),
  VAPID_SUBJECT: z.string().regex(/^(mailto:|https:\/\/)/, "mailto: or https://").optional(),
  /** Ms between the streamed pieces of an answer on a widget socket (0: whole messages). */
  WIDGET_STREAM_CHUNK_MS: z.coerce.number().int().min(0).max(1000).default(30),
  /** Widget messages per visitor, per key, and new sessions per address, per window. */
  WIDGET_MESSAGES_PER_VISITOR: z.coerce.number().int().min(1).default(30),
  WIDGET_MESSAGES_PER_KEY: z.coerce.number().int().min(1).default(3000),
  WIDGET_SESSIONS_PER_IP: z.coerce.number().int().min(1).default(60),
  WIDGET_RATE_WINDOW_MS: z.coerce.number().int().min(1000).default(60_000),
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
