import { createRoute, type OpenAPIHono, z } from "@hono/zod-openapi";
import type pg from "pg";
import { withSystem } from "../../db/tenant.ts";
import type { Context } from "hono";
import {
  DUMMY_HASH,
  hashPassword,
  randomToken,
  type Role,
  sha256Hex,
  verifyPassword,
} from "../auth/credentials.ts";
import { loginFailed, loginSucceeded, loginWait } from "../auth/login_throttle.ts";
import { type AccountNotice, recordNotice } from "../auth/notices.ts";
import { type AuthEvent, endSessions } from "../auth/sessions.ts";
import type { ApiEnv, ApiServices } from "../env.ts";
import { ApiError, ConflictError, RateLimitedError } from "../errors.ts";
import { clientIp } from "../middleware/rate_limit.ts";
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

const SignupAccepted = z.object({
  status: z.literal("confirmation_sent"),
  detail: z.string(),
}).openapi("SignupAccepted");

const signup = createRoute({
  method: "post",
  path: "/auth/signup",
  tags: ["auth"],
  summary: "Ask for a creator account; a confirmation goes to the e-mail address",
  description: "The answer is the same whether or not the address already has an account: a " +
    "new address gets a confirmation token (for `/auth/signup/confirm`), a known one a notice.",
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
    202: jsonResponse(SignupAccepted, "Accepted; see the e-mail"),
    ...publicResponses,
  },
});

const confirmSignup = createRoute({
  method: "post",
  path: "/auth/signup/confirm",
  tags: ["auth"],
  summary: "Create the account with the token from the confirmation notice",
  security: [],
  request: { body: jsonBody(z.strictObject({ token: z.string().min(1).max(200) })) },
  responses: {
    201: jsonResponse(Tokens, "The new account's tokens"),
    409: problemResponse("The e-mail got an account meanwhile"),
    ...publicResponses,
  },
});

const login = createRoute({
  method: "post",
  path: "/auth/login",
  tags: ["auth"],
  summary: "Exchange e-mail and password for tokens",
  description: "Wrong passwords slow the account down (429 with `Retry-After`), per client " +
    "address and, more gently, for the account as a whole.",
  security: [],
  request: {
    body: jsonBody(z.strictObject({
      email: Email,
      password: z.string().max(200),
      creator_id: z.uuid().optional().openapi({
        description: "Which team, when the e-mail is a member of several with this password",
      }),
    })),
  },
  responses: {
    200: jsonResponse(Tokens, "Tokens"),
    409: problemResponse("Several teams match; pass creator_id"),
    ...publicResponses,
  },
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
  summary: "End the session of a refresh token (its access tokens stop working too)",
  security: [],
  request: { body: jsonBody(z.strictObject({ refresh_token: z.string().max(200) })) },
  responses: { 204: { description: "Ended (or already unknown)" }, ...publicResponses },
});

const forgotPassword = createRoute({
  method: "post",
  path: "/auth/password/forgot",
  tags: ["auth"],
  summary: "Ask for a password reset; a code goes to the e-mail address",
  description: "The answer is the same whether or not the address has an account.",
  security: [],
  request: { body: jsonBody(z.strictObject({ email: Email })) },
  responses: {
    202: jsonResponse(
      z.object({ status: z.literal("reset_sent"), detail: z.string() }),
      "Accepted; see the e-mail",
    ),
    ...publicResponses,
  },
});

const resetPassword = createRoute({
  method: "post",
  path: "/auth/password/reset",
  tags: ["auth"],
  summary: "Choose a new password with the code from the reset e-mail; ends every session",
  security: [],
  request: {
    body: jsonBody(z.strictObject({ token: z.string().min(1).max(200), password: Password })),
  },
  responses: { 204: { description: "The password is changed" }, ...publicResponses },
});

const RESET_TTL_MINUTES = 60;

interface Member {
  id: string;
  creator_id: string;
  role: Role;
}

/** Opens a session (unless `sessionId` continues one) and issues its tokens. */
async function issueTokens(
  client: pg.PoolClient,
  s: ApiServices,
  m: Member,
  sessionId?: string,
) {
  if (!sessionId) {
    const { rows: [session] } = await client.query<{ id: string }>(
      "insert into auth_sessions (creator_id, member_id) values ($1, $2) returning id",
      [m.creator_id, m.id],
    );
    sessionId = session!.id;
  }
  const refreshToken = randomToken("rt_");
  await client.query(
    `insert into refresh_tokens (creator_id, member_id, session_id, token_sha256, expires_at)
     values ($1, $2, $3, $4, now() + make_interval(secs => $5))`,
    [m.creator_id, m.id, sessionId, await sha256Hex(refreshToken), s.refreshTokenTtlSeconds],
  );
  return {
    access_token: await s.tokens.sign({
      creatorId: m.creator_id,
      memberId: m.id,
      role: m.role,
      sessionId,
    }),
    token_type: "Bearer" as const,
    expires_in: s.tokens.ttlSeconds,
    refresh_token: refreshToken,
    creator_id: m.creator_id,
    member_id: m.id,
    role: m.role,
  };
}

const badLogin = () => new ApiError(401, "Unauthorized", "E-mail or password is wrong");
const SIGNUP_TTL_HOURS = 24;

/** Records a wrong password in the audit log of each team the e-mail belongs to. */
async function auditFailedLogin(
  c: Context<ApiEnv>,
  members: Member[],
  details: Record<string, unknown>,
) {
  if (!members.length) return;
  await withSystem(c.get("services").pool, async (client) => {
    for (const m of members) {
      await client.query(
        `insert into audit_log (creator_id, actor_kind, actor_subject, action, resource_type,
           resource_id, details, request_id)
         values ($1, 'anonymous', $2, 'auth.login_failed', 'member', $3, $4, $5)`,
        [m.creator_id, details.address, m.id, details, c.get("requestId")],
      );
    }
  });
}

/** Sign-up, login, refresh and logout: the only routes without a bearer token. */
export function registerAuth(app: OpenAPIHono<ApiEnv>) {
  app.openapi(signup, async (c) => {
    const body = c.req.valid("json");
    const s = c.get("services");
    // Both branches hash, write and send a notice, so neither answer nor timing tells them apart.
    const passwordHash = await hashPassword(body.password);
    const token = randomToken("sc_");
    const notice = await withSystem(s.pool, async (client): Promise<AccountNotice> => {
      await client.query("delete from signup_requests where expires_at < now()");
      const taken = await client.query(
        "select 1 from creator_members where lower(email) = lower($1) limit 1",
        [body.email],
      );
      let notice: AccountNotice;
      if (taken.rowCount) {
        notice = { kind: "signup_existing_account", email: body.email };
      } else {
        const { rows: [request] } = await client.query<{ expires_at: Date }>(
          `insert into signup_requests (email, name, organization, password_hash, token_sha256,
             expires_at) values ($1, $2, $3, $4, $5, now() + make_interval(hours => $6))
           returning expires_at`,
          [
            body.email,
            body.name,
            body.organization ?? null,
            passwordHash,
            await sha256Hex(token),
            SIGNUP_TTL_HOURS,
          ],
        );
        notice = {
          kind: "signup_confirmation",
          email: body.email,
          token,
          expiresAt: request!.expires_at.toISOString(),
        };
      }
      await recordNotice(client, notice, c.get("requestId"));
      return notice;
    });
    try {
      await s.mailer.send(notice);
    } catch (err) {
      // Answering differently would tell the two cases apart; the record stays for a resend.
      s.log.error("account notice not sent", { kind: notice.kind, error: String(err) });
    }
    return c.json({
      status: "confirmation_sent" as const,
      detail: "If this address can be registered, a confirmation is on its way to it",
    }, 202);
  });

  app.openapi(confirmSignup, async (c) => {
    const { token } = c.req.valid("json");
    const s = c.get("services");
    const tokens = await withSystem(s.pool, async (client) => {
      const { rows: [request] } = await client.query<
        { email: string; name: string; organization: string | null; password_hash: string }
      >(
        `delete from signup_requests where token_sha256 = $1 and expires_at > now()
         returning email, name, organization, password_hash`,
        [await sha256Hex(token)],
      );
      if (!request) return null;
      const taken = await client.query(
        "select 1 from creator_members where lower(email) = lower($1) limit 1",
        [request.email],
      );
      if (taken.rowCount) {
        throw new ConflictError("An account with this e-mail was created meanwhile; sign in", [
          { field: "body.token", message: "already used for an account" },
        ]);
      }
      const { rows: [creator] } = await client.query<{ id: string }>(
        "insert into creators (email, name) values ($1, $2) returning id",
        [request.email, request.organization ?? request.name],
      );
      const { rows: [member] } = await client.query<Member>(
        `insert into creator_members (creator_id, email, name, password_hash, role)
         values ($1, $2, $3, $4, 'owner') returning id, creator_id, role`,
        [creator!.id, request.email, request.name, request.password_hash],
      );
      await client.query(
        `insert into audit_log (creator_id, actor_kind, actor_subject, action, resource_type,
           resource_id, request_id) values ($1::uuid, 'jwt', $2, 'creator.signup', 'creator', $1::text, $3)`,
        [creator!.id, member!.id, c.get("requestId")],
      );
      return { email: request.email, tokens: await issueTokens(client, s, member!) };
    });
    if (!tokens) {
      throw new ApiError(401, "Unauthorized", "The confirmation token is invalid or expired");
    }
    await loginSucceeded(s.pool, tokens.email, clientIp(c));
    return c.json(tokens.tokens, 201);
  });

  app.openapi(forgotPassword, async (c) => {
    const { email } = c.req.valid("json");
    const s = c.get("services");
    const notices = await withSystem(s.pool, async (client) => {
      await client.query("delete from password_resets where expires_at < now()");
      const { rows: members } = await client.query<
        { id: string; creator_id: string; name: string; email: string; team: string }
      >(
        `select m.id, m.creator_id, m.name, m.email, cr.name team from creator_members m
           join creators cr on cr.id = m.creator_id
          where lower(m.email) = lower($1) order by m.created_at limit 10`,
        [email],
      );
      const out: AccountNotice[] = [];
      // One code per team the address belongs to: each resets that team's password.
      for (const m of members) {
        const token = randomToken("pr_");
        const { rows: [r] } = await client.query<{ expires_at: Date }>(
          `insert into password_resets (creator_id, member_id, token_sha256, expires_at)
           values ($1, $2, $3, now() + make_interval(mins => $4)) returning expires_at`,
          [m.creator_id, m.id, await sha256Hex(token), RESET_TTL_MINUTES],
        );
        const notice: AccountNotice = {
          kind: "password_reset",
          email: m.email,
          token,
          expiresAt: r!.expires_at.toISOString(),
          name: m.name,
          team: m.team,
        };
        await recordNotice(client, notice, c.get("requestId"));
        out.push(notice);
      }
      return out;
    });
    for (const notice of notices) {
      await s.mailer.send(notice).catch((err) =>
        s.log.error("account notice not sent", { kind: notice.kind, error: String(err) })
      );
    }
    return c.json({
      status: "reset_sent" as const,
      detail: "If this address has an account, a reset code is on its way to it",
    }, 202);
  });

  app.openapi(resetPassword, async (c) => {
    const body = c.req.valid("json");
    const s = c.get("services");
    const passwordHash = await hashPassword(body.password);
    const done = await withSystem(s.pool, async (client) => {
      const { rows: [r] } = await client.query<{ member_id: string; creator_id: string }>(
        `delete from password_resets where token_sha256 = $1 and expires_at > now()
         returning member_id, creator_id`,
        [await sha256Hex(body.token)],
      );
      if (!r) return null;
      const { rows: [m] } = await client.query<{ email: string }>(
        "update creator_members set password_hash = $2 where id = $1 returning email",
        [r.member_id, passwordHash],
      );
      await client.query("delete from password_resets where member_id = $1", [r.member_id]);
      await client.query(
        `insert into audit_log (creator_id, actor_kind, actor_subject, action, resource_type,
           resource_id, request_id) values ($1, 'anonymous', $2, 'auth.password_reset', 'member', $2, $3)`,
        [r.creator_id, r.member_id, c.get("requestId")],
      );
      const sessionIds = await endSessions(client, { memberId: r.member_id });
      return { email: m?.email ?? "", memberId: r.member_id, sessionIds };
    });
    if (!done) throw new ApiError(401, "Unauthorized", "The reset code is invalid or expired");
    await s.sessions.ended({ kind: "members", memberIds: [done.memberId] });
    await loginSucceeded(s.pool, done.email, clientIp(c));
    return c.body(null, 204);
  });

  app.openapi(login, async (c) => {
    const body = c.req.valid("json");
    const s = c.get("services");
    const address = clientIp(c);
    const wait = await loginWait(s.pool, body.email, address);
    if (wait > 0) throw new RateLimitedError(wait, "account");
    const { rows: candidates } = await s.pool.query<Member & { password_hash: string }>(
      `select id, creator_id, role, password_hash from creator_members
       where lower(email) = lower($1) and ($2::uuid is null or creator_id = $2)
       order by created_at limit 10`,
      [body.email, body.creator_id ?? null],
    );
    const matches: Member[] = [];
    for (const m of candidates) {
      if (await verifyPassword(m.password_hash, body.password)) matches.push(m);
    }
    if (!candidates.length) await verifyPassword(DUMMY_HASH, body.password);
    if (!matches.length) {
      const { failures } = await loginFailed(s.pool, body.email, address, s.loginThrottle);
      await auditFailedLogin(c, candidates, { address, failures });
      throw badLogin();
    }
    if (matches.length > 1) {
      throw new ConflictError("This e-mail and password open several teams; say which", [{
        field: "body.creator_id",
        message: `one of ${matches.map((m) => m.creator_id).join(", ")}`,
      }]);
    }
    await loginSucceeded(s.pool, body.email, address);
    const tokens = await withSystem(s.pool, (client) => issueTokens(client, s, matches[0]!));
    return c.json(tokens, 200);
  });

  app.openapi(refresh, async (c) => {
    const { refresh_token } = c.req.valid("json");
    const s = c.get("services");
    const hash = await sha256Hex(refresh_token);
    let ended: AuthEvent | undefined;
    const tokens = await withSystem(s.pool, async (client) => {
      const { rows: [row] } = await client.query<
        Member & {
          token_id: string;
          session_id: string | null;
          revoked_at: Date | null;
          live: boolean;
        }
      >(
        `select t.id token_id, t.session_id, t.revoked_at,
           t.expires_at > now() and s.revoked_at is null live, m.id, m.creator_id, m.role
         from refresh_tokens t join creator_members m on m.id = t.member_id
         left join auth_sessions s on s.id = t.session_id
         where t.token_sha256 = $1 for update of t`,
        [hash],
      );
      // Expired, of an ended session (logged out), or from before sessions: just refused.
      if (!row?.session_id || !row.live) return null;
      if (row.revoked_at) {
        // A rotated token of a live session came back: it was copied. End every session of
        // the member.
        ended = { kind: "members", memberIds: [row.id] };
        await endSessions(client, { memberId: row.id });
        return null;
      }
      await client.query("update refresh_tokens set revoked_at = now() where id = $1", [
        row.token_id,
      ]);
      return await issueTokens(client, s, row, row.session_id);
    });
    if (ended) await s.sessions.ended(ended);
    if (!tokens) throw new ApiError(401, "Unauthorized", "The refresh token is invalid or expired");
    return c.json(tokens, 200);
  });

  app.openapi(logout, async (c) => {
    const { refresh_token } = c.req.valid("json");
    const s = c.get("services");
    const sessionIds = await withSystem(s.pool, async (client) => {
      const { rows: [token] } = await client.query<{ session_id: string | null }>(
        "select session_id from refresh_tokens where token_sha256 = $1",
        [await sha256Hex(refresh_token)],
      );
      if (!token?.session_id) return [];
      return await endSessions(client, { sessionId: token.session_id });
    });
    if (sessionIds.length) await s.sessions.ended({ kind: "sessions", sessionIds });
    return c.body(null, 204);
  });
}
