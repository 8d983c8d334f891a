/**
 * A worker on committed events: one durable JetStream consumer shared by the workers of one kind
 * on every node (each event reaches one of them), events decoded and checked against a schema,
 * handled several at a time, retried with growing delays, and dead-lettered with their reason
 * when they are malformed, rejected as terminal, or keep failing.
 */
import { nanos, type NatsConnection } from "@nats-io/transport-node";
import {
  AckPolicy,
  DeliverPolicy,
  jetstream,
  jetstreamManager,
  type JsMsg,
} from "@nats-io/jetstream";
import type { z } from "zod";
import type { DeadLetters } from "./dead_letters.ts";
import { H, headersToRecord } from "./envelope.ts";
import { TerminalError } from "./errors.ts";
import type { Logger } from "./logger.ts";

/** What a handler learns of the event beyond its body. */
export interface EventMeta {
  /** The event's unique id (its `Nats-Msg-Id`: stable across redeliveries). */
  id: string;
  subject: string;
  /** 1 on the first delivery. */
  attempt: number;
  /** The actor (`type/id`) whose committed turn emitted the event, when one did. */
  actor?: string;
  /** Tells JetStream the event is still being worked on (for handlers that wait). */
  working(): void;
}

export interface EventConsumerOptions<T> {
  nc: NatsConnection;
  /** The stream holding the events, e.g. `streamNames(prefix).events`. */
  stream: string;
  /** Durable name: the workers sharing it share the events. */
  durable: string;
  /** Subject filter, e.g. `<prefix>.evt.delivery.>`. */
  filter: string;
  schema: z.ZodType<T>;
  /** Applies one event; throws to retry it later, or a `TerminalError` to dead-letter it now. */
  handle(event: T, meta: EventMeta): Promise<void>;
  deadLetters: DeadLetters;
  log: Logger;
  /** Deliveries before an event that keeps failing is dead-lettered (default 5). */
  maxDeliver?: number;
  /** How long an unacknowledged event is held before it is redelivered (default 30 s). */
  ackWaitMs?: number;
  /** First retry delay, doubled each attempt up to `maxRetryDelayMs` (1 s, 60 s). */
  retryDelayMs?: number;
  maxRetryDelayMs?: number;
  /** Events handled at once by this worker (default 8). */
  concurrency?: number;
}

export interface EventConsumer extends AsyncDisposable {
  /** Events handled, retried and dead-lettered by this worker since it started. */
  readonly stats: { handled: number; retried: number; deadLettered: number };
  /** Stops taking events and waits for those in hand. */
  stop(): Promise<void>;
}

/** Starts a worker on the shared durable consumer (created, or updated to these settings). */
export async function startEventConsumer<T>(o: EventConsumerOptions<T>): Promise<EventConsumer> {
  const maxDeliver = o.maxDeliver ?? 5;
  const ackWaitMs = o.ackWaitMs ?? 30_000;
  const retryDelayMs = o.retryDelayMs ?? 1000;
  const maxRetryDelayMs = o.maxRetryDelayMs ?? 60_000;
  const concurrency = o.concurrency ?? 8;
  const log = o.log.child({ worker: o.durable });
  const jsm = await jetstreamManager(o.nc);
  const config = {
    durable_name: o.durable,
    filter_subject: o.filter,
    ack_policy: AckPolicy.Explicit,
    deliver_policy: DeliverPolicy.All,
    ack_wait: nanos(ackWaitMs),
    // One delivery beyond the worker's own attempts: an event whose last attempt crashed the
    // worker is still seen once more, and dead-lettered instead of silently dropped.
    max_deliver: maxDeliver + 1,
    max_ack_pending: Math.max(concurrency * 4, 64),
  };
  try {
    await jsm.consumers.add(o.stream, config);
  } catch {
    await jsm.consumers.update(o.stream, o.durable, config);
  }
  const consumer = await jetstream(o.nc).consumers.get(o.stream, o.durable);
  const messages = await consumer.consume({ max_messages: concurrency });
  const stats = { handled: 0, retried: 0, deadLettered: 0 };

  const deadLetter = async (m: JsMsg, reason: string) => {
    try {
      await o.deadLetters.put({
        subject: m.subject,
        data: m.data,
        headers: headersToRecord(m.headers),
        reason,
      });
    } catch (err) {
      log.error("could not dead-letter an event; it will come again", {
        subject: m.subject,
        error: String(err),
      });
      m.nak(retryDelayMs);
      return;
    }
    stats.deadLettered++;
    log.warn("event dead-lettered", { subject: m.subject, seq: m.seq, reason });
    m.term(reason.slice(0, 200));
  };

  const handleOne = async (m: JsMsg) => {
    const attempt = m.info.deliveryCount;
    if (attempt > maxDeliver) return await deadLetter(m, `exceeded ${maxDeliver} deliveries`);
    let body: unknown;
    try {
      body = JSON.parse(m.string());
    } catch {
      return await deadLetter(m, "malformed event: body is not JSON");
    }
    const parsed = o.schema.safeParse(body);
    if (!parsed.success) return await deadLetter(m, malformedReason(parsed.error));
    const headers = m.headers;
    const meta: EventMeta = {
      id: headers?.get(H.msgId) || `${o.stream}:${m.seq}`,
      subject: m.subject,
      attempt,
      actor: headers?.get(H.actor) || undefined,
      working: () => m.working(),
    };
    const heartbeat = setInterval(() => m.working(), Math.max(1000, ackWaitMs / 3));
    try {
      await o.handle(parsed.data, meta);
      stats.handled++;
      m.ack();
    } catch (err) {
      if (err instanceof TerminalError) return await deadLetter(m, err.message);
      log.warn("event failed", { subject: m.subject, attempt, error: String(err) });
      if (attempt >= maxDeliver) {
        await deadLetter(m, `failed ${attempt} times, last: ${String(err)}`);
      } else {
        stats.retried++;
        m.nak(Math.min(maxRetryDelayMs, retryDelayMs * 2 ** (attempt - 1)));
      }
    } finally {
      clearInterval(heartbeat);
    }
  };

  const inHand = new Set<Promise<void>>();
  const loop = (async () => {
    for await (const m of messages) {
      while (inHand.size >= concurrency) await Promise.race(inHand);
      const p: Promise<void> = handleOne(m).catch((err) => {
        // Not acked: it comes again after ack_wait.
        log.error("event handling broke", { subject: m.subject, error: String(err) });
      }).finally(() => inHand.delete(p));
      inHand.add(p);
    }
  })();
  let stopping: Promise<void> | undefined;
  const stop = () =>
    stopping ??= (async () => {
      await messages.close();
      await loop.catch(() => {});
      await Promise.allSettled([...inHand]);
    })();
  return { stats, stop, [Symbol.asyncDispose]: stop };
}

/** Why an event body failed its schema, as the consumer dead-letters it. */
function malformedReason(error: z.ZodError): string {
  const issues = error.issues.map((i) => `${i.path.join(".") || "(event)"}: ${i.message}`);
  return `malformed event: ${issues.join("; ")}`;
}

/**
 * An event body read with a schema chosen by its subject (a consumer taking several kinds of
 * event): one that does not fit fails its delivery for good, as the consumer's own schema would.
 */
export function parseEvent<T>(schema: z.ZodType<T>, body: unknown): T {
  const r = schema.safeParse(body);
  if (r.success) return r.data;
  throw new TerminalError(malformedReason(r.error));
}
