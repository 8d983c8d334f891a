/**
 * Link codes: a person asks for one on a channel where we know them (the app, the widget) and
 * sends it on another (`/start <code>` through a Telegram deep link, or the code as a WhatsApp
 * message); the identity it arrives on then belongs to the same end user, so one UserActor sees
 * the whole person and their history follows them. Codes are eight characters of an alphabet
 * without look-alikes (8.5e11 less the ~9% without a digit), kept as hashes, live ten minutes, work once, and a person
 * may ask for a few per window only.
 */
import type pg from "pg";
import type { NormalizedInbound } from "../../actors/mod.ts";
import { withTenant } from "../../db/tenant.ts";
import { sha256 } from "../mobile/tokens.ts";

export const LINK_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ";
export const LINK_CODE_LENGTH = 8;

export interface LinkCodeOptions {
  ttlMs?: number;
  /** Codes one end user may ask for per window (default 5 per 10 minutes). */
  maxPerWindow?: number;
  windowMs?: number;
}

export class LinkCodeRateLimitedError extends Error {
  constructor(readonly retryAfterSeconds: number) {
    super(`Too many link codes asked for; retry in ${retryAfterSeconds} s`);
    this.name = "LinkCodeRateLimitedError";
  }
}

/** A fresh code that linkCodeIn recognises. */
export function randomCode(): string {
  // A code must read as one (a digit and a letter, see linkCodeIn): draw again until it does.
  for (;;) {
    const code = randomChars();
    if (linkCodeIn(code)) return code;
  }
}

function randomChars(): string {
  // Rejection sampling keeps every character equally likely.
  let out = "";
  while (out.length < LINK_CODE_LENGTH) {
    for (const b of crypto.getRandomValues(new Uint8Array(16))) {
      if (b < 248 && out.length < LINK_CODE_LENGTH) out += LINK_ALPHABET[b % 31];
    }
  }
  return out;
}

/**
 * The code in a message, if the message is one: case, spaces and dashes do not matter, and a
 * code has at least one digit and one letter (so an ordinary word is never taken for one).
 */
export function linkCodeIn(text: string): string | undefined {
  const t = text.trim().toUpperCase().replace(/[\s-]/g, "");
  if (t.length !== LINK_CODE_LENGTH) return undefined;
  for (const ch of t) if (!LINK_ALPHABET.includes(ch)) return undefined;
  return /\d/.test(t) && /[A-Z]/.test(t) ? t : undefined;
}

/** The link code a message carries: `/start <code>` (a Telegram deep link) or the bare code. */
export function linkCodeOf(m: NormalizedInbound): string | undefined {
  const c = m.content;
  if (c.type === "command") return c.command === "start" ? linkCodeIn(c.args) : undefined;
  return c.type === "text" ? linkCodeIn(c.text) : undefined;
}

const hashOf = (code: string) => sha256(`link:${code}`);

/** A new code for the end user. @throws LinkCodeRateLimitedError */
export async function createLinkCode(
  pool: pg.Pool,
  creatorId: string,
  endUserId: string,
  { ttlMs = 10 * 60_000, maxPerWindow = 5, windowMs = 10 * 60_000 }: LinkCodeOptions = {},
): Promise<{ code: string; expiresAt: Date }> {
  return await withTenant(pool, creatorId, async (tx) => {
    // One person's requests are counted under a lock on them, so parallel requests cannot race.
    await tx.query("select 1 from end_users where id = $1 for update", [endUserId]);
    const { rows: [w] } = await tx.query<{ n: number; oldest: Date | null }>(
      `select count(*)::int n, min(created_at) oldest from link_codes
        where end_user_id = $1 and created_at > now() - make_interval(secs => $2)`,
      [endUserId, windowMs / 1000],
    );
    if (w!.n >= maxPerWindow) {
      const wait = w!.oldest ? w!.oldest.getTime() + windowMs - Date.now() : windowMs;
      throw new LinkCodeRateLimitedError(Math.max(1, Math.ceil(wait / 1000)));
    }
    // Old codes of this person are of no more use.
    await tx.query(
      "delete from link_codes where end_user_id = $1 and expires_at < now() - interval '1 day'",
      [endUserId],
    );
    const code = randomCode();
    const { rows: [r] } = await tx.query<{ expires_at: Date }>(
      `insert into link_codes (creator_id, end_user_id, code_sha256, expires_at)
       values (app_creator_id(), $1, $2, now() + make_interval(secs => $3)) returning expires_at`,
      [endUserId, hashOf(code), ttlMs / 1000],
    );
    return { code, expiresAt: r!.expires_at };
  });
}

/** Codes one identity may try per window, right or wrong (a person needs one or two). */
export const MAX_ATTEMPTS = 10;
const ATTEMPT_WINDOW_MS = 10 * 60_000;

async function tooManyAttempts(
  tx: pg.PoolClient,
  m: { channel: string; externalUserId: string },
): Promise<boolean> {
  const window = Math.floor(Date.now() / ATTEMPT_WINDOW_MS);
  const { rows: [r] } = await tx.query<{ count: number }>(
    `insert into link_attempts as a (creator_id, channel, external_id, window_start, count)
     values (app_creator_id(), $1, $2, $3, 1)
     on conflict (creator_id, channel, external_id) do update set
       count = case when a.window_start = excluded.window_start then a.count + 1 else 1 end,
       window_start = excluded.window_start
     returning count`,
    [m.channel, m.externalUserId, window],
  );
  return r!.count > MAX_ATTEMPTS;
}

export type LinkOutcome = { linked: true; endUserId: string } | { linked: false };

/**
 * Redeems a code for the identity `(channel, externalId)`, inside the intake's tenant
 * transaction: the identity (created if new) moves to the code's end user, and what the end user
 * it left had (conversations, messages, deliveries, devices) moves with it; an end user left
 * without identities is removed. A code is used once; an expired or unknown one links nothing.
 */
export async function redeemLinkCode(
  tx: pg.PoolClient,
  m: { channel: string; externalUserId: string; connectionId: string; displayName?: string },
  code: string,
): Promise<LinkOutcome> {
  if (await tooManyAttempts(tx, m)) return { linked: false };
  const { rows: [hit] } = await tx.query<{ end_user_id: string }>(
    `update link_codes set used_at = now()
      where code_sha256 = $1 and used_at is null and expires_at > now()
      returning end_user_id`,
    [hashOf(code)],
  );
  if (!hit) return { linked: false };
  const target = hit.end_user_id;
  const { rows: [identity] } = await tx.query<{ id: string; end_user_id: string }>(
    `select id, end_user_id from channel_identities where channel = $1 and external_id = $2
      for update`,
    [m.channel, m.externalUserId],
  );
  if (!identity) {
    const { rows: [made] } = await tx.query<{ id: string }>(
      `insert into channel_identities (creator_id, end_user_id, channel, external_id,
                                       connection_id, display_name)
       values (app_creator_id(), $1, $2, $3, $4, $5) returning id`,
      [target, m.channel, m.externalUserId, m.connectionId, m.displayName ?? ""],
    );
    await tx.query("update link_codes set used_by_identity = $2 where code_sha256 = $1", [
      hashOf(code),
      made!.id,
    ]);
    return { linked: true, endUserId: target };
  }
  await tx.query("update link_codes set used_by_identity = $2 where code_sha256 = $1", [
    hashOf(code),
    identity.id,
  ]);
  const from = identity.end_user_id;
  if (from === target) return { linked: true, endUserId: target };
  await tx.query(
    "update channel_identities set end_user_id = $2, updated_at = now() where id = $1",
    [identity.id, target],
  );
  const left = await tx.query("select 1 from channel_identities where end_user_id = $1 limit 1", [
    from,
  ]);
  if (!left.rowCount) {
    // Nobody is left behind: what that end user had is the person's and comes along.
    for (const table of ["conversations", "messages", "deliveries", "user_interactions"]) {
      await tx.query(`update ${table} set end_user_id = $2 where end_user_id = $1`, [from, target]);
    }
    await tx.query(
      `update push_tokens set end_user_id = $2 where end_user_id = $1`,
      [from, target],
    );
    await tx.query(
      `update end_user_tokens set end_user_id = $2 where end_user_id = $1`,
      [from, target],
    );
    await tx.query(
      `update end_users t set last_active_at = greatest(t.last_active_at, f.last_active_at),
              status = case when f.status = 'opted_out' or t.status = 'opted_out'
                            then 'opted_out' else t.status end
         from end_users f where t.id = $2 and f.id = $1`,
      [from, target],
    );
    await tx.query("delete from end_users where id = $1", [from]);
  }
  return { linked: true, endUserId: target };
}
