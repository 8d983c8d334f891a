/**
 * End-user tokens for the mobile app (and any client that speaks for one end user): an opaque
 * access token and a refresh token, both random, kept only as SHA-256 hashes and looked up on
 * every request, so a revoked token is refused at once on every node. The token names a channel
 * identity, not an end user: once that identity is linked to another end user (a link code), the
 * same token speaks for the person it now belongs to.
 */
import { Buffer } from "node:buffer";
import { createHash } from "node:crypto";
import type pg from "pg";
import { withSystem, withTenant } from "../../db/tenant.ts";

export const ACCESS_PREFIX = "eat_";
export const REFRESH_PREFIX = "ert_";

/** Who an access token speaks for, as of now. */
export interface EndUserSession {
  tokenId: string;
  creatorId: string;
  endUserId: string;
  identityId: string;
  /** The mobile app connection the identity reaches us through (null: none connected). */
  connectionId: string | null;
  /** The identity's provider id (the intake's `externalUserId`). */
  externalId: string;
  channel: string;
}

export interface IssuedTokens {
  token_id: string;
  access_token: string;
  refresh_token: string;
  token_type: "Bearer";
  /** Seconds the access token lives. */
  expires_in: number;
  end_user_id: string;
}

export interface TokenOptions {
  accessTtlSeconds?: number;
  refreshTtlSeconds?: number;
}

const random = (prefix: string) =>
  prefix + Buffer.from(crypto.getRandomValues(new Uint8Array(32))).toString("base64url");
export const sha256 = (text: string) => createHash("sha256").update(text).digest("hex");

export class EndUserTokens {
  readonly accessTtl: number;
  readonly refreshTtl: number;
  constructor(
    private readonly pool: pg.Pool,
    { accessTtlSeconds = 3600, refreshTtlSeconds = 90 * 24 * 3600 }: TokenOptions = {},
  ) {
    this.accessTtl = accessTtlSeconds;
    this.refreshTtl = refreshTtlSeconds;
  }

  /** Issues a token pair for an identity, in the caller's tenant transaction. */
  async issue(
    tx: pg.PoolClient,
    o: { endUserId: string; identityId: string; origin: "exchange" | "device" },
  ): Promise<IssuedTokens> {
    const access = random(ACCESS_PREFIX);
    const refresh = random(REFRESH_PREFIX);
    const { rows: [row] } = await tx.query<{ id: string }>(
      `insert into end_user_tokens (creator_id, end_user_id, identity_id, origin, access_sha256,
                                    access_expires_at, refresh_sha256, refresh_expires_at)
       values (app_creator_id(), $1, $2, $3, $4, now() + make_interval(secs => $5), $6,
               now() + make_interval(secs => $7))
       returning id`,
      [
        o.endUserId,
        o.identityId,
        o.origin,
        sha256(access),
        this.accessTtl,
        sha256(refresh),
        this.refreshTtl,
      ],
    );
    return this.#pair(row!.id, access, refresh, o.endUserId);
  }

  /** The session of a live access token, or null (unknown, expired, revoked, identity gone). */
  async verify(accessToken: string): Promise<EndUserSession | null> {
    if (!accessToken.startsWith(ACCESS_PREFIX) || accessToken.length > 200) return null;
    // Before a tenant is known: the hash is the only key (like an API key's lookup).
    const { rows: [r] } = await this.pool.query<{
      id: string;
      creator_id: string;
      end_user_id: string;
      identity_id: string;
      connection_id: string | null;
      external_id: string;
      channel: string;
    }>(
      `select t.id, t.creator_id, i.end_user_id, t.identity_id, i.connection_id, i.external_id,
              i.channel
         from end_user_tokens t join channel_identities i on i.id = t.identity_id
        where t.access_sha256 = $1 and t.revoked_at is null and t.access_expires_at > now()`,
      [sha256(accessToken)],
    );
    if (!r) return null;
    return {
      tokenId: r.id,
      creatorId: r.creator_id,
      endUserId: r.end_user_id,
      identityId: r.identity_id,
      connectionId: r.connection_id,
      externalId: r.external_id,
      channel: r.channel,
    };
  }

  /**
   * Trades a refresh token for a new pair; the old pair stops working. A refresh token used a
   * second time (stolen and raced) finds nothing and gets null.
   */
  async refresh(refreshToken: string): Promise<IssuedTokens | null> {
    if (!refreshToken.startsWith(REFRESH_PREFIX) || refreshToken.length > 200) return null;
    const access = random(ACCESS_PREFIX);
    const refresh = random(REFRESH_PREFIX);
    const row = await withSystem(
      this.pool,
      async (c) =>
        (await c.query<{ id: string; end_user_id: string }>(
          `update end_user_tokens t
            set access_sha256 = $2, access_expires_at = now() + make_interval(secs => $3),
                refresh_sha256 = $4, refresh_expires_at = now() + make_interval(secs => $5),
                refreshed_at = now()
           from channel_identities i
          where t.refresh_sha256 = $1 and t.revoked_at is null and t.refresh_expires_at > now()
            and i.id = t.identity_id
          returning t.id, i.end_user_id`,
          [sha256(refreshToken), sha256(access), this.accessTtl, sha256(refresh), this.refreshTtl],
        )).rows[0],
    );
    return row ? this.#pair(row.id, access, refresh, row.end_user_id) : null;
  }

  /** Revokes one token pair; true when it was live. */
  async revoke(creatorId: string, tokenId: string): Promise<boolean> {
    const res = await withTenant(this.pool, creatorId, (c) =>
      c.query(
        "update end_user_tokens set revoked_at = now() where id = $1 and revoked_at is null",
        [tokenId],
      ));
    return (res.rowCount ?? 0) > 0;
  }

  /** Revokes every token of an end user (the creator signs them out everywhere). */
  async revokeAll(tx: pg.PoolClient, endUserId: string): Promise<number> {
    const res = await tx.query(
      `update end_user_tokens set revoked_at = now()
        where revoked_at is null and identity_id in
          (select id from channel_identities where end_user_id = $1)`,
      [endUserId],
    );
    return res.rowCount ?? 0;
  }

  #pair(id: string, access: string, refresh: string, endUserId: string): IssuedTokens {
    return {
      token_id: id,
      access_token: access,
      refresh_token: refresh,
      token_type: "Bearer",
      expires_in: this.accessTtl,
      end_user_id: endUserId,
    };
  }
}
