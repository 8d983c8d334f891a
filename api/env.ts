import type pg from "pg";
import type { ActorSystem, Logger } from "../runtime/mod.ts";
import type { AccessTokens, Role } from "./auth/credentials.ts";
import type { LoginThrottleOptions } from "./auth/login_throttle.ts";
import type { AccountMailer } from "./auth/notices.ts";
import type { SessionCache } from "./auth/sessions.ts";
import type { SecretBox } from "../db/secrets.ts";
import type { ChannelConnector } from "../channels/connect.ts";
import type { Business } from "../business/mod.ts";

export type { ChannelConnector };

/** Who is calling: set by the auth middleware, read with `c.get("auth")`. */
export interface AuthContext {
  creatorId: string;
  role: Role;
  /** Member id for a JWT, API key id for a key. */
  subject: string;
  kind: "jwt" | "api_key" | "oauth";
}

/** Queues a stored document for extraction, chunking and embedding (the knowledge issue). */
export interface Ingestion {
  enqueue(creatorId: string, documentId: string): Promise<void>;
}

/**
 * The part of `ActorSystem` the API uses to tell actors about changes: the message is written
 * in the change's own transaction (outbox) and published once it commits.
 */
export type ActorMessenger = Pick<ActorSystem, "tellWithin" | "publishOutbox">;

export interface RateLimitOptions {
  windowMs: number;
  /** Requests per window for one API key or one signed-in member. */
  perKey: number;
  /** Requests per window from one client IP, signed in or not. */
  perIp: number;
}

/** Everything route handlers need, resolved once by `createApi`. */
export interface ApiServices {
  pool: pg.Pool;
  actors: ActorMessenger;
  ingestion: Ingestion;
  onDocumentDeleted?: (creatorId: string, documentId: string) => Promise<void>;
  onEndUserDeleted?: (creatorId: string, endUserId: string) => Promise<void>;
  tokens: AccessTokens;
  secrets: SecretBox;
  log: Logger;
  rateLimit: RateLimitOptions;
  maxUploadBytes: number;
  refreshTokenTtlSeconds: number;
  trustProxy: boolean;
  sessions: SessionCache;
  mailer: AccountMailer;
  loginThrottle: LoginThrottleOptions;
  /** Absent: connections are stored without contacting any provider (tests of the API alone). */
  channels?: ChannelConnector;
  /** Billing, plan limits, e-mail and outbound webhooks; absent: no limits, billing answers 503. */
  business?: Business;
}

/** The Hono environment of every admin route, extensions included. */
export type ApiEnv = {
  Variables: {
    auth: AuthContext;
    requestId: string;
    services: ApiServices;
  };
};
