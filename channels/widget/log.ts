/**
 * The real-time log: every message a person's sockets show (their own, the coach's, the
 * creator's), numbered per person 1, 2, 3... in commit order (migrations/0420). It is what a
 * socket replays on resume and pages through for history, so a message sent while no socket was
 * open arrives on the next connection.
 */
import type pg from "pg";
import { withTenant } from "../../db/tenant.ts";

export type RealtimeRole = "user" | "assistant" | "creator" | "system";

/** One message as sockets receive it. */
export interface RealtimeMessage {
  /** The person's message number: increasing, without gaps. */
  id: number;
  role: RealtimeRole;
  text: string;
  /** Epoch ms. */
  at: number;
  quickReplies?: { label: string; payload: string }[];
  citations?: { title: string; url?: string }[];
  /** The delivery's purpose (answer, creator_reply, nudge...) of an outbound message. */
  purpose?: string;
  /** The client's id of a message the person sent. */
  cid?: string;
}

export type MessageBody = Omit<RealtimeMessage, "id" | "role" | "at">;

interface Row {
  seq: string;
  role: RealtimeRole;
  body: MessageBody;
  created_at: Date;
}

const toMessage = (r: Row): RealtimeMessage => ({
  id: Number(r.seq),
  role: r.role,
  at: r.created_at.getTime(),
  ...r.body,
});

/**
 * Appends a message under an idempotency key; the same key again returns the first one
 * (`fresh: false`). The person's counter row is locked first, so numbers commit in order.
 */
export async function appendMessage(
  pool: pg.Pool,
  m: { creatorId: string; endUserId: string; key: string; role: RealtimeRole; body: MessageBody },
): Promise<{ message: RealtimeMessage; fresh: boolean }> {
  return await withTenant(pool, m.creatorId, async (c) => {
    await c.query(
      `insert into realtime_cursors (creator_id, end_user_id, last_seq)
       values (app_creator_id(), $1, 0) on conflict do nothing`,
      [m.endUserId],
    );
    const { rows: [cursor] } = await c.query<{ last_seq: string }>(
      "select last_seq from realtime_cursors where end_user_id = $1 for update",
      [m.endUserId],
    );
    const seen = await c.query<Row>(
      "select seq, role, body, created_at from realtime_messages where key = $1",
      [m.key],
    );
    if (seen.rows[0]) return { message: toMessage(seen.rows[0]), fresh: false };
    const seq = Number(cursor!.last_seq) + 1;
    const { rows: [row] } = await c.query<Row>(
      `insert into realtime_messages (creator_id, end_user_id, seq, key, role, body)
       values (app_creator_id(), $1, $2, $3, $4, $5)
       returning seq, role, body, created_at`,
      [m.endUserId, seq, m.key, m.role, stripUndefined(m.body)],
    );
    await c.query("update realtime_cursors set last_seq = $2 where end_user_id = $1", [
      m.endUserId,
      seq,
    ]);
    return { message: toMessage(row!), fresh: true };
  });
}

/** Messages after `after` (oldest first), at most `limit`. */
export async function messagesAfter(
  pool: pg.Pool,
  o: { creatorId: string; endUserId: string; after: number; limit?: number; upTo?: number },
): Promise<RealtimeMessage[]> {
  return await withTenant(pool, o.creatorId, async (c) =>
    (await c.query<Row>(
      `select seq, role, body, created_at from realtime_messages
        where end_user_id = $1 and seq > $2 and ($4::bigint is null or seq <= $4)
        order by seq limit $3`,
      [o.endUserId, o.after, o.limit ?? 500, o.upTo ?? null],
    )).rows.map(toMessage));
}

/** The page of messages before `before` (default: the newest), oldest first, and whether more exist. */
export async function messagesBefore(
  pool: pg.Pool,
  o: { creatorId: string; endUserId: string; before?: number; limit?: number },
): Promise<{ messages: RealtimeMessage[]; more: boolean }> {
  const limit = o.limit ?? 30;
  const rows = await withTenant(pool, o.creatorId, async (c) =>
    (await c.query<Row>(
      `select seq, role, body, created_at from realtime_messages
        where end_user_id = $1 and ($2::bigint is null or seq < $2)
        order by seq desc limit $3`,
      [o.endUserId, o.before ?? null, limit + 1],
    )).rows);
  return { messages: rows.slice(0, limit).reverse().map(toMessage), more: rows.length > limit };
}

function stripUndefined(body: MessageBody): MessageBody {
  return Object.fromEntries(Object.entries(body).filter(([, v]) => v !== undefined)) as MessageBody;
}
