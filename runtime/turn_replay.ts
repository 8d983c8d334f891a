/**
 * The replay fault (`faults.replayTurns`): a turn's first run records what it read from outside
 * (clock readings, ask replies); the second run is fed the same readings, and both runs' results
 * must be equal.
 */
import type { ActorAddress } from "./actor.ts";
import type { AskOptions } from "./client.ts";
import { jsonEqual } from "./json_equal.ts";
import type { TurnContextImpl, TurnIO } from "./turn_context.ts";

/** Records a first run's readings and plays them back to the second. */
export class TurnJournal {
  readonly #nows: number[] = [];
  readonly #asks: { key: string; reply: Promise<unknown> }[] = [];
  /** What the second run read differently from the first, if anything. */
  diverged?: string;

  /** The I/O of the first run: `io`, with every reading recorded. */
  recording(io: TurnIO): TurnIO {
    return {
      now: () => {
        const t = io.now();
        this.#nows.push(t);
        return t;
      },
      ask: <T>(to: ActorAddress, kind: string, data: unknown, opts: AskOptions) => {
        const reply = io.ask<T>(to, kind, data, opts);
        this.#asks.push({ key: askKey(to, kind, data), reply });
        return reply;
      },
    };
  }

  /** The I/O of the second run: the first run's readings, in order; `io` beyond them. */
  replaying(io: TurnIO): TurnIO {
    let nows = 0;
    let asks = 0;
    return {
      now: () => {
        if (nows < this.#nows.length) return this.#nows[nows++]!;
        this.diverged ??= "clock readings";
        return io.now();
      },
      ask: <T>(to: ActorAddress, kind: string, data: unknown) => {
        const recorded = this.#asks[asks++];
        if (!recorded || recorded.key !== askKey(to, kind, data)) {
          this.diverged ??= "asks";
          return Promise.reject(new Error("the replayed turn asked something else"));
        }
        return recorded.reply as Promise<T>;
      },
    };
  }
}

function askKey(to: ActorAddress, kind: string, data: unknown): string {
  return JSON.stringify([to.type, to.id, kind, data ?? null]);
}

/** Everything a run of a handler produced, as JSON. */
export function turnResult(ctx: TurnContextImpl<unknown>, returned: unknown): TurnResult {
  return JSON.parse(JSON.stringify({
    state: ctx.state,
    reply: ctx.replied ? ctx.replyValue : returned,
    tells: ctx.tells,
    events: ctx.events,
    reminders: [...ctx.reminders],
    timers: [...ctx.timers],
    erased: ctx.erased,
  }));
}

export type TurnResult = Record<
  "state" | "reply" | "tells" | "events" | "reminders" | "timers" | "erased",
  unknown
>;

/** The parts two runs' results differ in (`["state", "tells"]`), empty when equal. */
export function differences(a: TurnResult, b: TurnResult): string[] {
  return (Object.keys(a) as (keyof TurnResult)[]).filter((k) => !jsonEqual(a[k], b[k]));
}
