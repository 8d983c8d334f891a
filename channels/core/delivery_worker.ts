/**
 * The delivery worker: takes each `delivery.requested` event (any node; one durable consumer),
 * records it as a delivery row, applies the rules that hold at send time (connection live,
 * person reachable, opt-out for proactive messages, the channel's own rules), asks the
 * connection's pacer for send times, sends through the provider's sender, and moves the row
 * along its status lifecycle. Nothing fails silently: every outcome is a status with a reason.
 *
 * Idempotency: the event id is the row id, and the ids the provider gave each sent part are
 * stored as they arrive; a redelivered event resumes after the last recorded part. A crash
 * between a provider's answer and that record sends that one part twice, at most.
 */
import type pg from "pg";
import type { NatsConnection } from "@nats-io/transport-node";
import {
  type ActorSystem,
  type Clock,
  type Logger,
  realClock,
  startEventConsumer,
  streamNames,
} from "../../runtime/mod.ts";
import { withTenant } from "../../db/tenant.ts";
import type { ConnectionDirectory } from "./connections.ts";
import {
  DELIVERY_SUBJECT,
  DeliveryRequest,
  PROACTIVE_PURPOSES,
  stableUuid,
} from "../../actors/mod.ts";
import { type DeliveryStatus, movableSql, stampColumn } from "./delivery_status.ts";
import type { ChannelMetrics } from "./metrics.ts";
import { pacerActor } from "./pacer.ts";
import { type ChannelSender, ProviderError, type Recipient } from "./sender.ts";

export interface DeliveryWorkerOptions {
  pool: pg.Pool;
  nc: NatsConnection;
  system: ActorSystem;
  connections: ConnectionDirectory;
  senders: ChannelSender[];
  metrics: ChannelMetrics;
  log: Logger;
  prefix: string;
  clock?: Clock;
  /** Provider attempts per part before the delivery is failed (default 8). */
  maxAttempts?: number;
  /** First back-off after a failed attempt without retry-after, doubled each time (1 s). */
  retryDelayMs?: number;
  maxRetryDelayMs?: number;
  /** Deliveries in hand at once on this node (most of them waiting for their slot). */
  concurrency?: number;
}

/** How late after its slot a send may still go; later, it asks for a new slot. */
const LATE_MS = 200;

export const deliveryWorkerNames = (prefix: string) => ({
  stream: streamNames(prefix).events,
  durable: "deliveries",
  filter: `${prefix}.evt.${DELIVERY_SUBJECT}`,
});

export async function startDeliveryWorker(o: DeliveryWorkerOptions) {
  const clock = o.clock ?? realClock;
  const senders = new Map(o.senders.map((s) => [s.kind, s]));
  const log = o.log.child({ component: "deliveries" });
  const names = deliveryWorkerNames(o.prefix);
  return await startEventConsumer({
    nc: o.nc,
    ...names,
    schema: DeliveryRequest,
    deadLetters: o.system.deadLetters,
    log,
    concurrency: o.concurrency ?? 256,
    handle: (req, meta) =>
      deliver(
        { ...o, clock, senders, log, maxAttempts: o.maxAttempts ?? 8 },
        req,
        // Requests without an id of their own are named by their event.
        req.id ?? stableUuid(`delivery:${meta.id}`),
      ),
  });
}

type Deps = Omit<DeliveryWorkerOptions, "senders"> & {
  clock: Clock;
  senders: Map<string, ChannelSender>;
  maxAttempts: number;
};

interface DeliveryRow {
  status: DeliveryStatus;
  provider_message_ids: string[];
  attempts: number;
}

interface RecipientRow {
  identity_id: string;
  external_id: string;
  display_name: string;
  connection_id: string | null;
  reachable: boolean;
  started_at: Date | null;
  last_inbound_at: Date | null;
  user_status: string;
}

const FINAL: DeliveryStatus[] = ["sent", "delivered", "read", "failed", "skipped"];

async function deliver(d: Deps, req: DeliveryRequest, id: string): Promise<void> {
  const row = await recordQueued(d.pool, req, id);
  if (FINAL.includes(row.status)) return;
  const to = await recipientOf(d.pool, req);
  if (!to) return await finish(d, req, id, "skipped", "no_reachable_identity", "unknown");
  const conn = to.connection_id ? await d.connections.get(to.connection_id) : null;
  if (!conn || conn.status !== "active" || conn.creatorId !== req.creatorId) {
    return await finish(d, req, id, "skipped", "channel_disconnected", conn?.kind ?? "unknown");
  }
  const sender = d.senders.get(conn.kind);
  if (!sender) return await finish(d, req, id, "skipped", "channel_unsupported", conn.kind);
  if (!to.reachable) return await finish(d, req, id, "skipped", "unreachable", conn.kind);
  if (PROACTIVE_PURPOSES.includes(req.purpose) && to.user_status === "opted_out") {
    return await finish(d, req, id, "skipped", "opted_out", conn.kind);
  }
  const recipient: Recipient = {
    identityId: to.identity_id,
    endUserId: req.endUserId,
    externalId: to.external_id,
    displayName: to.display_name,
    startedAt: to.started_at?.getTime() ?? null,
    lastInboundAt: to.last_inbound_at?.getTime() ?? null,
  };
  const plan = sender.plan(req, recipient, conn, d.clock.now());
  if ("skip" in plan) return await finish(d, req, id, "skipped", plan.skip, conn.kind);
  await withTenant(d.pool, req.creatorId, (c) =>
    c.query(
      `update deliveries set channel = $2, connection_id = $3, external_id = $4,
              content = content || jsonb_build_object('parts', $5::jsonb), updated_at = now()
        where id = $1`,
      [id, conn.kind, conn.id, recipient.externalId, JSON.stringify(plan.parts)],
    ));
  let sent = row.provider_message_ids.length;
  let attempts = row.attempts;
  let notBefore = d.clock.now();
  while (sent < plan.parts.length) {
    const { at } = await d.system.ref(pacerActor, conn.id).ask("reserve", {
      chat: recipient.externalId,
      parts: plan.parts.length - sent,
      notBefore,
      ...sender.limits(conn),
    });
    try {
      for (const slot of at) {
        attempts++;
        await move(d.pool, req.creatorId, id, "sending", { attempts });
        await sleepUntil(d.clock, slot);
        // Woken late (a busy node), sending now could crowd the slots of others: take a new one.
        if (d.clock.now() - slot > LATE_MS) {
          attempts--;
          notBefore = d.clock.now();
          break;
        }
        const started = performance.now();
        const { providerMessageId } = await sender.send(plan.parts[sent]!, recipient, conn);
        d.metrics.sendLatency.observe({ channel: conn.kind }, (performance.now() - started) / 1000);
        sent++;
        await withTenant(d.pool, req.creatorId, (c) =>
          c.query(
            `update deliveries set provider_message_ids = provider_message_ids || $2::text,
                    updated_at = now() where id = $1`,
            [id, providerMessageId],
          ));
      }
    } catch (err) {
      if (!(err instanceof ProviderError)) throw err;
      if (err.kind === "unreachable") {
        await markUnreachable(d.pool, req.creatorId, recipient.identityId, err.message);
        return await finish(d, req, id, "failed", `unreachable: ${err.message}`, conn.kind);
      }
      if (err.kind === "permanent") {
        const code = err.details.code !== undefined ? ` (${err.details.code})` : "";
        return await finish(d, req, id, "failed", `${err.message}${code}`, conn.kind);
      }
      // An open breaker tried nothing: the delivery waits for the provider, however long.
      if (err.details.notAttempted) attempts--;
      if (attempts >= d.maxAttempts) {
        return await finish(
          d,
          req,
          id,
          "failed",
          `gave up after ${attempts} attempts: ${err.message}`,
          conn.kind,
        );
      }
      d.metrics.retries.inc({ channel: conn.kind, reason: String(err.details.code ?? "error") });
      const wait = err.details.retryAfterMs ?? backoff(d, attempts);
      notBefore = d.clock.now() + wait;
      if (err.details.connectionWide) {
        await d.system.ref(pacerActor, conn.id).tell("pause", { until: notBefore });
      }
      d.log.info("send retried", {
        delivery: id,
        channel: conn.kind,
        attempt: attempts,
        wait_ms: wait,
        error: err.message,
      });
    }
  }
  await finish(d, req, id, "sent", null, conn.kind);
}

/** Exponential back-off with full jitter, capped. */
function backoff(d: Deps, attempts: number): number {
  const cap = Math.min(d.maxRetryDelayMs ?? 60_000, (d.retryDelayMs ?? 1000) * 2 ** (attempts - 1));
  return Math.round(cap / 2 + Math.random() * cap / 2);
}

function sleepUntil(clock: Clock, at: number): Promise<void> {
  const ms = at - clock.now();
  if (ms <= 0) return Promise.resolve();
  return new Promise((resolve) => clock.setTimeout(resolve, ms));
}

async function recordQueued(pool: pg.Pool, req: DeliveryRequest, id: string): Promise<DeliveryRow> {
  return await withTenant(pool, req.creatorId, async (c) => {
    await c.query(
      `insert into deliveries (id, creator_id, end_user_id, conversation_id, channel, purpose,
                               content, status)
       values ($1, app_creator_id(), $2, $3, 'unknown', $4, $5, 'queued')
       on conflict (id) do nothing`,
      [
        id,
        req.endUserId,
        isUuid(req.conversationId) ? req.conversationId : null,
        req.purpose,
        { text: req.text, quickReplies: req.quickReplies, citations: req.citations },
      ],
    );
    return (await c.query<DeliveryRow>(
      "select status, provider_message_ids, attempts from deliveries where id = $1",
      [id],
    )).rows[0]!;
  });
}

async function recipientOf(pool: pg.Pool, req: DeliveryRequest): Promise<RecipientRow | undefined> {
  return await withTenant(pool, req.creatorId, async (c) =>
    (await c.query<RecipientRow>(
      `select i.id identity_id, i.external_id, i.display_name, i.connection_id, i.reachable,
              i.started_at, i.last_inbound_at, u.status user_status
         from channel_identities i join end_users u on u.id = i.end_user_id
        where i.end_user_id = $1 and ($2::uuid is null or i.id = $2)
        order by i.reachable desc, i.last_inbound_at desc nulls last
        limit 1`,
      [req.endUserId, req.identityId ?? null],
    )).rows[0]);
}

async function move(
  pool: pg.Pool,
  creatorId: string,
  id: string,
  to: DeliveryStatus,
  extra: { attempts?: number; reason?: string | null } = {},
): Promise<boolean> {
  const stamp = stampColumn(to);
  const res = await withTenant(pool, creatorId, (c) =>
    c.query(
      `update deliveries set status = $2, updated_at = now(),
              attempts = coalesce($3, attempts), reason = coalesce($4, reason)
              ${stamp ? `, ${stamp} = now()` : ""}
        where id = $1 and (${movableSql(to)} or ($2 = 'sending' and status = 'sending'))`,
      [id, to, extra.attempts ?? null, extra.reason ?? null],
    ));
  return (res.rowCount ?? 0) > 0;
}

async function finish(
  d: Deps,
  req: DeliveryRequest,
  id: string,
  to: "sent" | "failed" | "skipped",
  reason: string | null,
  channel: string,
): Promise<void> {
  if (to !== "sent") {
    await withTenant(
      d.pool,
      req.creatorId,
      (c) =>
        c.query("update deliveries set channel = $2 where id = $1 and channel = 'unknown'", [
          id,
          channel,
        ]),
    );
  }
  if (await move(d.pool, req.creatorId, id, to, { reason })) {
    d.metrics.deliveries.inc({ channel, status: to });
  }
  if (to !== "sent") d.log.info(`delivery ${to}`, { delivery: id, channel, reason });
}

async function markUnreachable(pool: pg.Pool, creatorId: string, identityId: string, why: string) {
  await withTenant(pool, creatorId, (c) =>
    c.query(
      `update channel_identities set reachable = false, unreachable_reason = $2, updated_at = now()
        where id = $1`,
      [identityId, why.slice(0, 500)],
    ));
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const isUuid = (v: string | undefined): v is string => v !== undefined && UUID.test(v);
