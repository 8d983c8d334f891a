/**
 * Takes one normalized inbound message in: drops a repeat of a provider message id, finds or
 * creates the person (end user and channel identity), records an opt-out or opt-in command, and
 * hands the message to the person's UserActor — all in one transaction, so the webhook is
 * answered only once the message is durable (an outbox row) and a crash in between loses nothing.
 */
import type pg from "pg";
import { withTenant } from "../../db/tenant.ts";
import type { ActorSystem } from "../../runtime/mod.ts";
import {
  type Inbound,
  type InboundContent,
  type NormalizedInbound,
  userAddress,
} from "../../actors/mod.ts";

export type IntakeResult =
  | { status: "accepted"; endUserId: string; identityId: string; newPerson: boolean }
  | { status: "duplicate" };

/** Days a provider message id is remembered; providers stop retrying long before. */
export const RECEIPT_DAYS = 7;

export async function takeIn(
  deps: { pool: pg.Pool; system: ActorSystem },
  m: NormalizedInbound,
): Promise<IntakeResult> {
  const { result, row } = await withTenant(deps.pool, m.creatorId, async (tx) => {
    const receipt = await tx.query(
      `insert into inbound_receipts (creator_id, connection_id, external_message_id)
       values (app_creator_id(), $1, $2) on conflict do nothing returning 1`,
      [m.connectionId, m.externalMessageId],
    );
    if (receipt.rowCount === 0) return { result: { status: "duplicate" } as const, row: null };
    const person = await findOrCreatePerson(tx, m);
    const consent = consentOf(m.content);
    if (consent) {
      await tx.query(
        "update end_users set status = $2 where id = $1 and status <> $2",
        [person.endUserId, consent],
      );
    }
    const message: Inbound = { ...m, ...person, receivedAt: Date.now() };
    const outbox = await deps.system.client.tellWithin(
      tx,
      userAddress(m.creatorId, person.endUserId),
      "inbound",
      message,
      { msgId: `in:${m.connectionId}:${m.externalMessageId}` },
    );
    return { result: { status: "accepted", ...person } as const, row: outbox };
  });
  // After the commit; should this fail, the runtime's outbox sweep sends it within seconds.
  if (row) await deps.system.publishOutbox([row]);
  return result;
}

async function findOrCreatePerson(
  tx: pg.PoolClient,
  m: NormalizedInbound,
): Promise<{ endUserId: string; identityId: string; newPerson: boolean }> {
  const started = m.content.type === "command" && m.content.command === "start";
  // Rows are locked end user first, then identity, as the first-contact insert below does, so
  // a first contact racing a follow-up cannot deadlock. The uncorrelated `exists` runs `u` once
  // before the identity is scanned.
  const known = await tx.query<{ id: string; end_user_id: string }>(
    `with u as (
       update end_users set last_active_at = now()
        where id = (select end_user_id from channel_identities where channel = $1 and external_id = $2)
        returning id)
     update channel_identities
        set last_inbound_at = now(), updated_at = now(), connection_id = $3,
            display_name = coalesce(nullif($4, ''), display_name),
            started_at = case when $5 then coalesce(started_at, now()) else started_at end
      where channel = $1 and external_id = $2 and exists (select 1 from u)
      returning id, end_user_id`,
    [m.channel, m.externalUserId, m.connectionId, m.displayName ?? "", started],
  );
  const hit = known.rows[0];
  if (hit) return { endUserId: hit.end_user_id, identityId: hit.id, newPerson: false };
  // First contact. Two first messages racing meet on the unique keys and get the same rows.
  const created = await tx.query<{ id: string; end_user_id: string; fresh: boolean }>(
    `with u as (
       insert into end_users (creator_id, channel, external_id, display_name, locale, last_active_at)
       values (app_creator_id(), $1, $2, $4, $6, now())
       on conflict (creator_id, channel, external_id) do update set last_active_at = now()
       returning id, (xmax = 0) as fresh)
     insert into channel_identities (creator_id, end_user_id, channel, external_id, connection_id,
                                     display_name, last_inbound_at, started_at)
     select app_creator_id(), u.id, $1, $2, $3, $4, now(), case when $5 then now() end from u
     on conflict (creator_id, channel, external_id)
       do update set last_inbound_at = now(), connection_id = excluded.connection_id
     returning id, end_user_id, (select fresh from u) as fresh`,
    [m.channel, m.externalUserId, m.connectionId, m.displayName ?? "", started, m.locale ?? null],
  );
  const row = created.rows[0]!;
  return { endUserId: row.end_user_id, identityId: row.id, newPerson: row.fresh };
}

/** `/stop` or a bare STOP opts out of proactive messages; `/start` or START opts back in. */
function consentOf(content: InboundContent): "opted_out" | "active" | undefined {
  const word = content.type === "command"
    ? content.command.toLowerCase()
    : content.type === "text"
    ? content.text.trim().toLowerCase()
    : "";
  if (word === "stop" || word === "unsubscribe") return "opted_out";
  if (word === "start") return "active";
  return undefined;
}
