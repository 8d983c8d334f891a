/**
 * Sessions that end when they should. An access token names its session (`sid`); each request
 * checks that the session is live and reads the member's current role, through a short per-node
 * cache. Logout, a role change and a member's removal end sessions in Postgres and announce it on
 * an `AuthEvents` bus (NATS across nodes), so every node drops its cached entry at once; should an
 * announcement be lost, the cache's time to live bounds how long a node may still trust it.
 * @module
 */
import type { NatsConnection } from "@nats-io/transport-node";
import type pg from "pg";
import type { Logger } from "../../runtime/mod.ts";
import type { Role } from "./credentials.ts";

/** What ended: some sessions, or every session of some members. */
export type AuthEvent =
  | { kind: "sessions"; sessionIds: string[] }
  | { kind: "members"; memberIds: string[] };

/** Carries `AuthEvent`s to every API instance (this one included). */
export interface AuthEvents {
  publish(event: AuthEvent): Promise<void>;
  /** Calls `listener` for each event until the returned handle is disposed. */
  subscribe(listener: (event: AuthEvent) => void): Disposable;
}

/** A bus within one process: enough for a single node, and for tests of one instance. */
export function localAuthEvents(): AuthEvents {
  const listeners = new Set<(event: AuthEvent) => void>();
  return {
    publish(event) {
      for (const listener of listeners) listener(event);
      return Promise.resolve();
    },
    subscribe(listener) {
      listeners.add(listener);
      return { [Symbol.dispose]: () => void listeners.delete(listener) };
    },
  };
}

/** The bus over core NATS: `subject` is shared by every node of a cluster. */
export function natsAuthEvents(nc: NatsConnection, subject: string): AuthEvents {
  return {
    async publish(event) {
      nc.publish(subject, JSON.stringify(event));
      await nc.flush();
    },
    subscribe(listener) {
      const sub = nc.subscribe(subject, {
        callback: (err, msg) => {
          if (err) return;
          try {
            listener(msg.json<AuthEvent>());
          } catch {
            // Not an event of ours; the cache's TTL still bounds staleness.
          }
        },
      });
      return { [Symbol.dispose]: () => sub.unsubscribe() };
    },
  };
}

/** A live session's member, as Postgres has it now. */
export interface SessionMember {
  creatorId: string;
  memberId: string;
  role: Role;
}

interface Entry {
  member: SessionMember | null;
  until: number;
}

/** The per-node cache of session checks; see the module doc. */
export class SessionCache implements Disposable {
  readonly #entries = new Map<string, Entry>();
  readonly #subscription: Disposable;

  constructor(
    readonly pool: pg.Pool,
    readonly events: AuthEvents,
    readonly log: Logger,
    readonly ttlMs = 5_000,
  ) {
    this.#subscription = events.subscribe((event) => this.#drop(event));
  }

  /** The member of a live session `sessionId` of `memberId`, or null when it has ended. */
  async member(sessionId: string, memberId: string): Promise<SessionMember | null> {
    const now = Date.now();
    const cached = this.#entries.get(sessionId);
    if (cached && cached.until > now) return cached.member;
    const { rows: [row] } = await this.pool.query<
      { creator_id: string; member_id: string; role: Role }
    >(
      `select s.creator_id, s.member_id, m.role from auth_sessions s
       join creator_members m on m.creator_id = s.creator_id and m.id = s.member_id
       where s.id = $1 and s.member_id = $2 and s.revoked_at is null`,
      [sessionId, memberId],
    );
    const member = row
      ? { creatorId: row.creator_id, memberId: row.member_id, role: row.role }
      : null;
    if (this.#entries.size > 10_000) this.#entries.clear();
    this.#entries.set(sessionId, { member, until: now + this.ttlMs });
    return member;
  }

  /**
   * Tells every node that sessions ended (call after the change has committed). This node forgets
   * them at once; a failed publish is logged, and the other nodes notice within the TTL.
   */
  async ended(event: AuthEvent): Promise<void> {
    this.#drop(event);
    try {
      await this.events.publish(event);
    } catch (err) {
      this.log.warn("session end not announced; other nodes notice within the cache TTL", {
        error: String(err),
        ttl_ms: this.ttlMs,
      });
    }
  }

  #drop(event: AuthEvent): void {
    if (event.kind === "sessions") {
      for (const id of event.sessionIds) this.#entries.delete(id);
      return;
    }
    const members = new Set(event.memberIds);
    for (const [id, entry] of this.#entries) {
      // A cached "ended" entry has no member; those stay ended anyway.
      if (entry.member && members.has(entry.member.memberId)) this.#entries.delete(id);
    }
  }

  [Symbol.dispose](): void {
    this.#subscription[Symbol.dispose]();
  }
}

/**
 * Ends sessions in the caller's transaction: all of `memberId`'s, or only `sessionId`; their
 * refresh tokens are revoked with them.
 * @returns the ended sessions' ids
 */
export async function endSessions(
  client: pg.PoolClient,
  where: { memberId: string } | { sessionId: string },
): Promise<string[]> {
  const [column, value] = "memberId" in where
    ? ["member_id", where.memberId]
    : ["id", where.sessionId];
  const { rows } = await client.query<{ id: string }>(
    `update auth_sessions set revoked_at = now() where ${column} = $1 and revoked_at is null
     returning id`,
    [value],
  );
  await client.query(
    `update refresh_tokens set revoked_at = now()
     where ${column === "id" ? "session_id" : "member_id"} = $1 and revoked_at is null`,
    [value],
  );
  return rows.map((r) => r.id);
}
