/**
 * Coachd as an OAuth 2.0 authorization server for third-party apps (`@node-oauth/oauth2-server`):
 * `/oauth/authorize` (the consent page: the member signs in and allows the app its scopes; the
 * authorization-code flow with PKCE S256 required), `/oauth/token` (code and refresh grants, client
 * authentication required), `/oauth/revoke` (RFC 7009). The access tokens work on the admin API
 * (`Authorization: Bearer coa_...`) with the lower of the member's role and the scope's.
 */
import { Hono } from "hono";
import type { Context } from "hono";
import type pg from "pg";
import OAuth2Server from "@node-oauth/oauth2-server";
import type { Logger } from "../../runtime/mod.ts";
import { DUMMY_HASH, type Role, verifyPassword } from "../auth/credentials.ts";
import {
  DEFAULT_LOGIN_THROTTLE,
  loginFailed,
  loginSucceeded,
  loginWait,
} from "../auth/login_throttle.ts";
import { OAUTH_SCOPES, oauthModel, revokeOAuthToken } from "./oauth_model.ts";

const escape = (s: string) =>
  s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");

const SCOPE_WORDS: Record<string, string> = {
  read: "read your knowledge, programs, end users and conversations",
  write: "change knowledge, programs and badges",
  admin: "manage members, API keys, channels and webhooks",
};

function consentPage(
  o: { client: string; scope: string[]; params: URLSearchParams; error?: string },
) {
  const hidden = [...o.params].filter(([k]) => !["email", "password", "decision"].includes(k))
    .map(([k, v]) => `<input type="hidden" name="${escape(k)}" value="${escape(v)}">`).join("");
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Allow ${
    escape(o.client)
  }</title><meta name="viewport" content="width=device-width"></head><body>
<h1>Allow <em>${escape(o.client)}</em> to use your Coachd account?</h1>
<p>It asks to:</p><ul>${o.scope.map((s) => `<li>${escape(SCOPE_WORDS[s] ?? s)}</li>`).join("")}</ul>
${o.error ? `<p role="alert">${escape(o.error)}</p>` : ""}
<form method="post">${hidden}
<label>E-mail <input name="email" type="email" autocomplete="username" required></label>
<label>Password <input name="password" type="password" autocomplete="current-password" required></label>
<button name="decision" value="allow">Allow</button> <button name="decision" value="deny" formnovalidate>Deny</button>
</form></body></html>`;
}

/** The headers a consent page is sent with: never framed, never cached. */
const PAGE_HEADERS = {
  "content-type": "text/html; charset=utf-8",
  "cache-control": "no-store",
  "x-frame-options": "DENY",
  "content-security-policy":
    "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'",
};

async function formOf(c: Context): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const [k, v] of await c.req.formData()) if (typeof v === "string") out[k] = v;
  return out;
}

const formDecode = (s: string) => {
  try {
    return decodeURIComponent(s.replace(/\+/g, " "));
  } catch {
    return s;
  }
};

/** The client's id and secret from `Authorization: Basic` or the form body. */
function clientCredentials(
  c: Context,
  form: Record<string, string>,
): { id: string; secret: string } | undefined {
  const basic = c.req.header("authorization")?.match(/^Basic\s+(\S+)$/i)?.[1];
  if (basic) {
    let decoded: string;
    try {
      decoded = atob(basic);
    } catch {
      return undefined;
    }
    const at = decoded.indexOf(":");
    if (at < 0) return undefined;
    const id = formDecode(decoded.slice(0, at));
    const secret = formDecode(decoded.slice(at + 1));
    return id && secret ? { id, secret } : undefined;
  }
  return form.client_id && form.client_secret
    ? { id: form.client_id, secret: form.client_secret }
    : undefined;
}

function oauthRequest(c: Context, body: Record<string, string>) {
  return new OAuth2Server.Request({
    method: c.req.method,
    headers: Object.fromEntries(c.req.raw.headers),
    query: Object.fromEntries(new URL(c.req.url).searchParams),
    body,
  });
}

/** The client's address, as the admin API reads it (X-Forwarded-For only behind a proxy). */
function clientAddress(c: Context, trustProxy: boolean): string {
  if (trustProxy) {
    const forwarded = c.req.header("x-forwarded-for")?.split(",")[0]?.trim();
    if (forwarded) return forwarded;
  }
  return (c.env as { remoteAddr?: { hostname?: string } } | undefined)?.remoteAddr?.hostname ??
    "unknown";
}

export function oauthServer({ pool, log, accessTokenTtlSeconds = 3600, trustProxy = false }: {
  pool: pg.Pool;
  log: Logger;
  accessTokenTtlSeconds?: number;
  /** Take the client address from X-Forwarded-For (only behind a proxy that sets it). */
  trustProxy?: boolean;
}): Hono {
  const model = oauthModel(pool);
  const server = new OAuth2Server({
    model,
    accessTokenLifetime: accessTokenTtlSeconds,
    refreshTokenLifetime: 30 * 86400,
    allowEmptyState: false,
    alwaysIssueNewRefreshToken: true,
  });
  const app = new Hono();

  const clientName = async (id: string | null) => {
    if (!id || !/^[0-9a-f-]{36}$/i.test(id)) return undefined;
    return (await pool.query<{ name: string; redirect_uris: string[] }>(
      "select name, redirect_uris from oauth_clients where id = $1",
      [id],
    )).rows[0];
  };
  const badRequest = (c: Context, detail: string) =>
    c.body(`<!doctype html><p>${escape(detail)}</p>`, 400, PAGE_HEADERS);

  app.get("/oauth/authorize", async (c) => {
    const q = new URL(c.req.url).searchParams;
    const client = await clientName(q.get("client_id"));
    if (!client) return badRequest(c, "Unknown client_id");
    if (!client.redirect_uris.includes(q.get("redirect_uri") ?? "")) {
      return badRequest(c, "redirect_uri is not registered for this client");
    }
    if (q.get("code_challenge_method") !== "S256" || !q.get("code_challenge")) {
      return badRequest(c, "PKCE is required: code_challenge with code_challenge_method=S256");
    }
    const scope = (q.get("scope") ?? "read").split(" ").filter(Boolean);
    return c.body(consentPage({ client: client.name, scope, params: q }), 200, PAGE_HEADERS);
  });

  app.post("/oauth/authorize", async (c) => {
    const form = await formOf(c);
    const params = new URLSearchParams(form);
    const client = await clientName(form.client_id ?? null);
    if (!client) return badRequest(c, "Unknown client_id");
    const redirectUri = form.redirect_uri ?? "";
    if (!client.redirect_uris.includes(redirectUri)) {
      return badRequest(c, "redirect_uri is not registered for this client");
    }
    if (form.code_challenge_method !== "S256" || !form.code_challenge) {
      return badRequest(c, "PKCE is required: code_challenge with code_challenge_method=S256");
    }
    const scope = (form.scope ?? "read").split(" ").filter(Boolean);
    if (form.decision !== "allow") {
      const back = new URL(redirectUri);
      back.searchParams.set("error", "access_denied");
      if (form.state) back.searchParams.set("state", form.state);
      return c.redirect(back.toString(), 302);
    }
    const email = form.email ?? "";
    const address = clientAddress(c, trustProxy);
    const wait = await loginWait(pool, email, address);
    if (wait > 0) {
      return c.body(
        consentPage({
          client: client.name,
          scope,
          params,
          error: `Too many attempts; wait ${wait} s`,
        }),
        429,
        PAGE_HEADERS,
      );
    }
    const { rows } = await pool.query<
      { id: string; creator_id: string; role: Role; password_hash: string }
    >(
      `select id, creator_id, role, password_hash from creator_members where lower(email) = lower($1)
        order by created_at limit 10`,
      [email],
    );
    let member: (typeof rows)[number] | undefined;
    for (const m of rows) {
      if (await verifyPassword(m.password_hash, form.password ?? "")) member ??= m;
    }
    if (!rows.length) await verifyPassword(DUMMY_HASH, form.password ?? "");
    if (!member) {
      await loginFailed(pool, email, address, DEFAULT_LOGIN_THROTTLE);
      return c.body(
        consentPage({ client: client.name, scope, params, error: "E-mail or password is wrong" }),
        401,
        PAGE_HEADERS,
      );
    }
    await loginSucceeded(pool, email, address);
    const response = new OAuth2Server.Response({ headers: {} });
    try {
      await server.authorize(oauthRequest(c, form), response, {
        authenticateHandler: { handle: () => ({ id: member.id, creatorId: member.creator_id }) },
      });
    } catch (err) {
      const location = response.headers?.location;
      if (location) return c.redirect(location, 302);
      log.warn("oauth authorize refused", { error: String((err as Error).message) });
      return badRequest(c, (err as Error).message);
    }
    return c.redirect(response.headers!.location!, 302);
  });

  app.post("/oauth/token", async (c) => {
    const form = await formOf(c);
    // Client authentication is required for every grant, PKCE or not (the library would let a
    // PKCE request through without the secret). Basic credentials are form-encoded (RFC 6749
    // 2.3.1); the library gets them decoded, in the body.
    const creds = clientCredentials(c, form);
    const client = creds ? await model.getClient(creds.id, creds.secret) : false;
    if (!creds || !client) {
      return c.json(
        { error: "invalid_client", error_description: "Client authentication failed" },
        401,
        {
          "www-authenticate": 'Basic realm="coachd"',
          "cache-control": "no-store",
        },
      );
    }
    const body = { ...form, client_id: creds.id, client_secret: creds.secret };
    const request = new OAuth2Server.Request({
      method: "POST",
      // type-is looks for a body by its length header.
      headers: {
        "content-type": "application/x-www-form-urlencoded",
        "content-length": String(new URLSearchParams(body).toString().length),
      },
      query: {},
      body,
    });
    const response = new OAuth2Server.Response({ headers: {} });
    try {
      await server.token(request, response);
    } catch (err) {
      const e = err as { code?: number; name?: string; message?: string };
      return c.json(
        { error: e.name ?? "server_error", error_description: e.message ?? "" },
        (e.code ?? 500) as 400,
        { "cache-control": "no-store" },
      );
    }
    return c.json(response.body as object, 200, {
      "cache-control": "no-store",
      pragma: "no-cache",
    });
  });

  app.post("/oauth/revoke", async (c) => {
    const form = await formOf(c);
    const creds = clientCredentials(c, form);
    const client = creds ? await model.getClient(creds.id, creds.secret) : false;
    if (!client) return c.json({ error: "invalid_client" }, 401);
    if (form.token) await revokeOAuthToken(pool, client.id, form.token);
    // RFC 7009: an unknown token is answered 200 too.
    return c.body(null, 200);
  });

  app.get("/.well-known/oauth-authorization-server", (c) => {
    const base = new URL(c.req.url).origin;
    return c.json({
      issuer: base,
      authorization_endpoint: `${base}/oauth/authorize`,
      token_endpoint: `${base}/oauth/token`,
      revocation_endpoint: `${base}/oauth/revoke`,
      response_types_supported: ["code"],
      grant_types_supported: ["authorization_code", "refresh_token"],
      code_challenge_methods_supported: ["S256"],
      scopes_supported: Object.keys(OAUTH_SCOPES),
      token_endpoint_auth_methods_supported: ["client_secret_basic", "client_secret_post"],
    });
  });
  return app;
}
