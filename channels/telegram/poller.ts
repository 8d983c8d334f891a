/**
 * Long polling for bots without a public webhook URL (a laptop): one poller per bot in the whole
 * cluster, held by a Postgres session advisory lock on a connection of its own, so a node that
 * dies frees its bots at once and another node picks them up at its next scan. An update is
 * confirmed (the next offset) only after it was taken in, so a crash re-reads it and the intake's
 * receipts drop the repeat.
 */
import type pg from "pg";
import type { Api } from "grammy/web";
import type { Update } from "grammy/types";
import { withSystem } from "../../db/tenant.ts";
import type { NatsConnection } from "@nats-io/transport-node";
import { connectionChangedSubject, type ConnectionDirectory } from "../core/connections.ts";
import { ALLOWED_UPDATES } from "./connect.ts";
import { tokenOf } from "./sender.ts";
import { handleUpdate, type TelegramDeps } from "./updates.ts";

export interface PollerOptions extends TelegramDeps {
  connections: ConnectionDirectory;
  /** With these, a connection changed anywhere in the cluster is looked at at once. */
  nc?: NatsConnection;
  prefix?: string;
  /** How often the node looks for bots nobody polls (default 10 s). */
  scanMs?: number;
  /** Long-poll timeout of one getUpdates call, in seconds (default 25). */
  pollTimeoutSeconds?: number;
}

export interface Pollers extends AsyncDisposable {
  /** Bots this node polls now. */
  polling(): string[];
  stop(): Promise<void>;
}

export function startTelegramPollers(o: PollerOptions): Pollers {
  const log = o.log.child({ component: "telegram-poller" });
  const running = new Map<string, { stop(): Promise<void> }>();
  let stopped = false;
  const scan = async () => {
    if (stopped) return;
    const ids = await withSystem(o.pool, async (c) =>
      (await c.query<{ id: string }>(
        `select id from channel_connections
          where kind = 'telegram' and status = 'active' and config->>'mode' = 'polling'`,
      )).rows.map((r) => r.id));
    for (const id of running.keys()) {
      if (!ids.includes(id)) await running.get(id)?.stop();
    }
    for (const id of ids) {
      if (!running.has(id) && !stopped) {
        const poller = await tryPoll(o, id, log, () => running.delete(id));
        if (poller) running.set(id, poller);
      }
    }
  };
  let scanning = scan().catch((err) => log.warn("poller scan failed", { error: String(err) }));
  const rescan = () => {
    scanning = scanning.then(scan).catch((err) =>
      log.warn("poller scan failed", { error: String(err) })
    );
  };
  const timer = setInterval(rescan, o.scanMs ?? 10_000);
  const changes = o.nc && o.prefix
    ? o.nc.subscribe(connectionChangedSubject(o.prefix), { callback: () => rescan() })
    : undefined;
  const stop = async () => {
    stopped = true;
    clearInterval(timer);
    changes?.unsubscribe();
    await scanning;
    await Promise.all([...running.values()].map((p) => p.stop()));
  };
  return { polling: () => [...running.keys()], stop, [Symbol.asyncDispose]: stop };
}

async function tryPoll(
  o: PollerOptions,
  connectionId: string,
  log: TelegramDeps["log"],
  onEnd: () => void,
): Promise<{ stop(): Promise<void> } | undefined> {
  const client: pg.PoolClient = await o.pool.connect();
  let broken: Error | undefined;
  client.on("error", (err) => (broken = err));
  const { rows: [lock] } = await client.query<{ ok: boolean }>(
    "select pg_try_advisory_lock(hashtextextended($1, 0)) ok",
    [`telegram-poll:${connectionId}`],
  );
  if (!lock?.ok) {
    client.release();
    return undefined;
  }
  const abort = new AbortController();
  const loop = (async () => {
    let offset: number | undefined;
    while (!abort.signal.aborted && !broken) {
      const conn = await o.connections.get(connectionId);
      if (!conn || conn.status !== "active") break;
      let updates: Update[];
      try {
        updates = await o.sender.api(tokenOf(conn)).getUpdates(
          {
            offset,
            timeout: o.pollTimeoutSeconds ?? 25,
            allowed_updates: [...ALLOWED_UPDATES],
          },
          // grammY types its signal with the abort-controller polyfill's type; it is the same.
          abort.signal as unknown as Parameters<Api["getUpdates"]>[1],
        );
      } catch (err) {
        if (abort.signal.aborted) break;
        log.warn("getUpdates failed; retrying", { connection: connectionId, error: String(err) });
        await pause(2000, abort.signal);
        continue;
      }
      for (const update of updates) {
        try {
          await handleUpdate(o, conn, update);
        } catch (err) {
          log.warn("update not taken in; it will be read again", {
            connection: connectionId,
            update: update.update_id,
            error: String(err),
          });
          await pause(1000, abort.signal);
          break;
        }
        offset = update.update_id + 1;
      }
    }
  })().catch((err) => log.error("poller stopped", { connection: connectionId, error: String(err) }))
    .finally(async () => {
      await client.query("select pg_advisory_unlock(hashtextextended($1, 0))", [
        `telegram-poll:${connectionId}`,
      ]).catch(() => {});
      client.release(broken);
      onEnd();
    });
  log.info("polling bot", { connection: connectionId });
  return {
    stop: async () => {
      abort.abort();
      await loop;
    },
  };
}

function pause(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal.addEventListener("abort", () => {
      clearTimeout(timer);
      resolve();
    }, { once: true });
  });
}
