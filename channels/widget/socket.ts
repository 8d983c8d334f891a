/**
 * One real-time socket, whatever carries it (the Hono WebSocket route): authentication by the
 * first frame, replay from the last message id the client saw, history pages, live events from
 * the person's fan-out subject, and the person's own messages taken in like any channel's.
 *
 * Order and exactly-once display: every message has the person's gap-free number. The session
 * subscribes to the fan-out before it reads the log, then sends each number once, in order; a
 * live event beyond the next expected number first fetches the ones in between from the log, a
 * number already sent is dropped.
 */
import type pg from "pg";
import type { ActorSystem, Clock, Logger } from "../../runtime/mod.ts";
import { withTenant } from "../../db/tenant.ts";
import type { NormalizedInbound } from "../../actors/mod.ts";
import { type KnownPeople, takeIn } from "../core/intake.ts";
import type { HubEvent, RealtimeHub } from "./hub.ts";
import { appendMessage, messagesAfter, messagesBefore, type RealtimeMessage } from "./log.ts";
import { ClientFrame, CLOSE, PROTOCOL_VERSION, type ServerFrame } from "./protocol.ts";

/** Who is on a socket, as an authenticator vouches. */
export interface SocketPrincipal {
  creatorId: string;
  /** The channel connection (widget key, app) the person reaches us through. */
  connectionId: string;
  channel: "web_widget" | "mobile_app";
  /** The channel identity's external id. */
  externalUserId: string;
  identified: boolean;
  displayName?: string;
  /** The end user, when the token names one; otherwise found by the identity (or made by the first message). */
  endUserId?: string;
}

/**
 * Turns the token of a `hello` frame into a principal: the widget's sessions here; the mobile
 * app's end-user tokens plug in the same way. Null: not a token this authenticator accepts.
 */
export interface SocketAuthenticator {
  authenticate(token: string, o: { connectionId?: string }): Promise<SocketPrincipal | null>;
}

export interface SocketLink {
  send(frame: ServerFrame): void;
  close(code: number, reason: string): void;
}

/** A delivery reached a socket (`delivered`) or the person read it (`read`). */
export type DeliveryNotice = (
  p: SocketPrincipal,
  endUserId: string,
  seq: number,
  status: "delivered" | "read",
) => void;

export interface SocketDeps {
  pool: pg.Pool;
  system: ActorSystem;
  hub: RealtimeHub;
  authenticators: SocketAuthenticator[];
  known?: KnownPeople;
  clock: Clock;
  log: Logger;
  /** Counts one message in `bucket`; false when the bucket is over its limit. */
  allow?: (bucket: string, kind: "visitor" | "key") => Promise<boolean>;
  onDelivery?: DeliveryNotice;
  /** Ms between streamed pieces of an answer (0: whole messages only). */
  streamChunkMs?: number;
  helloTimeoutMs?: number;
}

/** Answers are streamed in at most this many pieces. */
const MAX_PIECES = 40;
const REPLAY_LIMIT = 1000;

export class SocketSession {
  #principal?: SocketPrincipal;
  #endUserId?: string;
  #listening?: Disposable;
  #next = 1;
  #out: Promise<void> = Promise.resolve();
  #in: Promise<void> = Promise.resolve();
  #closed = false;
  #helloTimer?: number;
  #unread: number[] = [];

  constructor(
    private readonly deps: SocketDeps,
    private readonly link: SocketLink,
    private readonly o: { connectionId?: string } = {},
  ) {
    this.#helloTimer = deps.clock.setTimeout(() => {
      if (!this.#principal) this.#close(CLOSE.helloTimeout, "hello expected");
    }, deps.helloTimeoutMs ?? 10_000);
  }

  /** The end user on the socket, once known. */
  get endUserId(): string | undefined {
    return this.#endUserId;
  }

  onText(text: string): void {
    let raw: unknown;
    try {
      raw = JSON.parse(text);
    } catch {
      return this.#bad("frames are JSON");
    }
    const parsed = ClientFrame.safeParse(raw);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      return this.#bad(`${issue?.path.join(".") || "frame"}: ${issue?.message ?? "invalid"}`);
    }
    const f = parsed.data;
    if (f.type === "ping") return this.#send({ type: "pong", t: f.t });
    if (f.type === "hello") {
      if (this.#principal) return this.#bad("hello was sent already");
      this.#in = this.#in.then(() => this.#hello(f.token, f.after)).catch((err) => this.#fail(err));
      return;
    }
    this.#in = this.#in.then(() => {
      if (!this.#principal) return this.#close(CLOSE.unauthenticated, "hello first");
      if (f.type === "message") return this.#message(f.cid, f.text, f.payload);
      if (f.type === "history") return this.#history(f.before, f.limit ?? 30);
      if (f.type === "read") return this.#read(f.upTo);
      // The visitor typing: accepted, nobody watches it yet.
    }).catch((err) => this.#fail(err));
  }

  onClose(): void {
    this.#closed = true;
    this.deps.clock.clearTimeout(this.#helloTimer ?? 0);
    this.#listening?.[Symbol.dispose]();
    this.#listening = undefined;
  }

  async #hello(token: string, after: number | undefined) {
    let p: SocketPrincipal | null = null;
    for (const a of this.deps.authenticators) {
      p = await a.authenticate(token, { connectionId: this.o.connectionId });
      if (p) break;
    }
    if (!p) {
      this.#send({ type: "error", code: "unauthenticated", message: "invalid or expired token" });
      return this.#close(CLOSE.unauthenticated, "invalid token");
    }
    this.#principal = p;
    this.deps.clock.clearTimeout(this.#helloTimer ?? 0);
    this.#send({
      type: "ready",
      v: PROTOCOL_VERSION,
      visitor: { id: p.externalUserId, identified: p.identified },
    });
    const endUserId = p.endUserId ?? await this.#lookUp(p);
    if (endUserId) await this.#attach(endUserId, after);
  }

  async #lookUp(p: SocketPrincipal): Promise<string | undefined> {
    return await withTenant(
      this.deps.pool,
      p.creatorId,
      async (c) =>
        (await c.query<{ end_user_id: string }>(
          "select end_user_id from channel_identities where channel = $1 and external_id = $2",
          [p.channel, p.externalUserId],
        )).rows[0]?.end_user_id,
    );
  }

  /** Subscribes to the person's events, then replays (after `after`) or sends the newest page. */
  async #attach(endUserId: string, after: number | undefined) {
    if (this.#closed || this.#endUserId) return;
    this.#endUserId = endUserId;
    const p = this.#principal!;
    this.#listening = this.deps.hub.listen(endUserId, (e) => this.#enqueue(() => this.#event(e)));
    await this.#enqueue(async () => {
      if (after === undefined) {
        const page = await messagesBefore(this.deps.pool, { creatorId: p.creatorId, endUserId });
        this.#send({ type: "history", messages: page.messages, more: page.more });
        this.#next = (page.messages.at(-1)?.id ?? 0) + 1;
        return;
      }
      this.#next = after + 1;
      const missed = await messagesAfter(this.deps.pool, {
        creatorId: p.creatorId,
        endUserId,
        after,
        limit: REPLAY_LIMIT,
      });
      for (const m of missed) this.#emit(m, false);
    });
  }

  #enqueue(job: () => Promise<void>): Promise<void> {
    this.#out = this.#out.then(() => (this.#closed ? undefined : job())).catch((err) =>
      this.#fail(err)
    );
    return this.#out;
  }

  async #event(e: HubEvent) {
    if (e.type === "typing") return this.#send(e);
    const m = e.message;
    if (m.id < this.#next) return; // sent already (a repeat, or replayed)
    if (m.id > this.#next) {
      const p = this.#principal!;
      const gap = await messagesAfter(this.deps.pool, {
        creatorId: p.creatorId,
        endUserId: this.#endUserId!,
        after: this.#next - 1,
        upTo: m.id - 1,
      });
      for (const g of gap) this.#emit(g, false);
    }
    if (m.role !== "user" && (this.deps.streamChunkMs ?? 0) > 0) await this.#stream(m);
    this.#emit(m, true);
  }

  /** Sends a message's text in pieces (whole words), a little apart, before the message itself. */
  async #stream(m: RealtimeMessage) {
    const words = m.text.split(/(?<=\s)/);
    const per = Math.max(1, Math.ceil(words.length / MAX_PIECES));
    for (let i = 0; i < words.length && !this.#closed; i += per) {
      this.#send({ type: "delta", id: m.id, text: words.slice(i, i + per).join("") });
      await new Promise<void>((r) => this.deps.clock.setTimeout(r, this.deps.streamChunkMs!));
    }
  }

  #emit(m: RealtimeMessage, live: boolean) {
    if (m.id < this.#next && live) return;
    this.#send({ type: "message", message: m, live });
    this.#next = Math.max(this.#next, m.id + 1);
    if (m.role !== "user") {
      this.deps.onDelivery?.(this.#principal!, this.#endUserId!, m.id, "delivered");
      this.#unread.push(m.id);
      if (this.#unread.length > 200) this.#unread.shift();
    }
  }

  async #message(cid: string, text: string, payload?: string) {
    const p = this.#principal!;
    const deps = this.deps;
    if (deps.allow) {
      const bucket = `${p.connectionId}:${p.externalUserId}`;
      if (!(await deps.allow(bucket, "visitor")) || !(await deps.allow(p.connectionId, "key"))) {
        return this.#send({ type: "status", cid, status: "rate_limited" });
      }
    }
    const inbound: NormalizedInbound = {
      channel: p.channel,
      connectionId: p.connectionId,
      creatorId: p.creatorId,
      externalUserId: p.externalUserId,
      externalMessageId: `${p.externalUserId}:${cid}`,
      ...(p.displayName ? { displayName: p.displayName } : {}),
      sentAt: deps.clock.now(),
      content: payload ? { type: "button", payload, text } : { type: "text", text },
    };
    const taken = await takeIn(
      { pool: deps.pool, system: deps.system, known: deps.known },
      inbound,
    );
    const endUserId = taken.status === "accepted"
      ? taken.endUserId
      : this.#endUserId ?? await this.#lookUp(p);
    if (!endUserId) {
      return this.#send({ type: "status", cid, status: "failed", reason: "unknown person" });
    }
    const { message } = await appendMessage(deps.pool, {
      creatorId: p.creatorId,
      endUserId,
      key: `in:${endUserId}:${cid}`,
      role: "user",
      body: { text, cid },
    });
    // A first message makes the person: from now on the socket follows them (from the start).
    if (!this.#endUserId) await this.#attach(endUserId, 0);
    deps.hub.publish(endUserId, { type: "message", message, sentAt: Date.now() });
    this.#send({ type: "status", cid, status: "received", id: message.id });
    if (taken.status === "accepted") {
      deps.hub.publish(endUserId, { type: "typing", on: true, by: "coach" });
    }
  }

  async #history(before: number, limit: number) {
    const p = this.#principal!;
    if (!this.#endUserId) return this.#send({ type: "history", messages: [], more: false, before });
    const page = await messagesBefore(this.deps.pool, {
      creatorId: p.creatorId,
      endUserId: this.#endUserId,
      before,
      limit,
    });
    this.#send({ type: "history", messages: page.messages, more: page.more, before });
  }

  #read(upTo: number) {
    const read = this.#unread.filter((id) => id <= upTo);
    this.#unread = this.#unread.filter((id) => id > upTo);
    for (const id of read) this.deps.onDelivery?.(this.#principal!, this.#endUserId!, id, "read");
  }

  #send(frame: ServerFrame) {
    if (this.#closed) return;
    try {
      this.link.send(frame);
    } catch {
      this.onClose();
    }
  }

  #bad(why: string) {
    this.#send({ type: "error", code: "bad_frame", message: why });
    if (!this.#principal) this.#close(CLOSE.badFrame, "bad frame");
  }

  #close(code: number, reason: string) {
    if (this.#closed) return;
    try {
      this.link.close(code, reason);
    } catch { /* already closed */ }
    this.onClose();
  }

  #fail(err: unknown) {
    this.deps.log.warn("real-time socket failed", { error: String(err) });
    this.#send({ type: "error", code: "internal", message: "something went wrong; reconnect" });
    this.#close(1011, "internal error");
  }
}
