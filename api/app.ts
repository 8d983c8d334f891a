/**
 * The creator REST admin API, mounted at `/v1`. `createApi()` builds it from its dependencies;
 * `extensions` let other modules add routes that get the same authentication, errors, rate
 * limits and OpenAPI documentation.
 * @module
 */
import { validationHook } from "./lib/validation_hook.ts";
import { OpenAPIHono } from "@hono/zod-openapi";
import { cors } from "hono/cors";
import type pg from "pg";
import { jsonLogger, type Logger } from "../runtime/mod.ts";
import { AccessTokens } from "./auth/credentials.ts";
import { DEFAULT_LOGIN_THROTTLE, type LoginThrottleOptions } from "./auth/login_throttle.ts";
import { type AccountMailer, undeliveredMailer } from "./auth/notices.ts";
import { type AuthEvents, localAuthEvents, SessionCache } from "./auth/sessions.ts";
import type {
  ActorMessenger,
  ApiEnv,
  ApiServices,
  AuthContext,
  ChannelConnector,
  Ingestion,
  RateLimitOptions,
} from "./env.ts";
import { ApiError, errorHandler } from "./errors.ts";
import { authenticate, requireRole } from "./middleware/auth.ts";
import { idempotency } from "./middleware/idempotency.ts";
import { rateLimit } from "./middleware/rate_limit.ts";
import { requestContext } from "./middleware/request_context.ts";
import { securityHeaders } from "./middleware/security_headers.ts";
import { validateResponses } from "./middleware/validate_responses.ts";
import { registerDocs } from "./docs.ts";
import { SecretBox } from "../db/secrets.ts";
import { limitBody } from "./lib/uploads.ts";
import { registerAuth } from "./routes/auth.ts";
import { registerMembers } from "./routes/members.ts";
import { registerApiKeys } from "./routes/api_keys.ts";
import { registerKnowledgeBases } from "./routes/knowledge_bases.ts";
import { registerDocuments } from "./routes/documents.ts";
import { registerPrograms } from "./routes/programs.ts";
import { registerBadges } from "./routes/badges.ts";
import { registerChannels } from "./routes/channels.ts";
import { registerEndUsers } from "./routes/end_users.ts";
import { registerEnrollments } from "./routes/enrollments.ts";
import { registerConversations, registerHandoffInbox } from "./routes/conversations.ts";
import { registerDeliveries } from "./routes/deliveries.ts";
import { registerProactive } from "./routes/proactive.ts";
import { registerAuditLog } from "./routes/audit_log.ts";
import { registerBilling } from "./routes/billing.ts";
import { registerWebhooks } from "./routes/webhooks.ts";
import { registerOAuthClients } from "./routes/oauth_clients.ts";
import { registerGa4 } from "./routes/ga4.ts";
import type { Business } from "../business/mod.ts";
import { registerAnalytics } from "./routes/analytics.ts";
import { registerGraphql } from "./graphql/yoga.ts";
import { registerGraphiql } from "./graphql/graphiql.ts";
import { registerAnalyticsPage } from "./routes/analytics_page.ts";
import { Analytics } from "../analytics/mod.ts";

export type { ActorMessenger, ApiEnv, AuthContext, ChannelConnector, Ingestion, RateLimitOptions };
export { requireRole };
export type { Role } from "./auth/credentials.ts";

/** A function that registers extra routes on the API after authentication. */
export type ApiExtension = (app: OpenAPIHono<ApiEnv>) => void;

export interface ApiDeps {
  pool: pg.Pool;
  /** Where change notifications to actors go: an `ActorSystem` or `ActorClient`. */
  actors: ActorMessenger;
  ingestion: Ingestion;
  /** Called after a document is deleted (e.g. to drop its chunks and embeddings). */
  onDocumentDeleted?: (creatorId: string, documentId: string) => Promise<void>;
  /** Called after an end user is deleted (e.g. to drop their embeddings). */
  onEndUserDeleted?: (creatorId: string, endUserId: string) => Promise<void>;
  /** HS256 key for access tokens (32+ random bytes). */
  jwtSecret: Uint8Array;
  /** AES-256 key for channel secrets (32 bytes). */
  secretsKey: Uint8Array;
  log?: Logger;
  /** Allowed CORS origins; empty (the default) sends no CORS headers. `*` allows any. */
  corsOrigins?: string[];
  rateLimit?: Partial<RateLimitOptions>;
  maxUploadBytes?: number;
  /** Take the client IP from `X-Forwarded-For` (only behind a proxy that sets it). */
  trustProxy?: boolean;
  accessTokenTtlSeconds?: number;
  refreshTokenTtlSeconds?: number;
  /**
   * Where ended sessions are announced to every API instance: the node passes one over its NATS
   * connection; the default reaches only this process.
   */
  authEvents?: AuthEvents;
  /** How long a node trusts a session check without asking Postgres again (default 5 s). */
  sessionCacheMs?: number;
  /** Delivers sign-up confirmations and account notices (default: logged as undelivered). */
  mailer?: AccountMailer;
  loginThrottle?: Partial<LoginThrottleOptions>;
  /** Send `Strict-Transport-Security` (only when clients reach the node over HTTPS). */
  hsts?: boolean;
  /** Check every JSON response against its route's schema (tests turn this on). */
  validateResponses?: boolean;
  extensions?: ApiExtension[];
  /**
   * Routes with an authentication of their own (the end users' app API), registered before the
   * creators' credentials are required.
   */
  appRoutes?: ApiExtension[];
  /** Checks and registers channel connections with their providers. */
  channels?: ChannelConnector;
  /** Billing, plan limits, e-mail and outbound webhooks (business/). */
  business?: Business;
}

/**
 * The ingestion used when no worker is configured: the document stays `queued` (a worker started
 * later finds it by status) and a warning says so.
 */
export function queuedOnlyIngestion(log: Logger): Ingestion {
  return {
    enqueue(creatorId, documentId) {
      log.warn("no ingestion worker configured; document stays queued", {
        creator_id: creatorId,
        document_id: documentId,
      });
      return Promise.resolve();
    },
  };
}

export const DEFAULT_MAX_UPLOAD_BYTES = 10 * 1024 * 1024;

/**
 * Builds the admin API. Mount it with `root.route("/v1", createApi(deps))`.
 * @returns an `OpenAPIHono` whose document is served at `/openapi.json`, its reference at `/docs`
 */
export function createApi(deps: ApiDeps): OpenAPIHono<ApiEnv> {
  const log = deps.log ?? jsonLogger("info", { app: "coachd-api" });
  const analytics = new Analytics({ pool: deps.pool, secretsKey: deps.secretsKey });
  const services: ApiServices = {
    pool: deps.pool,
    actors: deps.actors,
    ingestion: deps.ingestion,
    onDocumentDeleted: deps.onDocumentDeleted,
    // An erased end user's analytics rows go with them.
    onEndUserDeleted: async (creatorId, endUserId) => {
      await analytics.erasePerson(creatorId, endUserId);
      await deps.onEndUserDeleted?.(creatorId, endUserId);
    },
    tokens: new AccessTokens(deps.jwtSecret, deps.accessTokenTtlSeconds ?? 900),
    secrets: new SecretBox(deps.secretsKey),
    log,
    rateLimit: { windowMs: 60_000, perKey: 600, perIp: 1200, ...deps.rateLimit },
    maxUploadBytes: deps.maxUploadBytes ?? DEFAULT_MAX_UPLOAD_BYTES,
    refreshTokenTtlSeconds: deps.refreshTokenTtlSeconds ?? 30 * 24 * 3600,
    trustProxy: deps.trustProxy ?? false,
    channels: deps.channels,
    business: deps.business,
    sessions: new SessionCache(
      deps.pool,
      deps.authEvents ?? localAuthEvents(),
      log,
      deps.sessionCacheMs ?? 5_000,
    ),
    mailer: deps.mailer ?? undeliveredMailer(log),
    loginThrottle: { ...DEFAULT_LOGIN_THROTTLE, ...deps.loginThrottle },
  };
  const app = new OpenAPIHono<ApiEnv>({
    // Every validated part of every request (extensions' routes too) passes through here.
    defaultHook: validationHook(),
  });
  app.onError(errorHandler(services.log));
  app.use("*", requestContext(services));
  app.use("*", securityHeaders({ hsts: deps.hsts }));
  if (deps.validateResponses) app.use("*", validateResponses(app));
  if (deps.corsOrigins?.length) {
    app.use(
      "*",
      cors({
        origin: deps.corsOrigins.includes("*") ? "*" : deps.corsOrigins,
        allowHeaders: ["Authorization", "Content-Type", "Idempotency-Key", "X-Request-Id"],
        exposeHeaders: [
          "X-Request-Id",
          "RateLimit-Limit",
          "RateLimit-Remaining",
          "RateLimit-Reset",
          "Idempotent-Replayed",
        ],
        maxAge: 600,
      }),
    );
  }
  app.openAPIRegistry.registerComponent("securitySchemes", "bearerAuth", {
    type: "http",
    scheme: "bearer",
    description: "An access token from /auth/login or an API key (ck_...)",
  });
  app.doc31("/openapi.json", {
    openapi: "3.1.0",
    info: { title: "Coachd admin API", version: "1.0.0" },
    servers: [{ url: "/v1" }],
  });
  registerDocs(app);

  // Public: sign-up, login, refresh, logout, all under /auth/ and limited per address. Everything
  // registered after `authenticate` needs credentials; a request without valid ones counts
  // against its address there, one with them against its key only.
  app.use("/auth/*", rateLimit("ip"));
  registerAuth(app);
  registerGraphiql(app);
  registerAnalyticsPage(app);
  for (const extend of deps.appRoutes ?? []) extend(app);
  app.use("*", authenticate);
  app.use("*", rateLimit("principal"));
  app.use("*", limitBody);
  app.use("*", idempotency);
  registerMembers(app);
  registerApiKeys(app);
  registerKnowledgeBases(app);
  registerDocuments(app);
  registerPrograms(app);
  registerBadges(app);
  registerChannels(app);
  registerEndUsers(app);
  registerEnrollments(app);
  registerConversations(app);
  registerHandoffInbox(app);
  registerDeliveries(app);
  registerProactive(app);
  registerAuditLog(app);
  registerBilling(app);
  registerWebhooks(app);
  registerOAuthClients(app);
  registerGa4(app);
  registerAnalytics(app, analytics);
  registerGraphql(app, analytics);
  for (const extend of deps.extensions ?? []) extend(app);
  // Last: anything unmatched under /v1 is a problem document too, not the root's plain 404.
  app.all("*", (c) => {
    throw new ApiError(404, "Not found", `No route ${c.req.method} ${c.req.path}`);
  });
  return app;
}
