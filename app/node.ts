import pg from "pg";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { Hono } from "hono";
import type { Registry } from "prom-client";
import type { Config } from "./config.ts";
import { migrate } from "../db/migrate.ts";
import { startEmbeddedPostgres } from "./infra/embedded_postgres.ts";
import { startLocalNats } from "./infra/local_nats.ts";
import { startLocalChroma } from "./infra/chroma.ts";
import { metricsRoutes, opsRoutes } from "./http.ts";
import { tracing } from "./tracing.ts";
import { ActorSystem, type AnyActorDefinition, type Logger } from "../runtime/mod.ts";
import { type ApiDeps, createApi, queuedOnlyIngestion } from "../api/app.ts";
import { loadOrCreateSecret } from "../db/secrets.ts";
import { natsAuthEvents } from "../api/auth/sessions.ts";
import { dropFolderMailer } from "../api/auth/notices.ts";
import { securityHeaders } from "../api/middleware/security_headers.ts";

/** What the node passes on to the admin API beyond what it builds itself. */
export type ApiOptions = Pick<
  ApiDeps,
  "ingestion" | "onDocumentDeleted" | "onEndUserDeleted" | "extensions"
>;

export interface Infra extends AsyncDisposable {
  databaseUrl: string;
  natsUrl: string;
  chromaUrl: string;
}

/**
 * Uses DATABASE_URL / NATS_URL / CHROMA_URL when set; otherwise starts embedded Postgres, a local
 * NATS and the `chromadb` package's Chroma server.
 */
export async function startInfra(config: Config, log: Logger): Promise<Infra> {
  const stack = new AsyncDisposableStack();
  try {
    let databaseUrl = config.DATABASE_URL;
    if (!databaseUrl) {
      const pgHandle = stack.use(
        await startEmbeddedPostgres({
          dataDir: config.DATA_DIR,
          port: config.EMBEDDED_PG_PORT,
          log: (line) => log.info(line),
        }),
      );
      databaseUrl = pgHandle.url;
    }
    let natsUrl = config.NATS_URL;
    if (!natsUrl) {
      const natsHandle = stack.use(
        await startLocalNats({
          dataDir: config.DATA_DIR,
          port: config.EMBEDDED_NATS_PORT,
          log: (line) => log.info(line),
        }),
      );
      natsUrl = natsHandle.url;
    }
    let chromaUrl = config.CHROMA_URL;
    if (!chromaUrl) {
      const chromaHandle = stack.use(
        await startLocalChroma({
          dataDir: config.DATA_DIR,
          port: config.EMBEDDED_CHROMA_PORT,
          log: (line) => log.info(line),
        }),
      );
      chromaUrl = chromaHandle.url;
    }
    const moved = stack.move();
    return { databaseUrl, natsUrl, chromaUrl, [Symbol.asyncDispose]: () => moved.disposeAsync() };
  } catch (err) {
    await stack.disposeAsync();
    throw err;
  }
}

/**
 * What a feature adds to a node once Postgres and NATS are connected: actor types, HTTP routes
 * and background workers (started after the actor system, stopped before it).
 */
export interface NodeExtension {
  actors?: AnyActorDefinition[];
  routes?: (app: Hono, system: ActorSystem) => void;
  start?: (system: ActorSystem) => Promise<AsyncDisposable>;
  /** Prometheus metrics of the feature, served with the runtime's on `/metrics`. */
  metrics?: Registry;
  /** What the feature gives the admin API: ingestion, deletion hooks, routes under `/v1`. */
  api?: Partial<ApiOptions>;
}

export type NodeExtensionFactory = (
  env: { pool: pg.Pool; nc: NatsConnection; config: Config; log: Logger },
) => Promise<NodeExtension>;

export interface NodeHandle extends AsyncDisposable {
  system: ActorSystem;
  pool: pg.Pool;
  nc: NatsConnection;
  app: Hono;
  server: Deno.HttpServer;
  /** The `/metrics` listener when `METRICS_PORT` is set. */
  metricsServer?: Deno.HttpServer;
  /** Drains actors, then closes HTTP, NATS and Postgres. */
  stop(): Promise<void>;
}

/** Starts one node: migrations, the actor system with the given actors, and the HTTP server. */
export async function startNode(
  {
    config,
    databaseUrl,
    natsUrl,
    actors = [],
    log,
    routes,
    api = {},
    poolMax = 20,
    extensions = [],
  }: {
    config: Config;
    databaseUrl: string;
    natsUrl: string;
    actors?: AnyActorDefinition[];
    log: Logger;
    routes?: (app: Hono, system: ActorSystem, pool: pg.Pool) => void;
    /** Ingestion queue, deletion hooks and route extensions of the admin API at `/v1`. */
    api?: Partial<ApiOptions>;
    poolMax?: number;
    /** Features (knowledge, channels…) that add actors, routes, workers and API pieces. */
    extensions?: NodeExtensionFactory[];
  },
): Promise<NodeHandle> {
  const pool = new pg.Pool({ connectionString: databaseUrl, max: poolMax });
  pool.on("error", (err) => log.warn("idle postgres client error", { error: String(err) }));
  const result = await migrate(pool);
  if (result.applied.length) log.info("migrations applied", { applied: result.applied });
  const nc = await connect({ servers: natsUrl, name: `coachd-${config.NODE_ID ?? "node"}` });
  const nodeId = config.NODE_ID ?? Deno.hostname().replace(/[^A-Za-z0-9_-]/g, "-");
  const extended: NodeExtension[] = [];
  for (const factory of extensions) extended.push(await factory({ pool, nc, config, log }));
  const apiParts = [api, ...extended.map((e) => e.api ?? {})];
  const system = await ActorSystem.start({
    pool,
    nc,
    actors: [...actors, ...extended.flatMap((e) => e.actors ?? [])],
    nodeId,
    prefix: config.NATS_PREFIX,
    partitions: config.PARTITIONS,
    replicas: config.STREAM_REPLICAS,
    log,
  });
  const app = new Hono();
  app.use(tracing());
  app.use(securityHeaders({ hsts: config.HSTS }));
  const ownMetricsPort = config.METRICS_PORT !== undefined;
  const registries = extended.flatMap((e) => e.metrics ?? []);
  app.route(
    "/",
    opsRoutes({
      system,
      pool,
      metrics: !ownMetricsPort,
      metricsToken: config.METRICS_TOKEN,
      registries,
    }),
  );
  app.route(
    "/v1",
    createApi({
      pool,
      actors: system,
      ingestion: apiParts.find((p) => p.ingestion)?.ingestion ?? queuedOnlyIngestion(log),
      onDocumentDeleted: each(apiParts.map((p) => p.onDocumentDeleted)),
      onEndUserDeleted: each(apiParts.map((p) => p.onEndUserDeleted)),
      extensions: apiParts.flatMap((p) => p.extensions ?? []),
      jwtSecret: config.JWT_SECRET
        ? new TextEncoder().encode(config.JWT_SECRET)
        : await loadOrCreateSecret({ dataDir: config.DATA_DIR, name: "jwt_secret" }),
      secretsKey: await loadOrCreateSecret({
        configured: config.SECRETS_KEY,
        dataDir: config.DATA_DIR,
        name: "secrets_key",
      }),
      log: log.child({ component: "api" }),
      corsOrigins: config.CORS_ORIGINS,
      rateLimit: {
        perKey: config.RATE_LIMIT_PER_KEY,
        perIp: config.RATE_LIMIT_PER_IP,
        windowMs: config.RATE_LIMIT_WINDOW_MS,
      },
      maxUploadBytes: config.MAX_UPLOAD_BYTES,
      trustProxy: config.TRUST_PROXY,
      hsts: config.HSTS,
      authEvents: natsAuthEvents(nc, `${config.NATS_PREFIX}.auth.sessions`),
      sessionCacheMs: config.SESSION_CACHE_MS,
      mailer: dropFolderMailer(
        config.MAIL_DROP_DIR ?? `${config.DATA_DIR}/mail`,
        log.child({ component: "api" }),
      ),
    }),
  );
  routes?.(app, system, pool);
  for (const e of extended) e.routes?.(app, system);
  const workers = new AsyncDisposableStack();
  for (const e of extended) if (e.start) workers.use(await e.start(system));
  const server = Deno.serve({
    port: config.PORT,
    hostname: config.HOST,
    onListen: ({ hostname, port }) => {
      const base = `http://${hostname === "0.0.0.0" ? "localhost" : hostname}:${port}`;
      log.info("http listening", {
        url: base,
        api_docs: `${base}/v1/docs`,
        metrics: ownMetricsPort ? `port ${config.METRICS_PORT}` : `${base}/metrics`,
        node: nodeId,
      });
    },
  }, app.fetch);
  let metricsServer: Deno.HttpServer | undefined;
  if (ownMetricsPort) {
    const metricsApp = new Hono();
    metricsApp.use(securityHeaders());
    metricsApp.route("/", metricsRoutes({ system, token: config.METRICS_TOKEN, registries }));
    metricsServer = Deno.serve({
      port: config.METRICS_PORT,
      hostname: config.HOST,
      onListen: ({ hostname, port }) => log.info("metrics listening", { hostname, port }),
    }, metricsApp.fetch);
  }
  let stopping: Promise<void> | undefined;
  const stop = () =>
    stopping ??= (async () => {
      await workers.disposeAsync();
      await system.stop();
      await server.shutdown();
      await metricsServer?.shutdown();
      await nc.drain();
      await endPool(pool);
    })();
  return { system, pool, nc, app, server, metricsServer, stop, [Symbol.asyncDispose]: stop };
}

/**
 * Ends the pool and waits (up to 2 s) for its connections to close: `end()` resolves once each
 * client was asked to end, so a Postgres stopped right after (the embedded one) would still find
 * them open and log their termination as errors.
 */
async function endPool(pool: pg.Pool): Promise<void> {
  const open = pool.totalCount;
  let removed = 0;
  const closed = new Promise<void>((resolve) => {
    if (open === 0) resolve();
    pool.on("remove", () => ++removed >= open && resolve());
  });
  await pool.end();
  let timer: ReturnType<typeof setTimeout> | undefined;
  await Promise.race([closed, new Promise((r) => (timer = setTimeout(r, 2000)))]);
  clearTimeout(timer);
}

/** Calls every defined hook in turn, or is undefined when there is none. */
function each(
  hooks: (((creatorId: string, id: string) => Promise<void>) | undefined)[],
): ((creatorId: string, id: string) => Promise<void>) | undefined {
  const defined = hooks.filter((h) => h !== undefined);
  if (defined.length === 0) return undefined;
  return async (creatorId, id) => {
    for (const hook of defined) await hook(creatorId, id);
  };
}
