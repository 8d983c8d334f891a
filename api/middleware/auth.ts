import { createMiddleware } from "hono/factory";
import type pg from "pg";
import { type Role, sha256Hex } from "../auth/credentials.ts";
import type { ApiEnv, AuthContext } from "../env.ts";
import { ForbiddenError, RateLimitedError, UnauthorizedError } from "../errors.ts";
import { clientIp, hit } from "./rate_limit.ts";
import { ACCESS_TOKEN_PREFIX, oauthCredentials } from "../routes/oauth_model.ts";

/** API keys start with this, so the middleware tells them from JWTs without trying both. */
export const API_KEY_PREFIX = "ck_";

/**
 * Requires `Authorization: Bearer <JWT or API key>` and sets `c.get("auth")`. An access token
 * counts only while its session is live, with the member's current role (not the one it was
 * signed with). A request without valid credentials counts against its address's rate limit
 * (those with them count against their key's only, see `rateLimit`).
 */
export const authenticate = createMiddleware<ApiEnv>(async (c, next) => {
  const header = c.req.header("authorization");
  const token = header?.match(/^Bearer\s+(\S+)$/i)?.[1];
  const auth = token ? await credentialsOf(c.get("services"), token) : null;
  if (!auth) {
    const { pool, rateLimit: o } = c.get("services");
    const w = await hit(pool, `ip:${clientIp(c)}`, o.windowMs);
    if (w.count > o.perIp) throw new RateLimitedError(Math.ceil(w.resetMs / 1000), "address");
    throw token
      ? new UnauthorizedError("The bearer token or API key is invalid, expired or revoked")
      : new UnauthorizedError();
  }
  c.set("auth", auth);
  await next();
});

async function credentialsOf(
  services: ApiEnv["Variables"]["services"],
  token: string,
): Promise<AuthContext | null> {
  if (token.startsWith(API_KEY_PREFIX)) return await lookupApiKey(services.pool, token);
  if (token.startsWith(ACCESS_TOKEN_PREFIX)) return await oauthCredentials(services.pool, token);
  const claims = await services.tokens.verify(token);
  if (!claims) return null;
  const member = await services.sessions.member(claims.sessionId, claims.memberId);
  if (!member || member.creatorId !== claims.creatorId) return null;
  return { creatorId: member.creatorId, role: member.role, subject: member.memberId, kind: "jwt" };
}

async function lookupApiKey(pool: pg.Pool, key: string): Promise<AuthContext | null> {
  // One round trip: the lookup, and a last-used stamp at most once a minute (recording every
  // use would turn each read into a write).
  const { rows: [row] } = await pool.query<{ id: string; creator_id: string; role: Role }>(
    `with k as (
       select id, creator_id, role, last_used_at from api_keys
       where key_sha256 = $1 and revoked_at is null),
     touched as (
       update api_keys set last_used_at = now()
       where id in (select id from k where last_used_at is null
                      or last_used_at < now() - interval '1 minute'))
     select id, creator_id, role from k`,
    [await sha256Hex(key)],
  );
  return row
    ? { creatorId: row.creator_id, role: row.role, subject: row.id, kind: "api_key" }
    : null;
}

/** Lets the request through only when the caller's role is one of `roles`; otherwise 403. */
export function requireRole(...roles: Role[]) {
  return createMiddleware<ApiEnv>(async (c, next) => {
    const auth = c.get("auth");
    if (!auth) throw new UnauthorizedError();
    if (!roles.includes(auth.role)) {
      throw new ForbiddenError(
        `This action needs one of the roles ${roles.join(", ")}; you are ${auth.role}`,
      );
    }
    await next();
  });
}
