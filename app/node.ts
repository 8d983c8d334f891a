import pg from "pg";
import { startNudgeRecords } from "../channels/core/nudge_records.ts";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { Hono } from "hono";
import type { Registry } from "prom-client";
import { resolve } from "node:path";
import type { Config } from "./config.ts";
import { migrate } from "../db/migrate.ts";
import { NodePool, SYSTEM_ROLE, TENANT_ROLE } from "../db/pools.ts";
import { provisionLoginRoles } from "../db/roles.ts";
import { startEmbeddedPostgres } from "./infra/embedded_postgres.ts";
import { startLocalNats } from "./infra/local_nats.ts";
import { startLocalChroma } from "./infra/chroma.ts";
import { ensurePrivateDir, loadOrCreatePassword } from "./infra/private_files.ts";
import { natsConnectOptions } from "./nats_connect.ts";
import { metricsRoutes, opsRoutes } from "./http.ts";
import { registerBreakerMetrics } from "./breaker_metrics.ts";
import { tracing } from "./tracing.ts";
import { ProviderBreakers } from "../knowledge/mod.ts";
import { ActorSystem, type AnyActorDefinition, type Logger } from "../runtime/mod.ts";
import { type ApiDeps, createApi, queuedOnlyIngestion } from "../api/app.ts";
import { loadOrCreateSecret } from "../db/secrets.ts";
import { natsAuthEvents } from "../api/auth/sessions.ts";
import { dropFolderMailer } from "../api/auth/notices.ts";
import { securityHeaders } from "../api/middleware/security_headers.ts";

/** What the node passes on to the admin API beyond what it builds itself. */
export type ApiOptions = Pick<
  ApiDeps,
  "ingestion" | "onDocumentDeleted" | "onEndUserDeleted" | "extensions" | "channels" | "appRoutes"
>;

export interface Infra extends AsyncDisposable {
  /** The node's pool (role coachd_system when embedded). */
  databaseUrl: string;
  /** Tenant transactions' pool (role coachd_app when embedded); absent: SET ROLE on the above. */
  tenantDatabaseUrl?: string;
  /** Migrations and role passwords (the embedded superuser); absent: databaseUrl. */
  adminDatabaseUrl?: string;
  natsUrl: string;
  chromaUrl: string;
  /** What this node runs itself, for the start summary. */
  embedded: EmbeddedPart[];
}

/** A service the node started itself. */
export interface EmbeddedPart {
  name: "Postgres" | "NATS" | "Chroma";
  address: string;
  data: string;
  note?: string;
}

/**
 * Uses DATABASE_URL / NATS_URL / CHROMA_URL when set; otherwise starts embedded Postgres, a local
 * NATS and the `chromadb` package's Chroma server, with their data (0700) and generated
 * credentials (0600) under DATA_DIR.
 */
export async function startInfra(
  config: Config,
  log: Logger,
  { parts = ["Postgres", "NATS", "Chroma"] }: { parts?: EmbeddedPart["name"][] } = {},
): Promise<Infra> {
  const stack = new AsyncDisposableStack();
  const embedded: EmbeddedPart[] = [];
  const dataDir = resolve(config.DATA_DIR);
  try {
    const wanted = (name: EmbeddedPart["name"], configured?: string) =>
      !configured && parts.includes(name);
    const configured = [config.DATABASE_URL, config.NATS_URL, config.CHROMA_URL];
    if ((["Postgres", "NATS", "Chroma"] as const).some((p, i) => wanted(p, configured[i]))) {
      await ensurePrivateDir(dataDir);
    }
    let databaseUrl = config.DATABASE_URL;
    let tenantDatabaseUrl = config.DATABASE_TENANT_URL;
    let adminDatabaseUrl = config.DATABASE_ADMIN_URL;
    if (wanted("Postgres", databaseUrl)) {
      const pgHandle = stack.use(
        await startEmbeddedPostgres({
          dataDir,
          port: config.EMBEDDED_PG_PORT,
          rootHome: config.EMBEDDED_PG_ROOT_HOME,
          log: (line) => log.info(line),
        }),
      );
      // The superuser only migrates and sets the passwords; the node logs in as its two roles.
      adminDatabaseUrl = pgHandle.url;
      const as = async (role: string, file: string) => {
        const url = new URL(pgHandle.url);
        url.username = role;
        url.password = await loadOrCreatePassword(dataDir, file);
        return url.toString();
      };
      databaseUrl = await as(SYSTEM_ROLE, "pg_system_password");
      tenantDatabaseUrl = await as(TENANT_ROLE, "pg_app_password");
      embedded.push({
        name: "Postgres",
        address: `127.0.0.1:${pgHandle.port}`,
        data: pgHandle.pgData,
        note: `runs as ${pgHandle.runsAs}; passwords in ${dataDir}/pg_*_password`,
      });
    }
    let natsUrl = config.NATS_URL;
    if (wanted("NATS", natsUrl)) {
      const natsHandle = stack.use(
        await startLocalNats({
          dataDir,
          port: config.EMBEDDED_NATS_PORT,
          prefix: config.NATS_PREFIX,
          log: (line) => log.info(line),
        }),
      );
      natsUrl = natsHandle.url;
      embedded.push({
        name: "NATS",
        address: `127.0.0.1:${natsHandle.port}`,
        data: resolve(dataDir, "nats"),
        note: `operator: nats context save coachd --server nats://127.0.0.1:${natsHandle.port} ` +
          `--user ${natsHandle.operator.user} ` +
          `--password "$(cat ${natsHandle.operator.passwordFile})"`,
      });
    }
    let chromaUrl = config.CHROMA_URL;
    if (wanted("Chroma", chromaUrl)) {
      const chromaHandle = stack.use(
        await startLocalChroma({
          dataDir,
          port: config.EMBEDDED_CHROMA_PORT,
          log: (line) => log.info(line),
        }),
      );
      chromaUrl = chromaHandle.url;
      embedded.push({
        name: "Chroma",
        address: `127.0.0.1:${config.EMBEDDED_CHROMA_PORT}`,
        data: resolve(dataDir, "chroma"),
      });
    }
    const moved = stack.move();
    return {
      // A part not asked for and not configured is not there: "" (only `migrate` does that).
      databaseUrl: databaseUrl ?? "",
      tenantDatabaseUrl,
      adminDatabaseUrl,
      natsUrl: natsUrl ?? "",
      chromaUrl: chromaUrl ?? "",
      embedded,
      [Symbol.asyncDispose]: () => moved.disposeAsync(),
    };
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
  env: {
    pool: pg.Pool;
    nc: NatsConnection;
    config: Config;
    log: Logger;
    /** The node's circuit breakers, one per external provider (shown by `/readyz`). */
    breakers: ProviderBreakers;
  },
) => Promise<NodeExtension>;

export interface NodeHandle extends AsyncDisposable {
  nodeId: string;
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
    tenantDatabaseUrl,
    adminDatabaseUrl,
    natsUrl,
    actors = [],
    log,
    routes,
    api = {},
    poolMax = 20,
    extensions = [],
  }: {
    config: Config;
    /** The node's pool; `coachd_system` in a least-privilege set-up. */
    databaseUrl: string;
    /** Where tenant transactions log in (`coachd_app`); absent: SET ROLE on databaseUrl. */
    tenantDatabaseUrl?: string;
    /** Runs the migrations and sets the node roles' passwords; absent: databaseUrl migrates. */
    adminDatabaseUrl?: string;
    /** NATS URL(s); credentials may be in them, or in config (NATS_USER, NATS_CREDS…). */
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
  if (adminDatabaseUrl) {
    const admin = new pg.Pool({ connectionString: adminDatabaseUrl, max: 1 });
    try {
      await migrateLogged(admin, log);
      await provisionLoginRoles(admin, [databaseUrl, tenantDatabaseUrl]);
    } finally {
      await admin.end();
    }
  }
  const pool = tenantDatabaseUrl
    ? new NodePool({
      system: { connectionString: databaseUrl, max: poolMax },
      tenant: { connectionString: tenantDatabaseUrl, max: poolMax },
    })
    : new pg.Pool({ connectionString: databaseUrl, max: poolMax });
  const onIdleError = (err: Error) =>
    log.warn("idle postgres client error", { error: String(err) });
  pool.on("error", onIdleError);
  if (pool instanceof NodePool) pool.tenant.on("error", onIdleError);
  // Without an owner's URL the node's own role migrates (it must own the schema to have work).
  if (!adminDatabaseUrl) await migrateLogged(pool, log);
  if (!tenantDatabaseUrl) await warnIfPrivileged(pool, log);
  const nc = await connect({
    ...(await natsConnectOptions(natsUrl, {
      user: config.NATS_USER,
      password: config.NATS_PASSWORD,
      credsFile: config.NATS_CREDS,
    })),
    name: `coachd-${config.NODE_ID ?? "node"}`,
  });
  const nodeId = config.NODE_ID ?? Deno.hostname().replace(/[^A-Za-z0-9_-]/g, "-");
  const extended: NodeExtension[] = [];
  const breakers = new ProviderBreakers({
    timeoutMs: config.PROVIDER_TIMEOUT_MS,
    failures: config.PROVIDER_BREAKER_FAILURES,
    halfOpenAfterMs: config.PROVIDER_BREAKER_HALF_OPEN_MS,
  });
  for (const factory of extensions) {
    extended.push(await factory({ pool, nc, config, log, breakers }));
  }
  const apiParts = [api, ...extended.map((e) => e.api ?? {})];
  const system = await ActorSystem.start({
    pool,
    nc,
    actors: [...actors, ...extended.flatMap((e) => e.actors ?? [])],
    nodeId,
    prefix: config.NATS_PREFIX,
    partitions: config.PARTITIONS,
    replicas: config.STREAM_REPLICAS,
    host: config.NODE_ROLES.has("actors"),
    log,
  });
  registerBreakerMetrics(breakers, system.metrics.registry);
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
      breakers,
      metrics: !ownMetricsPort,
      metricsToken: config.METRICS_TOKEN,
      registries,
    }),
  );
  const http = config.NODE_ROLES.has("http");
  if (http) {
    app.route(
      "/v1",
      createApi({
        pool,
        actors: system,
        ingestion: apiParts.find((p) => p.ingestion)?.ingestion ?? queuedOnlyIngestion(log),
        onDocumentDeleted: each(apiParts.map((p) => p.onDocumentDeleted)),
        onEndUserDeleted: each(apiParts.map((p) => p.onEndUserDeleted)),
        extensions: apiParts.flatMap((p) => p.extensions ?? []),
        appRoutes: apiParts.flatMap((p) => p.appRoutes ?? []),
        channels: apiParts.find((p) => p.channels)?.channels,
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
  }
  if (http) {
    routes?.(app, system, pool);
    for (const e of extended) e.routes?.(app, system);
  }
  const workers = new AsyncDisposableStack();
  if (config.NODE_ROLES.has("workers")) {
    for (const e of extended) if (e.start) workers.use(await e.start(system));
    workers.use(
      await startNudgeRecords({
        nc,
        pool,
        prefix: config.NATS_PREFIX,
        deadLetters: system.deadLetters,
        log,
      }),
    );
  }
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
    metricsApp.route(
      "/",
      metricsRoutes({ system, token: config.METRICS_TOKEN, registries }),
    );
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
  return {
    nodeId,
    system,
    pool,
    nc,
    app,
    server,
    metricsServer,
    stop,
    [Symbol.asyncDispose]: stop,
  };
}

async function migrateLogged(pool: pg.Pool, log: Logger) {
  const result = await migrate(pool);
  if (result.applied.length) log.info("migrations applied", { applied: result.applied });
}

/**
 * Tenant transactions on the node's own connections rely on SET ROLE: a node logged in as a
 * superuser or BYPASSRLS role can leave it. Fine for tests; say so in a deployment's logs.
 */
async function warnIfPrivileged(pool: pg.Pool, log: Logger) {
  const { rows: [me] } = await pool.query<{ name: string; privileged: boolean }>(
    "select rolname as name, rolsuper or rolbypassrls as privileged from pg_roles where rolname = current_user",
  );
  if (me?.privileged) {
    log.warn("tenant transactions share the node's privileged Postgres role", {
      role: me.name,
      fix: "set DATABASE_URL to role coachd_system and DATABASE_TENANT_URL to coachd_app " +
        "(docs/operations.md)",
    });
  }
}

/**
 * Ends the pool and waits (up to 2 s) for its connections to close: `end()` resolves once each
 * client was asked to end, so a Postgres stopped right after (the embedded one) would still find
 * them open and log their termination as errors.
 */
async function endPool(pool: pg.Pool): Promise<void> {
  const closedOne = (p: pg.Pool) => {
    const open = p.totalCount;
    let removed = 0;
    return new Promise<void>((resolve) => {
      if (open === 0) resolve();
      p.on("remove", () => ++removed >= open && resolve());
    });
  };
  const closed = Promise.all(
    [pool, ...(pool instanceof NodePool ? [pool.tenant] : [])].map(closedOne),
  );
  await pool.end(); // a NodePool ends its tenant pool too
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
