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
import { LINK_COMMAND } from "../../actors/user/inbound.ts";
import { linkCodeOf, type LinkOutcome, redeemLinkCode } from "../linking/codes.ts";

export type IntakeResult =
  | { status: "accepted"; endUserId: string; identityId: string; newPerson: boolean }
  | { status: "duplicate" };

/** Days a provider message id is remembered; providers stop retrying long before. */
export const RECEIPT_DAYS = 7;

/**
 * Who a channel identity is, remembered per node (channel, connection, provider user id → end
 * user and identity), so a known person's message is taken in with one statement. An entry that
 * went stale (the identity was linked to another end user) fails that statement's check and the
 * message takes the full path, which refreshes it.
 */
export class KnownPeople {
  readonly #map = new Map<string, { identityId: string; endUserId: string }>();
  constructor(private readonly max = 100_000) {}
  static key(m: NormalizedInbound) {
    return `${m.creatorId}:${m.channel}:${m.externalUserId}`;
  }
  get(m: NormalizedInbound) {
    return this.#map.get(KnownPeople.key(m));
  }
  set(m: NormalizedInbound, v: { identityId: string; endUserId: string }) {
    const k = KnownPeople.key(m);
    this.#map.delete(k);
    this.#map.set(k, v);
    if (this.#map.size > this.max) this.#map.delete(this.#map.keys().next().value!);
  }
  forget(m: NormalizedInbound) {
    this.#map.delete(KnownPeople.key(m));
  }
}

export interface IntakeDeps {
  pool: pg.Pool;
  system: ActorSystem;
  known?: KnownPeople;
}

export async function takeIn(deps: IntakeDeps, m: NormalizedInbound): Promise<IntakeResult> {
  const known = deps.known?.get(m);
  const code = linkCodeOf(m);
  if (known && !consentOf(m.content) && !isStart(m) && !code) {
    const fast = await takeInKnown(deps, m, known);
    if (fast) return fast;
    deps.known?.forget(m);
  }
  const { result, row } = await withTenant(deps.pool, m.creatorId, async (tx) => {
    const receipt = await tx.query(
      `insert into inbound_receipts (creator_id, connection_id, external_message_id)
       values (app_creator_id(), $1, $2) on conflict do nothing returning 1`,
      [m.connectionId, m.externalMessageId],
    );
    if (receipt.rowCount === 0) return { result: { status: "duplicate" } as const, row: null };
    // A link code moves this identity to the person who asked for it, before it is looked up.
    const link = code ? await redeemLinkCode(tx, m, code) : undefined;
    const person = await findOrCreatePerson(tx, m);
    const consent = consentOf(m.content);
    if (consent) {
      await tx.query(
        "update end_users set status = $2 where id = $1 and status <> $2",
        [person.endUserId, consent],
      );
    }
    const outbox = await deps.system.client.tellWithin(
      tx,
      userAddress(m.creatorId, person.endUserId),
      "inbound",
      inboundOf(link ? linkAnswered(m, link) : m, person),
      { msgId: msgIdOf(m) },
    );
    return { result: { status: "accepted", ...person } as const, row: outbox };
  });
  if (result.status === "accepted") {
    deps.known?.set(m, { identityId: result.identityId, endUserId: result.endUserId });
  }
  // After the commit; should this fail, the runtime's outbox sweep sends it within seconds.
  if (row) await deps.system.publishOutbox([row]);
  return result;
}

/** The UserActor hears how a link code went instead of the code itself. */
const linkAnswered = (m: NormalizedInbound, link: LinkOutcome): NormalizedInbound => ({
  ...m,
  content: { type: "command", command: LINK_COMMAND, args: link.linked ? "linked" : "invalid" },
});
const msgIdOf = (m: NormalizedInbound) => `in:${m.connectionId}:${m.externalMessageId}`;
const isStart = (m: NormalizedInbound) =>
  m.content.type === "command" && m.content.command === "start";
const inboundOf = (
  m: NormalizedInbound,
  person: { endUserId: string; identityId: string },
): Inbound => ({
  ...m,
  endUserId: person.endUserId,
  identityId: person.identityId,
  receivedAt: Date.now(),
});

/**
 * A known person's message in one statement (atomic on its own): the identity is touched only if
 * it still belongs to that end user, the receipt taken only then, and the UserActor's outbox row
 * written only for a new receipt. Undefined when the identity moved.
 */
async function takeInKnown(
  deps: IntakeDeps,
  m: NormalizedInbound,
  person: { identityId: string; endUserId: string },
): Promise<IntakeResult | undefined> {
  // The row is built by the runtime's client; its insert is folded into this statement.
  const row = await deps.system.client.tellWithin(
    { query: () => Promise.resolve() },
    userAddress(m.creatorId, person.endUserId),
    "inbound",
    inboundOf(m, person),
    { msgId: msgIdOf(m) },
  );
  const { rows: [r] } = await deps.pool.query<{ known: boolean; fresh: boolean }>(
    `with i as (
       update channel_identities
          set last_inbound_at = now(), updated_at = now(), connection_id = $4,
              display_name = coalesce(nullif($6, ''), display_name)
        where id = $1 and end_user_id = $2 and creator_id = $3
        returning id),
     r as (
       insert into inbound_receipts (creator_id, connection_id, external_message_id)
       select $3, $4, $5 where exists (select 1 from i)
       on conflict do nothing returning 1),
     o as (
       insert into rt_outbox (id, partition, subject, headers, payload)
       select $7, $8, $9, '{}', $10 where exists (select 1 from r)
       on conflict (id) do nothing returning 1)
     select exists (select 1 from i) known, exists (select 1 from r) fresh,
            (select count(*) from o) written`,
    [
      person.identityId,
      person.endUserId,
      m.creatorId,
      m.connectionId,
      m.externalMessageId,
      m.displayName ?? "",
      row.id,
      row.partition,
      row.subject,
      row.payload,
    ],
  );
  if (!r?.known) return undefined;
  if (!r.fresh) return { status: "duplicate" };
  await deps.system.publishOutbox([row]);
  return { status: "accepted", ...person, newPerson: false };
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
