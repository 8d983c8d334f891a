import type { Activation, Activations, Item } from "./activations.ts";
import type { ActorTimers } from "./actor_timers.ts";
import { encodeBase64 } from "./base64.ts";
import type { OutboxRow, ReminderCancel, ReminderWrite, TurnWrite } from "./committer.ts";
import { encodeEnvelope, encodeJson, H } from "./envelope.ts";
import { jsonEqual } from "./json_equal.ts";
import type { Logger } from "./logger.ts";
import type { RuntimeMetrics } from "./metrics.ts";
import type { OutboxRelay } from "./outbox.ts";
import type { ReminderScheduler } from "./reminders.ts";
import type { MessageSettler } from "./settler.ts";
import type { StateStore } from "./state_store.ts";
import type { TurnContextImpl } from "./turn_context.ts";

/** A handler run that passed its checks, ready to commit. */
export interface FinishedTurn {
  act: Activation;
  item: Item;
  ctx: TurnContextImpl<unknown>;
  /** `ctx.state` as the actor's schema parsed it. */
  state: unknown;
  /** The reply to an `ask`. */
  reply: unknown;
  /** Trace context for the messages the turn sends. */
  traceparent?: string;
}

/** What committing a turn writes, and the state the actor has afterwards. */
export interface PlannedCommit {
  /** Undefined when the turn changed nothing and had no effects: there is nothing to write. */
  write?: TurnWrite;
  state: unknown;
  recent: number[];
  outbox: OutboxRow[];
  reminders: ReminderWrite[];
  cancels: ReminderCancel[];
}

export interface PlanOptions {
  prefix: string;
  maxPayload: number;
  dedupeWindow: number;
  subjectOf: (to: { type: string; id: string }) => string;
}

/**
 * Turns a finished handler run into the rows of its commit: outbox rows for its tells and events
 * (ids derived from the message id, so a re-run writes the same ones), reminder writes and
 * cancels, the new state and the message keys that dedupe its redelivery.
 */
export function planCommit(turn: Omit<FinishedTurn, "reply">, o: PlanOptions): PlannedCommit {
  const { act, item, ctx, traceparent } = turn;
  let state = turn.state;
  const outbox: OutboxRow[] = [];
  let n = 0;
  for (const t of ctx.tells) {
    outbox.push({
      id: `${item.msgId}:${n++}`,
      p: act.partition,
      subject: o.subjectOf(t.to),
      h: traceparent ? { [H.traceparent]: traceparent } : {},
      b: encodeBase64(encodeEnvelope(t.kind, t.data, o.maxPayload)),
    });
  }
  for (const e of ctx.events) {
    outbox.push({
      id: `${item.msgId}:${n++}`,
      p: act.partition,
      subject: `${o.prefix}.evt.${e.subject}`,
      h: { [H.actor]: act.key, ...(traceparent ? { [H.traceparent]: traceparent } : {}) },
      b: encodeBase64(encodeJson(e.data)),
    });
  }
  const reminders: ReminderWrite[] = [];
  const cancels: ReminderCancel[] = [];
  for (const [name, r] of ctx.reminders) {
    if (r === null) cancels.push({ t: act.type, i: act.id, n: name, p: act.partition });
    else {
      reminders.push({
        t: act.type,
        i: act.id,
        n: name,
        p: act.partition,
        due: r.due,
        period: r.period,
        payload: { kind: r.kind ?? name, data: r.data },
      });
    }
  }
  if (ctx.erased) {
    reminders.length = 0;
    cancels.length = 0;
    state = act.def.initial(act.id);
  }
  const changed = ctx.erased || !jsonEqual(state, act.state);
  const hasEffects = outbox.length > 0 || reminders.length > 0 || cancels.length > 0;
  if (!changed && !hasEffects) return { state, recent: act.recent, outbox, reminders, cancels };
  const recent = item.key ? [...act.recent, item.key].slice(-o.dedupeWindow) : act.recent;
  // A mailbox message with effects but no state change still records its key (dedupe).
  const writesState = !ctx.erased && (changed || !item.local);
  const write: TurnWrite = {
    partition: act.partition,
    epoch: act.epoch,
    state: writesState
      ? { t: act.type, i: act.id, p: act.partition, v: act.version + 1, s: state, r: recent }
      : undefined,
    erase: ctx.erased ? { t: act.type, i: act.id, p: act.partition } : undefined,
    outbox,
    reminders,
    cancels,
  };
  return { write, state, recent, outbox, reminders, cancels };
}

/** Who owns which partition, as the turn committer needs to know it. */
export interface Ownership {
  /** The epoch this node holds the partition at, if it holds it. */
  epochOf(partition: number): number | undefined;
  /** Drops a partition this node turned out not to own any more. */
  lose(partition: number, why: string): void;
}

export interface TurnCommitterDeps {
  store: StateStore;
  settler: MessageSettler;
  outbox: OutboxRelay;
  reminders: ReminderScheduler;
  timers: ActorTimers;
  activations: Activations;
  ownership: Ownership;
  metrics: RuntimeMetrics;
  log: Logger;
  plan: PlanOptions;
}

/**
 * Commits a finished turn (with the next group commit, fenced by the partition epoch) and only
 * then applies it: the actor's new state, the ack, the reply, the outbox publish, the reminder
 * window and the in-memory timers.
 */
export class TurnCommitter {
  readonly #d: TurnCommitterDeps;

  constructor(deps: TurnCommitterDeps) {
    this.#d = deps;
  }

  async commit(turn: FinishedTurn): Promise<void> {
    const d = this.#d;
    const { act, item, ctx } = turn;
    const plan = planCommit(turn, d.plan);
    if (plan.write) {
      if (d.ownership.epochOf(act.partition) !== act.epoch) {
        // The partition moved while this turn ran: its result must not be committed or acked.
        d.settler.abandon(item);
        d.activations.remove(act);
        return;
      }
      const outcome = await d.store.commit(plan.write);
      if (outcome === "fenced") {
        d.metrics.turns.inc({ type: act.type, outcome: "fenced" });
        d.log.warn("commit fenced: partition owned by another node", { partition: act.partition });
        d.settler.abandon(item);
        d.ownership.lose(act.partition, "fenced");
        return;
      }
      // An erased actor starts again from version 0 (its row is gone).
      act.version = ctx.erased ? 0 : act.version + 1;
      act.recent = plan.recent;
    }
    act.state = plan.state;
    d.settler.finish(item);
    d.settler.reply(item, { ok: turn.reply ?? null });
    d.metrics.turns.inc({ type: act.type, outcome: "ok" });
    d.metrics.turnLatency.observe({ type: act.type }, (performance.now() - item.receivedAt) / 1000);
    if (plan.outbox.length > 0) void d.outbox.publish(plan.outbox);
    if (plan.reminders.length > 0 || plan.cancels.length > 0) {
      d.reminders.applyCommitted(plan.reminders, plan.cancels);
    }
    if (ctx.erased) d.reminders.dropActor(act.type, act.id);
    for (const [name, t] of ctx.timers) d.timers.set(act, name, t);
  }
}
