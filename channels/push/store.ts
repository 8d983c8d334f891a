/**
 * Devices' push registrations. The token (an FCM registration token, an APNs device token, a Web
 * Push subscription as JSON) has to reach its provider, so it is sealed under SECRETS_KEY; its
 * SHA-256 finds a device registering again and keeps one row per token.
 */
import type pg from "pg";
import { withTenant } from "../../db/tenant.ts";
import type { SecretBox } from "../../db/secrets.ts";
import { sha256 } from "../mobile/tokens.ts";

export type PushProvider = "fcm" | "apns" | "webpush";
export const PUSH_PROVIDERS: readonly PushProvider[] = ["fcm", "apns", "webpush"];

/** One registration to push to. */
export interface PushTarget {
  id: string;
  provider: PushProvider;
  /** The provider's token; for Web Push the subscription's JSON. */
  token: string;
}

const context = (creatorId: string, hash: string) => `push:${creatorId}:${hash}`;

export class PushTokenStore {
  constructor(private readonly pool: pg.Pool, private readonly box: SecretBox) {}

  /** Registers a token for the end user (a token moving to another user on a shared device moves). */
  async register(
    creatorId: string,
    o: { endUserId: string; provider: PushProvider; token: string; hint: string },
  ): Promise<string> {
    const hash = sha256(`${o.provider}:${o.token}`);
    const sealed = await this.box.seal(o.token, context(creatorId, hash));
    return await withTenant(this.pool, creatorId, async (c) =>
      (await c.query<{ id: string }>(
        `insert into push_tokens (creator_id, end_user_id, provider, token_sha256, token_iv,
                                  token_ciphertext, hint)
         values (app_creator_id(), $1, $2, $3, $4, $5, $6)
         on conflict (creator_id, provider, token_sha256) do update
           set end_user_id = excluded.end_user_id, hint = excluded.hint
         returning id`,
        [o.endUserId, o.provider, hash, sealed.iv, sealed.ciphertext, o.hint],
      )).rows[0]!.id);
  }

  async list(creatorId: string, endUserId: string) {
    return await withTenant(
      this.pool,
      creatorId,
      async (c) =>
        (await c.query<{ id: string; provider: PushProvider; hint: string; created_at: Date }>(
          `select id, provider, hint, created_at from push_tokens where end_user_id = $1
          order by created_at, id`,
          [endUserId],
        )).rows,
    );
  }

  async remove(creatorId: string, endUserId: string, id: string): Promise<boolean> {
    const res = await withTenant(
      this.pool,
      creatorId,
      (c) => c.query("delete from push_tokens where id = $1 and end_user_id = $2", [id, endUserId]),
    );
    return (res.rowCount ?? 0) > 0;
  }

  /** Every registration of the end user, opened. */
  async targetsOf(creatorId: string, endUserId: string): Promise<PushTarget[]> {
    const rows = await withTenant(this.pool, creatorId, async (c) =>
      (await c.query<{
        id: string;
        provider: PushProvider;
        token_sha256: string;
        token_iv: Uint8Array;
        token_ciphertext: Uint8Array;
      }>(
        `select id, provider, token_sha256, token_iv, token_ciphertext from push_tokens
          where end_user_id = $1 order by created_at, id`,
        [endUserId],
      )).rows);
    const out: PushTarget[] = [];
    for (const r of rows) {
      const token = await this.box.open(
        { iv: r.token_iv, ciphertext: r.token_ciphertext },
        context(creatorId, r.token_sha256),
      );
      out.push({ id: r.id, provider: r.provider, token });
    }
    return out;
  }

  /** Drops a registration its provider called invalid. */
  async prune(creatorId: string, id: string): Promise<void> {
    await withTenant(
      this.pool,
      creatorId,
      (c) => c.query("delete from push_tokens where id = $1", [id]),
    );
  }

  /** Notes a successful push. */
  async used(creatorId: string, id: string): Promise<void> {
    await withTenant(
      this.pool,
      creatorId,
      (c) => c.query("update push_tokens set last_used_at = now() where id = $1", [id]),
    );
  }
}
