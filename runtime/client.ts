import type { NatsConnection, Subscription } from "@nats-io/transport-node";
import { createInbox } from "@nats-io/transport-node";
import type { JetStreamClient } from "@nats-io/jetstream";
import { context, propagation, SpanKind, trace } from "@opentelemetry/api";
import {
  type ActorAddress,
  type AnyActorDefinition,
  type AskArgs,
  type HandlersOf,
  type MessageOf,
  type Protocol,
  type ReplyOf,
} from "./actor.ts";
import { checkAddress, mailboxSubject, partitionOf } from "./address.ts";
import { type Clock, realClock } from "./clock.ts";
import { decodeJson, encodeEnvelope, H, makeHeaders, type ReplyBody } from "./envelope.ts";
import { AskCycleError, AskTimeoutError, RemoteHandlerError } from "./errors.ts";
import { encodeBase64 } from "./base64.ts";
import { SendBatcher } from "./send_batcher.ts";

/** Settings of an {@linkcode ActorClient}; an `ActorSystem` passes its own. */
export interface ClientOptions {
  /** The cluster's subject and stream prefix. */
  prefix: string;
  /** The cluster's partition count. */
  partitions: number;
  /** Largest encoded message accepted, in bytes. */
  maxPayload?: number;
  /** Timeout of an `ask` that gives none (10 s). */
  defaultAskTimeoutMs?: number;
  /** What ask timeouts are measured on (real time by default). */
  clock?: Clock;
}

/** Options of `tell` and `ask`. */
export interface SendOptions {
  /** Idempotency: JetStream drops a second publish with the same id inside its duplicate window. */
  msgId?: string;
  /** Actors waiting on this call chain (for ask-cycle detection). */
  chain?: readonly string[];
}

/** Options of `ask`: those of `tell` and how long to wait for the reply. */
export interface AskOptions extends SendOptions {
  /** Milliseconds (on the client's clock) before the ask fails with `AskTimeoutError`. */
  timeoutMs?: number;
}

/**
 * A message `tellWithin` wrote into the caller's transaction, to be published with
 * `ActorSystem.publishOutbox` once that transaction committed.
 */
export interface StagedTell {
  /** The message id (`Nats-Msg-Id`): a retried `tellWithin` with the same id is sent once. */
  readonly id: string;
  /** The target's mailbox subject. */
  readonly subject: string;
  /** The target's partition (whose owner's outbox sweep sends the row if nobody publishes it). */
  readonly partition: number;
  /** The encoded message. */
  readonly payload: Uint8Array;
}

export const tracer = trace.getTracer("coachd-runtime");

/** Sends messages to actors over their JetStream mailboxes. Needs no partition ownership. */
export class ActorClient implements AsyncDisposable {
  readonly #nc: NatsConnection;
  readonly #js: JetStreamClient;
  readonly #opts: Required<Omit<ClientOptions, "clock">>;
  readonly #clock: Clock;
  readonly #inbox = createInbox();
  #sub?: Subscription;
  #seq = 0;
  readonly #pending = new Map<string, (body: ReplyBody) => void>();
  /** Shared with the system hosting actors: acks, replies and asks leave in one write. */
  readonly sends = new SendBatcher();

  /** A client on `nc`; an `ActorSystem` makes one, reachable as `system.client`. */
  constructor(nc: NatsConnection, js: JetStreamClient, opts: ClientOptions) {
    this.#nc = nc;
    this.#js = js;
    this.#opts = {
      prefix: opts.prefix,
      partitions: opts.partitions,
      maxPayload: opts.maxPayload ?? 256 * 1024,
      defaultAskTimeoutMs: opts.defaultAskTimeoutMs ?? 10_000,
    };
    this.#clock = opts.clock ?? realClock;
  }

  /** The cluster's subject and stream prefix. */
  get prefix(): string {
    return this.#opts.prefix;
  }

  /** The mailbox subject of an actor. @throws InvalidActorAddressError */
  subjectOf(to: ActorAddress): string {
    checkAddress(to.type, to.id);
    return mailboxSubject(
      this.#opts.prefix,
      partitionOf(to.type, to.id, this.#opts.partitions),
      to.type,
      to.id,
    );
  }

  /**
   * Publishes to the actor's mailbox and resolves once JetStream has stored it. A contract's
   * address types the kind and the data.
   */
  async tell<P extends Protocol, K extends keyof P & string>(
    to: ActorAddress<P>,
    kind: K,
    ...[data, opts = {}]: AskArgs<P[K]["input"], SendOptions>
  ): Promise<void> {
    const subject = this.subjectOf(to);
    const payload = encodeEnvelope(kind, data, this.#opts.maxPayload);
    const span = tracer.startSpan("actor.tell", {
      kind: SpanKind.PRODUCER,
      attributes: { "actor.type": to.type, "actor.id": to.id, "message.kind": kind },
    });
    try {
      const carrier: Record<string, string> = {};
      propagation.inject(trace.setSpan(context.active(), span), carrier);
      const msgId = opts.msgId ?? crypto.randomUUID();
      await this.#js.publish(subject, payload, {
        msgID: msgId,
        headers: makeHeaders({
          [H.chain]: opts.chain?.length ? opts.chain.join(",") : undefined,
          [H.traceparent]: carrier.traceparent,
        }),
      });
    } finally {
      span.end();
    }
  }

  /**
   * Sends a message and waits for the handler's reply, sent after the turn commits. A contract's
   * address types the kind, the data and the reply; `R` names the reply of a plain address.
   * @throws AskTimeoutError when no reply comes in time; AskCycleError when `to` is on `chain`.
   */
  async ask<
    R = never,
    P extends Protocol = Protocol,
    K extends keyof P & string = keyof P & string,
  >(
    to: ActorAddress<P>,
    kind: K,
    ...[data, opts = {}]: AskArgs<P[K]["input"], AskOptions>
  ): Promise<[R] extends [never] ? P[K]["reply"] : R> {
    const target = `${to.type}/${to.id}`;
    if (opts.chain?.includes(target)) throw new AskCycleError([...opts.chain, target]);
    const subject = this.subjectOf(to);
    const payload = encodeEnvelope(kind, data, this.#opts.maxPayload);
    this.#ensureInbox();
    const carrier: Record<string, string> = {};
    propagation.inject(context.active(), carrier);
    const token = `${this.#inbox}.${++this.#seq}`;
    const timeoutMs = opts.timeoutMs ?? this.#opts.defaultAskTimeoutMs;
    const reply = new Promise<ReplyBody>((resolve, reject) => {
      const timer = this.#clock.setTimeout(() => {
        this.#pending.delete(token);
        reject(new AskTimeoutError(target, kind, timeoutMs));
      }, timeoutMs);
      this.#pending.set(token, (body) => {
        this.#clock.clearTimeout(timer);
        resolve(body);
      });
    });
    // A core publish is captured by the stream like a JetStream one; the reply (or its timeout)
    // is the acknowledgement, which saves a round trip per ask.
    const headers = makeHeaders({
      [H.msgId]: opts.msgId ?? crypto.randomUUID(),
      [H.reply]: token,
      [H.chain]: opts.chain?.length ? opts.chain.join(",") : undefined,
      [H.traceparent]: carrier.traceparent,
    });
    this.sends.defer(() => this.#nc.publish(subject, payload, { headers }));
    const body = await reply;
    if ("err" in body) throw new RemoteHandlerError(target, body.err);
    return body.ok as [R] extends [never] ? P[K]["reply"] : R;
  }

  /**
   * Writes the message as an outbox row through `db`, inside the caller's transaction, so it is
   * sent if and only if that transaction commits. Publish the returned tell after the commit with
   * `ActorSystem.publishOutbox` for low latency; otherwise the owner of the target's partition
   * sweeps it within seconds. The id (`msgId`) deduplicates a retried call.
   */
  async tellWithin<P extends Protocol, K extends keyof P & string>(
    db: { query(text: string, values?: unknown[]): Promise<unknown> },
    to: ActorAddress<P>,
    kind: K,
    ...[data, opts = {}]: AskArgs<P[K]["input"], { msgId?: string }>
  ): Promise<StagedTell> {
    const tell: StagedTell = {
      id: opts.msgId ?? crypto.randomUUID(),
      subject: this.subjectOf(to),
      partition: partitionOf(to.type, to.id, this.#opts.partitions),
      payload: encodeEnvelope(kind, data, this.#opts.maxPayload),
    };
    await db.query(
      `insert into rt_outbox (id, partition, subject, headers, payload)
       values ($1, $2, $3, '{}', decode($4, 'base64')) on conflict (id) do nothing`,
      [tell.id, tell.partition, tell.subject, encodeBase64(tell.payload)],
    );
    return tell;
  }

  /** A typed handle on one actor of a defined type. */
  ref<D extends AnyActorDefinition>(def: D, id: string): ActorRef<D> {
    return new ActorRef(this, def, id);
  }

  #ensureInbox() {
    if (this.#sub) return;
    this.#sub = this.#nc.subscribe(`${this.#inbox}.*`, {
      callback: (err, msg) => {
        if (err) return;
        const resolve = this.#pending.get(msg.subject);
        if (!resolve) return;
        this.#pending.delete(msg.subject);
        try {
          resolve(decodeJson<ReplyBody>(msg.data));
        } catch (e) {
          resolve({ err: { name: "DecodeError", message: String(e) } });
        }
      },
    });
  }

  /** Stops listening for replies. */
  async [Symbol.asyncDispose](): Promise<void> {
    this.#sub?.unsubscribe();
    this.#sub = undefined;
    await Promise.resolve();
  }
}

/** A typed handle on one actor: `ref.ask("message", "hi")` is checked against the definition. */
export class ActorRef<D extends AnyActorDefinition> implements ActorAddress {
  /** The actor's type (the definition's). */
  readonly type: string;
  /** A handle on actor `id` of type `def`; usually from `ActorSystem.ref`. */
  constructor(readonly client: ActorClient, readonly def: D, readonly id: string) {
    this.type = def.type;
  }

  /** Sends `data` to the handler `kind`; resolves once JetStream has stored it. */
  tell<K extends keyof HandlersOf<D> & string>(
    kind: K,
    data: MessageOf<D, K>,
    opts?: SendOptions,
  ): Promise<void> {
    return this.client.tell(this, kind, data, opts);
  }

  /** Sends `data` to the handler `kind` and resolves with its reply, typed by the definition. */
  ask<K extends keyof HandlersOf<D> & string>(
    kind: K,
    data: MessageOf<D, K>,
    opts?: AskOptions,
  ): Promise<ReplyOf<D, K>> {
    return this.client.ask<ReplyOf<D, K>>(this, kind, data, opts) as Promise<ReplyOf<D, K>>;
  }
}
