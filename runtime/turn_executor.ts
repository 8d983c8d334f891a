import {
  context,
  isSpanContextValid,
  propagation,
  SpanKind,
  SpanStatusCode,
  trace,
} from "@opentelemetry/api";
import type { ActorAddress, AnyHandlers } from "./actor.ts";
import type { Activation, Item } from "./activations.ts";
import { type ActorClient, type AskOptions, tracer } from "./client.ts";
import { type Clock, sleep } from "./clock.ts";
import { decodeEnvelope, H } from "./envelope.ts";
import {
  InvalidMessageError,
  InvalidStateError,
  NonDeterministicTurnError,
  TerminalError,
  UnknownMessageKindError,
} from "./errors.ts";
import type { Logger } from "./logger.ts";
import type { RuntimeMetrics } from "./metrics.ts";
import { errorInfo, type MessageSettler, type Rejection } from "./settler.ts";
import type { StateStore } from "./state_store.ts";
import type { TurnCommitter } from "./turn_commit.ts";
import { TurnContextImpl, type TurnIO } from "./turn_context.ts";
import { differences, TurnJournal, turnResult } from "./turn_replay.ts";

type Handler = AnyHandlers<unknown>[string];

export interface TurnExecutorDeps {
  store: StateStore;
  settler: MessageSettler;
  committer: TurnCommitter;
  client: ActorClient;
  clock: Clock;
  metrics: RuntimeMetrics;
  log: Logger;
  maxDeliver: number;
  /** Fault injection: run every handler twice and compare (see `FaultInjection.replayTurns`). */
  replayTurns: boolean;
  /** Aborted when the node stops: a backoff ends and its message is left for redelivery. */
  halt: AbortSignal;
}

/**
 * Runs one message as one turn of its actor: drops a redelivery of a message already applied,
 * checks the message against its handler's schema, runs the handler (retrying a plain failure in
 * place, with backoff, until `maxDeliver`), checks the new state against the actor's schema and
 * hands the result to the committer. Whatever cannot succeed is dead-lettered with its reason.
 */
export class TurnExecutor {
  readonly #d: TurnExecutorDeps;
  readonly #io: TurnIO;

  constructor(deps: TurnExecutorDeps) {
    this.#d = deps;
    const { clock, client } = deps;
    this.#io = {
      now: () => clock.now(),
      ask: <T>(to: ActorAddress, kind: string, data: unknown, opts: AskOptions) =>
        client.ask<T>(to, kind, data, opts) as Promise<T>,
    };
  }

  /** Throws only on infrastructure failures (Postgres, NATS): the caller retries the message. */
  async run(act: Activation, item: Item): Promise<void> {
    const d = this.#d;
    if (!act.loaded) await d.store.load(act);
    // By message id, not stream sequence: a broker that lost its tail in a crash hands out
    // sequences again, and one that lost its duplicate window stores a retried publish twice.
    if (item.key && act.recent.includes(item.key)) {
      d.settler.finish(item);
      d.metrics.turns.inc({ type: act.type, outcome: "duplicate" });
      return;
    }
    if (item.deliveryCount > d.maxDeliver) {
      const reason = `exceeded ${d.maxDeliver} deliveries`;
      return await this.#reject(item, "max_deliver", { name: "DeadLettered", message: reason });
    }
    let kind: string;
    let raw: unknown;
    if (item.local) {
      ({ kind, data: raw } = item.local);
    } else {
      const env = decodeEnvelope(item.data);
      if ("error" in env) {
        const reason = `malformed message: ${env.error}`;
        return await this.#reject(item, "malformed", { name: "DeadLettered", message: reason });
      }
      kind = env.k;
      raw = env.d;
    }
    const handler: Handler | undefined = act.def.handlers[kind];
    if (!handler) {
      return await this.#reject(
        item,
        "unknown_kind",
        errorInfo(new UnknownMessageKindError(act.type, kind)),
      );
    }
    // Replaying needs the message as it was before the first run could mutate it.
    const pristine = d.replayTurns ? structuredClone(raw) : undefined;
    const input = handler.input.safeParse(raw);
    if (!input.success) {
      const issues = input.error.issues.map((i) =>
        `${i.path.join(".") || "(message)"}: ${i.message}`
      );
      const err = new InvalidMessageError(act.type, kind, issues);
      return await this.#reject(item, "invalid", errorInfo(err));
    }
    const parent = propagation.extract(context.active(), item.headers);
    const span = tracer.startSpan(`turn ${act.type}.${kind}`, {
      kind: SpanKind.CONSUMER,
      attributes: { "actor.type": act.type, "actor.id": act.id, "message.id": item.msgId },
    }, parent);
    // Messages this turn sends continue its trace.
    const carrier: Record<string, string> = {};
    propagation.inject(trace.setSpan(parent, span), carrier);
    try {
      for (let attempt = 1;; attempt++) {
        const journal = d.replayTurns ? new TurnJournal() : undefined;
        const ctx = this.#context(act, item, journal ? journal.recording(this.#io) : this.#io);
        let result: unknown;
        try {
          result = await handler.handle(ctx, input.data);
        } catch (err) {
          const terminal = err instanceof TerminalError;
          if (terminal || item.deliveryCount + attempt > d.maxDeliver) {
            span.recordException(err as Error);
            span.setStatus({ code: SpanStatusCode.ERROR, message: String(err) });
            // One line per turn given up, with its trace. A handler's deliberate refusal
            // (TerminalError) is a warning; a turn that kept failing is an error.
            const sc = span.spanContext();
            (terminal ? d.log.warn : d.log.error)("turn failed", {
              actor: act.key,
              handler: kind,
              terminal,
              ...(isSpanContextValid(sc) ? { trace_id: sc.traceId, span_id: sc.spanId } : {}),
              error_name: (err as Error)?.name ?? "Error",
              error: String(err),
            });
            const reason = terminal
              ? `${(err as Error).name}: ${(err as Error).message}`
              : `handler failed ${attempt} times, last: ${String(err)}`;
            return await this.#reject(
              item,
              terminal ? "terminal" : "retries",
              errorInfo(err),
              reason,
            );
          }
          // Retry in place: a nak would let later messages for this actor overtake this one.
          item.js?.working();
          await sleep(d.clock, Math.min(2000, 50 * 2 ** attempt), d.halt);
          if (d.halt.aborted) return d.settler.abandon(item);
          continue;
        }
        if (journal) {
          const differs = await this.#replay(act, item, handler, pristine, journal, ctx, result);
          if (differs.length > 0) {
            span.setStatus({ code: SpanStatusCode.ERROR, message: "not deterministic" });
            const err = new NonDeterministicTurnError(act.type, kind, differs);
            return await this.#reject(item, "non_deterministic", errorInfo(err));
          }
        }
        const checked = act.def.state.safeParse(ctx.state);
        if (!checked.success) {
          const issues = checked.error.issues.map((i) =>
            `${i.path.join(".") || "(state)"}: ${i.message}`
          );
          const err = new InvalidStateError(act.type, issues);
          return await this.#reject(item, "invalid_state", errorInfo(err));
        }
        await d.committer.commit({
          act,
          item,
          ctx,
          state: checked.data,
          reply: ctx.replied ? ctx.replyValue : result,
          traceparent: carrier.traceparent,
        });
        return;
      }
    } finally {
      span.end();
    }
  }

  #context(act: Activation, item: Item, io: TurnIO): TurnContextImpl<unknown> {
    return new TurnContextImpl(
      { type: act.type, id: act.id },
      // A JSON round trip is the cheapest deep copy of a JSON state (and all a state may hold).
      JSON.parse(JSON.stringify(act.state)),
      item.msgId,
      item.headers[H.reminder]
        ? { name: item.headers[H.reminder]!, dueAt: Number(item.headers[H.due]) }
        : undefined,
      this.#d.log.child({ actor: act.key }),
      io,
      item.headers[H.chain] ? item.headers[H.chain]!.split(",") : [],
    );
  }

  /** Runs the handler again on the same message, state and readings; returns what differs. */
  async #replay(
    act: Activation,
    item: Item,
    handler: Handler,
    raw: unknown,
    journal: TurnJournal,
    first: TurnContextImpl<unknown>,
    firstResult: unknown,
  ): Promise<string[]> {
    const ctx = this.#context(act, item, journal.replaying(this.#io));
    const input = handler.input.safeParse(raw);
    let result: unknown;
    try {
      if (!input.success) throw input.error;
      result = await handler.handle(ctx, input.data);
    } catch (err) {
      return [journal.diverged ?? `outcome (the replay threw ${String(err)})`];
    }
    const differs = differences(turnResult(first, firstResult), turnResult(ctx, result));
    return journal.diverged ? [journal.diverged, ...differs] : differs;
  }

  #reject(item: Item, label: string, error: Rejection["error"], reason = error.message) {
    return this.#d.settler.deadLetter(item, { reason, label, error });
  }
}
