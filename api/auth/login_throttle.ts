/**
 * Per-account login throttling, in two tiers (counts in Postgres, so every node shares them):
 *
 * - **Account + address.** After `freeFailures` wrong passwords for one e-mail from one client
 *   address, that address waits before its next try: 1 s, 2 s, 4 s … up to `maxDelaySeconds`.
 *   This is what stops a guesser; it cannot touch the owner signing in from elsewhere.
 * - **Account, any address (softer).** Past `accountFreeFailures` wrong passwords within
 *   `accountWindowSeconds` from all addresses together (a guesser rotating addresses), new
 *   addresses wait too, at most `accountMaxDelaySeconds`. Addresses the account signed in from
 *   before are exempt, so an attacker can slow the owner down on a new address but never lock
 *   them out: the wait is short and capped, and their usual address keeps working.
 *
 * A try while waiting is refused (429 with `Retry-After`) before the password is checked and is
 * not counted, so hammering does not lengthen the wait. Unknown e-mails are throttled the same
 * way, so a 429 says nothing about whether an account exists. Keys are hashes of e-mail and
 * address: the tables hold neither.
 * @module
 */
import type pg from "pg";
import { sha256Hex } from "./credentials.ts";

export interface LoginThrottleOptions {
  /** The first wait; each further failure doubles it. */
  baseDelaySeconds: number;
  freeFailures: number;
  maxDelaySeconds: number;
  accountFreeFailures: number;
  accountWindowSeconds: number;
  accountMaxDelaySeconds: number;
}

export const DEFAULT_LOGIN_THROTTLE: LoginThrottleOptions = {
  baseDelaySeconds: 1,
  freeFailures: 3,
  maxDelaySeconds: 900,
  accountFreeFailures: 20,
  accountWindowSeconds: 900,
  accountMaxDelaySeconds: 60,
};

interface Keys {
  pair: string;
  account: string;
  known: string;
}

async function keysOf(email: string, address: string): Promise<Keys> {
  const e = email.toLowerCase();
  return {
    pair: `p:${await sha256Hex(`${e}\n${address}`)}`,
    account: `a:${await sha256Hex(e)}`,
    known: await sha256Hex(`known\n${e}\n${address}`),
  };
}

/** Seconds to wait before `email` may try again from `address`; 0 when it may try now. */
export async function loginWait(pool: pg.Pool, email: string, address: string): Promise<number> {
  const k = await keysOf(email, address);
  const { rows: [row] } = await pool.query<{ pair: number | null; account: number | null }>(
    `select
       (select extract(epoch from blocked_until - now()) from login_throttle
        where key = $1 and blocked_until > now()) pair,
       (select extract(epoch from blocked_until - now()) from login_throttle
        where key = $2 and blocked_until > now()
          and not exists (select 1 from login_known_addresses where key = $3)) account`,
    [k.pair, k.account, k.known],
  );
  return Math.ceil(Math.max(Number(row?.pair ?? 0), Number(row?.account ?? 0)));
}

/** Counts a wrong password and sets the waits it earns. */
export async function loginFailed(
  pool: pg.Pool,
  email: string,
  address: string,
  o: LoginThrottleOptions,
): Promise<{ failures: number }> {
  const k = await keysOf(email, address);
  // An address's count starts over after a quiet day; the account's after its window.
  const failures = await count(pool, k.pair, 86_400, {
    free: o.freeFailures,
    base: o.baseDelaySeconds,
    max: o.maxDelaySeconds,
  });
  await count(pool, k.account, o.accountWindowSeconds, {
    free: o.accountFreeFailures,
    base: o.baseDelaySeconds,
    max: o.accountMaxDelaySeconds,
  });
  // Now and then, forget counts nobody has added to for a day and addresses unused for 90 days.
  if (Math.random() < 0.01) {
    await pool.query(
      `with quiet as (delete from login_throttle where last_failure_at < now() - interval '1 day'
                      and (blocked_until is null or blocked_until < now()))
       delete from login_known_addresses where last_success_at < now() - interval '90 days'`,
    );
  }
  return { failures };
}

/**
 * Adds a failure to `key` (starting over after `windowSeconds` without one) and, past `free`
 * failures, makes it wait base × 2^(over-1) seconds, at most `max`.
 */
async function count(
  pool: pg.Pool,
  key: string,
  windowSeconds: number,
  wait: { free: number; base: number; max: number },
): Promise<number> {
  const { rows: [row] } = await pool.query<{ failures: number }>(
    `insert into login_throttle as t (key, failures, last_failure_at) values ($1, 1, now())
     on conflict (key) do update set
       failures = case when t.last_failure_at < now() - make_interval(secs => $2) then 1
                  else t.failures + 1 end,
       last_failure_at = now()
     returning failures`,
    [key, windowSeconds],
  );
  const over = row!.failures - wait.free;
  if (over > 0) {
    const seconds = Math.min(wait.base * 2 ** Math.min(over - 1, 30), wait.max);
    await pool.query(
      "update login_throttle set blocked_until = now() + make_interval(secs => $2) where key = $1",
      [key, seconds],
    );
  }
  return row!.failures;
}

/** A right password: the address starts over and is known to the account from now on. */
export async function loginSucceeded(pool: pg.Pool, email: string, address: string) {
  const k = await keysOf(email, address);
  await pool.query(
    `with gone as (delete from login_throttle where key = $1)
     insert into login_known_addresses (key, last_success_at) values ($2, now())
     on conflict (key) do update set last_success_at = now()`,
    [k.pair, k.known],
  );
}
