import type { ActorAddress, ReminderOptions, ReminderSchedule, TurnContext } from "./actor.ts";
import { checkAddress } from "./address.ts";
import type { AskOptions } from "./client.ts";
import { TerminalError } from "./errors.ts";
import type { Logger } from "./logger.ts";

/**
 * What a turn reads from outside its message and state: the clock and the replies of its asks.
 * Normally the runtime clock and the client; when replaying a turn, the first run's readings.
 */
export interface TurnIO {
  now(): number;
  ask<T>(to: ActorAddress, kind: string, data: unknown, opts: AskOptions): Promise<T>;
}

export interface PendingTell {
  to: ActorAddress;
  kind: string;
  data: unknown;
}

export interface PendingReminder {
  name: string;
  due: number;
  period: number | null;
  kind?: string;
  data?: unknown;
}

export interface PendingTimer {
  name: string;
  delayMs: number;
  kind: string;
  data: unknown;
}

const SUBJECT_TOKENS = /^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$/;

/**
 * The `ctx` a handler receives. It only records effects; the runtime applies them after the
 * turn's commit, so a turn that throws leaves no trace.
 */
export class TurnContextImpl<S> implements TurnContext<S> {
  state: S;
  readonly tells: PendingTell[] = [];
  readonly events: { subject: string; data: unknown }[] = [];
  readonly reminders = new Map<string, PendingReminder | null>();
  readonly timers = new Map<string, PendingTimer | null>();
  replyValue: unknown = undefined;
  replied = false;
  erased = false;

  constructor(
    readonly self: ActorAddress,
    state: S,
    readonly messageId: string,
    readonly reminder: { name: string; dueAt: number } | undefined,
    readonly log: Logger,
    private readonly io: TurnIO,
    private readonly chain: readonly string[],
  ) {
    this.state = state;
  }

  now(): number {
    return this.io.now();
  }

  tell(to: ActorAddress, kind: string, data?: unknown): void {
    checkAddress(to.type, to.id);
    this.tells.push({ to: { type: to.type, id: to.id }, kind, data });
  }

  ask<T = unknown>(
    to: ActorAddress,
    kind: string,
    data?: unknown,
    opts: { timeoutMs?: number } = {},
  ): Promise<T> {
    return this.io.ask<T>(to, kind, data, {
      ...opts,
      chain: [...this.chain, `${this.self.type}/${this.self.id}`],
    }) as Promise<T>;
  }

  reply(value: unknown): void {
    this.replyValue = value;
    this.replied = true;
  }

  remind(name: string, when: ReminderSchedule, opts: ReminderOptions = {}): void {
    if (!name) throw new TerminalError("A reminder needs a name");
    const due = when.at ?? this.io.now() + (when.after ?? 0);
    if (!Number.isFinite(due)) throw new TerminalError(`Reminder "${name}" has no valid due time`);
    if (when.every !== undefined && !(when.every >= 1)) {
      throw new TerminalError(`Reminder "${name}": every must be at least 1 ms`);
    }
    this.reminders.set(name, {
      name,
      due: Math.round(due),
      period: when.every ?? null,
      kind: opts.kind,
      data: opts.data,
    });
  }

  cancelReminder(name: string): void {
    this.reminders.set(name, null);
  }

  setTimer(name: string, delayMs: number, kind: string, data?: unknown): void {
    this.timers.set(name, { name, delayMs: Math.max(0, delayMs), kind, data });
  }

  clearTimer(name: string): void {
    this.timers.set(name, null);
  }

  erase(): void {
    this.erased = true;
  }

  emit(subject: string, data: unknown): void {
    if (!SUBJECT_TOKENS.test(subject)) {
      throw new TerminalError(
        `Event subject "${subject}" must be dot-separated [A-Za-z0-9_-] tokens`,
      );
    }
    this.events.push({ subject, data });
  }
}
