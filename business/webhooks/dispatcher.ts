/**
 * Sends queued webhook deliveries, signed to the Standard Webhooks spec (`webhook-id`,
 * `webhook-timestamp`, `webhook-signature`). The schedule lives in Postgres: a due row is claimed
 * (its next attempt pushed out by a lease) in a short transaction, sent, and its outcome written;
 * a failure is tried again after growing delays spanning more than a day, after which the
 * delivery fails and its endpoint is disabled (and the creator told by e-mail).
 */
import type pg from "pg";
import { Webhook } from "standardwebhooks";
import { type Clock, type Logger, realClock } from "../../runtime/mod.ts";
import { withSystem } from "../../db/tenant.ts";
import type { SecretBox } from "../../db/secrets.ts";
import type { Mailer } from "../email/mailer.ts";
import { openSecret } from "./endpoints.ts";
import { checkTarget, type Resolve } from "./ssrf.ts";

/**
 * Waits before attempts 2, 3, ... (the Standard Webhooks example schedule): 5 s, 5 min, 30 min,
 * 2 h, 5 h, 10 h, 10 h, about 27.6 hours in all.
 */
export const RETRY_DELAYS_MS = [
  5_000,
  5 * 60_000,
  30 * 60_000,
  2 * 3600_000,
  5 * 3600_000,
  10 * 3600_000,
  10 * 3600_000,
];

export interface DispatcherOptions {
  pool: pg.Pool;
  box: SecretBox;
  log: Logger;
  mailer?: Mailer;
  clock?: Clock;
  allowPrivate?: boolean;
  resolve?: Resolve;
  /** How often due deliveries are looked for (default 1 s). */
  pollMs?: number;
  /** How long a claimed delivery is held before another node may take it (default 60 s). */
  leaseMs?: number;
  timeoutMs?: number;
  batch?: number;
}

interface Due {
  id: string;
  creator_id: string;
  endpoint_id: string;
  message_id: string;
  payload: unknown;
  attempts: number;
  url: string;
  secret_iv: Uint8Array;
  secret_ciphertext: Uint8Array;
}

export class WebhookDispatcher implements AsyncDisposable {
  readonly #o: DispatcherOptions;
  readonly #clock: Clock;
  #timer?: number;
  #running?: Promise<unknown>;
  #stopped = false;

  constructor(o: DispatcherOptions) {
    this.#o = o;
    this.#clock = o.clock ?? realClock;
  }

  /** Polls for due deliveries until stopped. */
  start(): this {
    const tick = () => {
      if (this.#stopped) return;
      this.#running = this.deliverDue()
        .catch((err) => this.#o.log.warn("webhook dispatch failed", { error: String(err) }))
        .finally(() => {
          if (!this.#stopped) this.#timer = this.#clock.setTimeout(tick, this.#o.pollMs ?? 1000);
        });
    };
    tick();
    return this;
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#timer !== undefined) this.#clock.clearTimeout(this.#timer);
    await this.#running;
  }

  [Symbol.asyncDispose]() {
    return this.stop();
  }

  /** Sends every delivery due now (by this dispatcher's clock); returns how many were tried. */
  async deliverDue(): Promise<number> {
    let tried = 0;
    for (;;) {
      const due = await this.#claim();
      if (!due.length) return tried;
      await Promise.all(due.map((d) => this.#deliver(d)));
      tried += due.length;
    }
  }

  async #claim(): Promise<Due[]> {
    const now = new Date(this.#clock.now());
    const lease = new Date(this.#clock.now() + (this.#o.leaseMs ?? 60_000));
    return await withSystem(this.#o.pool, async (c) =>
      (await c.query<Due>(
        `with due as (
           select d.id from webhook_deliveries d
             join webhook_endpoints e on e.id = d.endpoint_id and e.status = 'enabled'
            where d.status = 'pending' and d.next_attempt_at <= $1
            order by d.next_attempt_at limit $3
            for update of d skip locked)
         update webhook_deliveries d set next_attempt_at = $2
           from due, webhook_endpoints e
          where d.id = due.id and e.id = d.endpoint_id
         returning d.id, d.creator_id, d.endpoint_id, d.message_id, d.payload, d.attempts, e.url,
                   e.secret_iv, e.secret_ciphertext`,
        [now, lease, this.#o.batch ?? 20],
      )).rows);
  }

  async #deliver(d: Due): Promise<void> {
    const body = JSON.stringify(d.payload);
    let code: number | null = null;
    let error: string | null = null;
    try {
      const url = await checkTarget(d.url, {
        allowPrivate: this.#o.allowPrivate,
        resolve: this.#o.resolve,
      });
      const secret = await openSecret(this.#o.box, { ...d, id: d.endpoint_id });
      // The receiver checks the timestamp against its wall clock, so it is the real time.
      const sentAt = new Date();
      const res = await fetch(url, {
        method: "POST",
        redirect: "manual",
        headers: {
          "content-type": "application/json",
          "user-agent": "Coachd-Webhooks/1",
          "webhook-id": d.message_id,
          "webhook-timestamp": String(Math.floor(sentAt.getTime() / 1000)),
          "webhook-signature": new Webhook(secret).sign(d.message_id, sentAt, body),
        },
        body,
        signal: AbortSignal.timeout(this.#o.timeoutMs ?? 15_000),
      });
      code = res.status;
      await res.body?.cancel();
      if (res.status < 200 || res.status >= 300) error = `answered ${res.status}`;
    } catch (err) {
      error = String((err as Error).message ?? err).slice(0, 300);
    }
    await this.#record(d, code, error);
  }

  async #record(d: Due, code: number | null, error: string | null): Promise<void> {
    const now = this.#clock.now();
    const attempts = d.attempts + 1;
    if (error === null) {
      await withSystem(this.#o.pool, (c) =>
        c.query(
          `update webhook_deliveries set status = 'succeeded', attempts = $2, last_attempt_at = $3,
             last_status_code = $4, last_error = null, next_attempt_at = null where id = $1`,
          [d.id, attempts, new Date(now), code],
        ));
      return;
    }
    const delay = RETRY_DELAYS_MS[attempts - 1];
    const giveUp = delay === undefined;
    const disabled = await withSystem(this.#o.pool, async (c) => {
      await c.query(
        `update webhook_deliveries set status = $2, attempts = $3, last_attempt_at = $4,
           last_status_code = $5, last_error = $6, next_attempt_at = $7 where id = $1`,
        [
          d.id,
          giveUp ? "failed" : "pending",
          attempts,
          new Date(now),
          code,
          error,
          giveUp ? null : new Date(now + delay),
        ],
      );
      if (!giveUp) return false;
      const { rowCount } = await c.query(
        `update webhook_endpoints set status = 'disabled', disabled_reason = $2, updated_at = now()
          where id = $1 and status = 'enabled'`,
        [d.endpoint_id, `deliveries failed for over a day; last: ${error}`],
      );
      return rowCount === 1;
    });
    if (disabled) {
      this.#o.log.warn("webhook endpoint disabled after persistent failure", {
        endpoint_id: d.endpoint_id,
      });
      await this.#o.mailer?.toCreator(d.creator_id, "webhook_endpoint_disabled", {
        url: d.url,
        last_error: error,
      });
    }
  }
}
