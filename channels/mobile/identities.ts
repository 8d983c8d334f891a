/**
 * The mobile app's channel identities: one per end user issued a token by the creator's backend
 * (`user:<end user id>`), one per anonymous device (`device:<random id>`). Both reach us through
 * the creator's mobile app connection, whose public key an app ships with.
 */
import type pg from "pg";
import { withSystem } from "../../db/tenant.ts";

/** The creator's active mobile app connection (the oldest, when there are several). */
export async function mobileConnectionOf(tx: pg.PoolClient): Promise<string | null> {
  const { rows: [r] } = await tx.query<{ id: string }>(
    `select id from channel_connections where kind = 'mobile_app' and status = 'active'
      order by created_at, id limit 1`,
  );
  return r?.id ?? null;
}

/** The active mobile app connection with this public key, across creators. */
export async function connectionByPublicKey(
  pool: pg.Pool,
  publicKey: string,
): Promise<{ id: string; creatorId: string } | null> {
  const row = await withSystem(
    pool,
    async (c) =>
      (await c.query<{ id: string; creator_id: string }>(
        `select id, creator_id from channel_connections
        where public_key = $1 and kind = 'mobile_app' and status = 'active'`,
        [publicKey],
      )).rows[0],
  );
  return row ? { id: row.id, creatorId: row.creator_id } : null;
}

/** The app identity of a known end user, created on first use; in a tenant transaction. */
export async function ensureUserIdentity(
  tx: pg.PoolClient,
  o: { endUserId: string; connectionId: string },
): Promise<{ identityId: string; endUserId: string }> {
  const { rows: [r] } = await tx.query<{ id: string; end_user_id: string }>(
    `insert into channel_identities (creator_id, end_user_id, channel, external_id, connection_id,
                                     display_name)
     select app_creator_id(), u.id, 'mobile_app', 'user:' || u.id, $2, u.display_name
       from end_users u where u.id = $1
     on conflict (creator_id, channel, external_id)
       do update set connection_id = excluded.connection_id, updated_at = now()
     returning id, end_user_id`,
    [o.endUserId, o.connectionId],
  );
  if (!r) throw new Error(`end user ${o.endUserId} does not exist`);
  return { identityId: r.id, endUserId: r.end_user_id };
}

/**
 * The end user of the creator's own user id (`external_id` on the creator's side), created with
 * an app identity on first use.
 */
export async function ensureExternalUser(
  tx: pg.PoolClient,
  o: { externalId: string; displayName: string; connectionId: string },
): Promise<{ endUserId: string; fresh: boolean }> {
  const { rows: [r] } = await tx.query<{ id: string; fresh: boolean }>(
    `insert into end_users (creator_id, channel, external_id, display_name)
     values (app_creator_id(), 'mobile_app', 'ext:' || $1, $2)
     on conflict (creator_id, channel, external_id) do update
       set display_name = coalesce(nullif(excluded.display_name, ''), end_users.display_name)
     returning id, (xmax = 0) fresh`,
    [o.externalId, o.displayName],
  );
  return { endUserId: r!.id, fresh: r!.fresh };
}

/** A new anonymous device: a new end user and its app identity. */
export async function registerDevice(
  tx: pg.PoolClient,
  o: { connectionId: string; displayName: string; locale?: string },
): Promise<{ endUserId: string; identityId: string }> {
  const externalId = `device:${crypto.randomUUID()}`;
  const { rows: [r] } = await tx.query<{ id: string; end_user_id: string }>(
    `with u as (
       insert into end_users (creator_id, channel, external_id, display_name, locale)
       values (app_creator_id(), 'mobile_app', $1, $2, $4) returning id)
     insert into channel_identities (creator_id, end_user_id, channel, external_id, connection_id,
                                     display_name)
     select app_creator_id(), u.id, 'mobile_app', $1, $3, $2 from u
     returning id, end_user_id`,
    [externalId, o.displayName, o.connectionId, o.locale ?? null],
  );
  return { endUserId: r!.end_user_id, identityId: r!.id };
}
