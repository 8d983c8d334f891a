import { createRoute, type OpenAPIHono, z } from "@hono/zod-openapi";
import type pg from "pg";
import { withSystem } from "../../db/tenant.ts";
import {
  DUMMY_HASH,
  hashPassword,
  randomToken,
  type Role,
  sha256Hex,
  verifyPassword,
} from "../auth/credentials.ts";
import type { ApiEnv, ApiServices } from "../env.ts";
import { ApiError, ConflictError } from "../errors.ts";
import { errorResponses, jsonBody, jsonResponse, problemResponse } from "../lib/route.ts";

export const Email = z.email().max(254).openapi({ example: "coach@example.com" });
export const Password = z.string().min(10, "must be at least 10 characters").max(200);

const Tokens = z.object({
  access_token: z.string(),
  token_type: z.literal("Bearer"),
  expires_in: z.number().int(),
  refresh_token: z.string(),
  creator_id: z.uuid(),
  member_id: z.uuid(),
  role: z.enum(["owner", "admin", "editor", "viewer"]),
}).openapi("Tokens");

const publicResponses = {
  400: errorResponses[400],
  401: errorResponses[401],
  422: errorResponses[422],
  429: errorResponses[429],
};

const signup = createRoute({
  method: "post",
  path: "/auth/signup",
  tags: ["auth"],
  summary: "Create a creator account and its owner",
  security: [],
  request: {
    body: jsonBody(z.strictObject({
      email: Email,
      password: Password,
      name: z.string().min(1).max(200),
      organization: z.string().max(200).optional(),
    })),
  },
  responses: {
    201: jsonResponse(Tokens, "The new account's tokens"),
    409: problemResponse("E-mail already registered"),
    ...publicResponses,
  },
});

const login = createRoute({
  method: "post",
  path: "/auth/login",
  tags: ["auth"],
  summary: "Exchange e-mail and password for tokens",
  security: [],
  request: { body: jsonBody(z.strictObject({ email: Email, password: z.string().max(200) })) },
  responses: { 200: jsonResponse(Tokens, "Tokens"), ...publicResponses },
});

const refresh = createRoute({
  method: "post",
  path: "/auth/refresh",
  tags: ["auth"],
  summary: "Rotate a refresh token for new tokens",
  security: [],
  request: { body: jsonBody(z.strictObject({ refresh_token: z.string().max(200) })) },
  responses: { 200: jsonResponse(Tokens, "Tokens"), ...publicResponses },
});

const logout = createRoute({
  method: "post",
  path: "/auth/logout",
  tags: ["auth"],
  summary: "Revoke a refresh token",
  security: [],
  request: { body: jsonBody(z.strictObject({ refresh_token: z.string().max(200) })) },
  responses: { 204: { description: "Revoked (or already unknown)" }, ...publicResponses },
});

interface Member {
  id: string;
  creator_id: string;
  role: Role;
}

async function issueTokens(client: pg.PoolClient, s: ApiServices, m: Member) {
  const refreshToken = randomToken("rt_");
  await client.query(
    `insert into refresh_tokens (creator_id, member_id, token_sha256, expires_at)
     values ($1, $2, $3, now() + make_interval(secs => $4))`,
    [m.creator_id, m.id, await sha256Hex(refreshToken), s.refreshTokenTtlSeconds],
  );
  return {
    access_token: await s.tokens.sign({ creatorId: m.creator_id, memberId: m.id, role: m.role }),
    token_type: "Bearer" as const,
    expires_in: s.tokens.ttlSeconds,
    refresh_token: refreshToken,
    creator_id: m.creator_id,
    member_id: m.id,
    role: m.role,
  };
}

const badLogin = () => new ApiError(401, "Unauthorized", "E-mail or password is wrong");

/** Sign-up, login, refresh and logout: the only routes without a bearer token. */
export function registerAuth(app: OpenAPIHono<ApiEnv>) {
  app.openapi(signup, async (c) => {
    const body = c.req.valid("json");
    const s = c.get("services");
    const passwordHash = await hashPassword(body.password);
    const tokens = await withSystem(s.pool, async (client) => {
      const taken = await client.query(
        "select 1 from creator_members where lower(email) = lower($1)",
        [body.email],
      );
      if (taken.rowCount) {
        throw new ConflictError("An account with this e-mail already exists", [
          { field: "body.email", message: "already registered" },
        ]);
      }
      const { rows: [creator] } = await client.query<{ id: string }>(
        "insert into creators (email, name) values ($1, $2) returning id",
        [body.email, body.organization ?? body.name],
      );
      const { rows: [member] } = await client.query<Member>(
        `insert into creator_members (creator_id, email, name, password_hash, role)
         values ($1, $2, $3, $4, 'owner') returning id, creator_id, role`,
        [creator!.id, body.email, body.name, passwordHash],
      );
      await client.query(
        `insert into audit_log (creator_id, actor_kind, actor_subject, action, resource_type,
           resource_id, request_id) values ($1::uuid, 'jwt', $2, 'creator.signup', 'creator', $1::text, $3)`,
        [creator!.id, member!.id, c.get("requestId")],
      );
      return await issueTokens(client, s, member!);
    });
    return c.json(tokens, 201);
  });

  app.openapi(login, async (c) => {
    const body = c.req.valid("json");
    const s = c.get("services");
    const { rows: [member] } = await s.pool.query<Member & { password_hash: string }>(
      "select id, creator_id, role, password_hash from creator_members where lower(email) = lower($1)",
      [body.email],
    );
    const ok = await verifyPassword(member?.password_hash ?? DUMMY_HASH, body.password);
    if (!member || !ok) throw badLogin();
    const tokens = await withSystem(s.pool, (client) => issueTokens(client, s, member));
    return c.json(tokens, 200);
  });

  app.openapi(refresh, async (c) => {
    const { refresh_token } = c.req.valid("json");
    const s = c.get("services");
    const hash = await sha256Hex(refresh_token);
    const tokens = await withSystem(s.pool, async (client) => {
      const { rows: [row] } = await client.query<
        Member & { token_id: string; revoked_at: Date | null; expired: boolean }
      >(
        `select t.id token_id, t.revoked_at, t.expires_at < now() expired, m.id, m.creator_id, m.role
         from refresh_tokens t join creator_members m on m.id = t.member_id
         where t.token_sha256 = $1 for update of t`,
        [hash],
      );
      if (!row || row.expired) return null;
      if (row.revoked_at) {
        // A rotated token came back: it was copied. Revoke the member's whole token family.
        await client.query(
          "update refresh_tokens set revoked_at = now() where member_id = $1 and revoked_at is null",
          [row.id],
        );
        return null;
      }
      await client.query("update refresh_tokens set revoked_at = now() where id = $1", [
        row.token_id,
      ]);
      return await issueTokens(client, s, row);
    });
    if (!tokens) throw new ApiError(401, "Unauthorized", "The refresh token is invalid or expired");
    return c.json(tokens, 200);
  });

  app.openapi(logout, async (c) => {
    const { refresh_token } = c.req.valid("json");
    await c.get("services").pool.query(
      "update refresh_tokens set revoked_at = now() where token_sha256 = $1 and revoked_at is null",
      [await sha256Hex(refresh_token)],
    );
    return c.body(null, 204);
  });
}
