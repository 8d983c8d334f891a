import { createMiddleware } from "hono/factory";
import { withSystem } from "../../app/db/tenant.ts";
import { type Role, sha256Hex } from "../auth/credentials.ts";
import type { ApiEnv, AuthContext } from "../env.ts";
import { ForbiddenError, UnauthorizedError } from "../errors.ts";

/** API keys start with this, so the middleware tells them from JWTs without trying both. */
export const API_KEY_PREFIX = "ck_";
const TOUCH_EVERY_MS = 60_000;

/** Requires `Authorization: Bearer <JWT or API key>` and sets `c.get("auth")`. */
export const authenticate = createMiddleware<ApiEnv>(async (c, next) => {
  const header = c.req.header("authorization");
  const match = header?.match(/^Bearer\s+(\S+)$/i);
  if (!match) throw new UnauthorizedError();
  const token = match[1]!;
  const services = c.get("services");
  let auth: AuthContext | null;
  if (token.startsWith(API_KEY_PREFIX)) {
    auth = await lookupApiKey(c.get("services").pool, token);
  } else {
    const claims = await services.tokens.verify(token);
    auth = claims && {
      creatorId: claims.creatorId,
      role: claims.role,
      subject: claims.memberId,
      kind: "jwt",
    };
  }
  if (!auth) {
    throw new UnauthorizedError("The bearer token or API key is invalid, expired or revoked");
  }
  c.set("auth", auth);
  await next();
});

async function lookupApiKey(pool: import("pg").Pool, key: string): Promise<AuthContext | null> {
  const keyHash = await sha256Hex(key);
  return await withSystem(pool, async (client) => {
    const { rows: [row] } = await client.query<{
      id: string;
      creator_id: string;
      role: Role;
      last_used_at: Date | null;
    }>(
      "select id, creator_id, role, last_used_at from api_keys where key_sha256 = $1 and revoked_at is null",
      [keyHash],
    );
    if (!row) return null;
    // Recording every use would turn each read into a write; once a minute is precise enough.
    if (!row.last_used_at || Date.now() - row.last_used_at.getTime() > TOUCH_EVERY_MS) {
      await client.query("update api_keys set last_used_at = now() where id = $1", [row.id]);
    }
    return { creatorId: row.creator_id, role: row.role, subject: row.id, kind: "api_key" };
  });
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
