/**
 * The storage model of the OAuth 2.0 authorization server (`@node-oauth/oauth2-server`):
 * clients, authorization codes with PKCE, and opaque access and refresh tokens, all kept as
 * SHA-256 hashes. Scopes map to the admin API's roles: a token acts with the lower of the
 * member's role and its scope's.
 */
import type pg from "pg";
import type OAuth2Server from "@node-oauth/oauth2-server";
import { withSystem } from "../../db/tenant.ts";
import { randomToken, type Role, sha256Hex } from "../auth/credentials.ts";
import type { AuthContext } from "../env.ts";

/** Scopes a client may ask for, and the role each grants at most. */
export const OAUTH_SCOPES: Record<string, Role> = {
  read: "viewer",
  write: "editor",
  admin: "admin",
};
export const ACCESS_TOKEN_PREFIX = "coa_";
const RANK: Record<Role, number> = { viewer: 0, editor: 1, admin: 2, owner: 3 };

/** The role a token acts with: its member's, capped by the highest scope granted. */
export function roleOf(memberRole: Role, scope: string[]): Role {
  const cap = Math.max(-1, ...scope.map((s) => RANK[OAUTH_SCOPES[s] ?? "viewer"] ?? -1));
  const rank = Math.min(RANK[memberRole], cap);
  return (Object.entries(RANK).find(([, r]) => r === rank)?.[0] ?? "viewer") as Role;
}

export interface OAuthUser {
  id: string;
  creatorId: string;
}

export function oauthModel(pool: pg.Pool) {
  const clientOf = (r: { id: string; redirect_uris: string[] }): OAuth2Server.Client => ({
    id: r.id,
    redirectUris: r.redirect_uris,
    grants: ["authorization_code", "refresh_token"],
  });
  return {
    async getClient(clientId: string, clientSecret: string | null) {
      if (!/^[0-9a-f-]{36}$/i.test(clientId)) return false;
      const { rows: [r] } = await pool.query<
        { id: string; redirect_uris: string[]; secret_sha256: string }
      >("select id, redirect_uris, secret_sha256 from oauth_clients where id = $1", [clientId]);
      if (!r) return false;
      // The authorization endpoint looks a client up without its secret; the token endpoint
      // always passes it (client authentication is required there).
      if (clientSecret !== null && clientSecret !== undefined) {
        if ((await sha256Hex(clientSecret)) !== r.secret_sha256) return false;
      }
      return clientOf(r);
    },
    generateAccessToken: () => Promise.resolve(randomToken(ACCESS_TOKEN_PREFIX)),
    generateRefreshToken: () => Promise.resolve(randomToken("cor_")),
    generateAuthorizationCode: () => Promise.resolve(randomToken("coc_")),
    async saveAuthorizationCode(
      code: Pick<
        OAuth2Server.AuthorizationCode,
        | "authorizationCode"
        | "expiresAt"
        | "redirectUri"
        | "scope"
        | "codeChallenge"
        | "codeChallengeMethod"
      >,
      client: OAuth2Server.Client,
      user: OAuth2Server.User,
    ) {
      await withSystem(pool, async (c) =>
        c.query(
          `insert into oauth_codes (code_sha256, client_id, creator_id, member_id, redirect_uri,
             scope, code_challenge, code_challenge_method, expires_at)
           values ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
          [
            await sha256Hex(code.authorizationCode),
            client.id,
            user.creatorId,
            user.id,
            code.redirectUri,
            code.scope ?? [],
            code.codeChallenge,
            code.codeChallengeMethod,
            code.expiresAt,
          ],
        ));
      return { ...code, client, user } as OAuth2Server.AuthorizationCode;
    },
    async getAuthorizationCode(code: string) {
      const { rows: [r] } = await pool.query(
        `select o.*, c.redirect_uris from oauth_codes o join oauth_clients c on c.id = o.client_id
          where o.code_sha256 = $1`,
        [await sha256Hex(code)],
      );
      if (!r) return false;
      return {
        authorizationCode: code,
        expiresAt: r.expires_at,
        redirectUri: r.redirect_uri,
        scope: r.scope,
        codeChallenge: r.code_challenge,
        codeChallengeMethod: r.code_challenge_method,
        client: clientOf({ id: r.client_id, redirect_uris: r.redirect_uris }),
        user: { id: r.member_id, creatorId: r.creator_id },
      } as OAuth2Server.AuthorizationCode;
    },
    async revokeAuthorizationCode(code: OAuth2Server.AuthorizationCode) {
      const { rowCount } = await pool.query("delete from oauth_codes where code_sha256 = $1", [
        await sha256Hex(code.authorizationCode),
      ]);
      return rowCount === 1;
    },
    async saveToken(
      token: OAuth2Server.Token,
      client: OAuth2Server.Client,
      user: OAuth2Server.User,
    ) {
      await pool.query(
        `insert into oauth_tokens (client_id, creator_id, member_id, access_sha256, refresh_sha256,
           scope, access_expires_at, refresh_expires_at) values ($1, $2, $3, $4, $5, $6, $7, $8)`,
        [
          client.id,
          user.creatorId,
          user.id,
          await sha256Hex(token.accessToken),
          token.refreshToken ? await sha256Hex(token.refreshToken) : null,
          token.scope ?? [],
          token.accessTokenExpiresAt,
          token.refreshTokenExpiresAt ?? null,
        ],
      );
      return { ...token, client, user };
    },
    async getAccessToken(accessToken: string) {
      const { rows: [r] } = await pool.query(
        `select * from oauth_tokens where access_sha256 = $1 and revoked_at is null`,
        [await sha256Hex(accessToken)],
      );
      if (!r) return false;
      return {
        accessToken,
        accessTokenExpiresAt: r.access_expires_at,
        scope: r.scope,
        client: { id: r.client_id, grants: [] },
        user: { id: r.member_id, creatorId: r.creator_id },
      };
    },
    async getRefreshToken(refreshToken: string) {
      const { rows: [r] } = await pool.query(
        `select t.*, c.redirect_uris from oauth_tokens t join oauth_clients c on c.id = t.client_id
          where t.refresh_sha256 = $1 and t.revoked_at is null`,
        [await sha256Hex(refreshToken)],
      );
      if (!r) return false;
      return {
        refreshToken,
        refreshTokenExpiresAt: r.refresh_expires_at ?? undefined,
        scope: r.scope,
        client: clientOf({ id: r.client_id, redirect_uris: r.redirect_uris }),
        user: { id: r.member_id, creatorId: r.creator_id },
      };
    },
    async revokeToken(token: OAuth2Server.RefreshToken) {
      const { rowCount } = await pool.query(
        "update oauth_tokens set revoked_at = now() where refresh_sha256 = $1 and revoked_at is null",
        [await sha256Hex(token.refreshToken)],
      );
      return rowCount === 1;
    },
    validateScope(_user: OAuth2Server.User, _client: OAuth2Server.Client, scope?: string[]) {
      const asked = scope?.length ? scope : ["read"];
      const known = asked.filter((s) => s in OAUTH_SCOPES);
      return Promise.resolve(known.length === asked.length ? known : false);
    },
  };
}

/** The caller of an OAuth access token, for the admin API's authentication. */
export async function oauthCredentials(pool: pg.Pool, token: string): Promise<AuthContext | null> {
  const { rows: [r] } = await pool.query<
    { id: string; creator_id: string; role: Role; scope: string[] }
  >(
    `select t.id, t.creator_id, m.role, t.scope from oauth_tokens t
       join creator_members m on m.id = t.member_id and m.creator_id = t.creator_id
      where t.access_sha256 = $1 and t.revoked_at is null and t.access_expires_at > now()`,
    [await sha256Hex(token)],
  );
  return r
    ? { creatorId: r.creator_id, role: roleOf(r.role, r.scope), subject: r.id, kind: "oauth" }
    : null;
}

/** Revokes an access or refresh token (RFC 7009): the pair ends together. */
export async function revokeOAuthToken(pool: pg.Pool, clientId: string, token: string) {
  const hash = await sha256Hex(token);
  await pool.query(
    `update oauth_tokens set revoked_at = now()
      where client_id = $1 and (access_sha256 = $2 or refresh_sha256 = $2) and revoked_at is null`,
    [clientId, hash],
  );
}
