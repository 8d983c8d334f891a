/**
 * Widget events to the creator's Google Analytics 4 property through the Measurement Protocol
 * (`POST /mp/collect?measurement_id=&api_secret=`), from the node. Off by default: the node must
 * enable it (GA4_ENABLED) and the creator configure a measurement id and API secret.
 *
 * Privacy: GA4 gets a pseudonymous `client_id` (a keyed hash of the end user's id, not the id),
 * the event name and the channel, never message text, names or contact data.
 */
import type pg from "pg";
import type { NatsConnection } from "@nats-io/transport-node";
import { z } from "zod";
import {
  type DeadLetters,
  type EventConsumer,
  type Logger,
  startEventConsumer,
  streamNames,
} from "../../runtime/mod.ts";
import { withSystem } from "../../db/tenant.ts";
import type { SecretBox } from "../../db/secrets.ts";

export const ga4Context = (creatorId: string) => `ga4:${creatorId}`;

/** The GA4 event each source event becomes, when it happened in the web widget. */
export function ga4EventOf(
  subject: string,
  body: Record<string, unknown>,
): { name: string; endUserId: string } | undefined {
  const endUserId = typeof body.endUserId === "string" ? body.endUserId : undefined;
  if (!endUserId) return undefined;
  if (subject === "widget.event") {
    const name = String(body.name ?? "");
    return ["widget_opened", "link_clicked"].includes(name) ? { name, endUserId } : undefined;
  }
  if (body.channel !== "web_widget") return undefined;
  if (subject === "conversation.message" && body.role === "user") {
    return { name: "message_sent", endUserId };
  }
  if (subject === "conversation.status" && body.status === "handoff") {
    return { name: "handoff", endUserId };
  }
  return undefined;
}

export const GA4_SOURCE_SUBJECTS = ["widget.event", "conversation.message", "conversation.status"];

/** A stable pseudonymous client id per end user (HMAC of the id with the creator's secret). */
async function clientIdOf(endUserId: string, key: string): Promise<string> {
  const k = await crypto.subtle.importKey(
    "raw",
    new TextEncoder().encode(key),
    { name: "HMAC", hash: "SHA-256" },
    false,
    ["sign"],
  );
  const mac = new Uint8Array(
    await crypto.subtle.sign("HMAC", k, new TextEncoder().encode(endUserId)),
  );
  const n = new DataView(mac.buffer).getUint32(0) >>> 0;
  const m = new DataView(mac.buffer).getUint32(4) >>> 0;
  return `${n}.${m}`;
}

export interface Ga4Options {
  nc: NatsConnection;
  pool: pg.Pool;
  prefix: string;
  box: SecretBox;
  deadLetters: DeadLetters;
  log: Logger;
  /** `https://www.google-analytics.com` (a loopback fake in tests). */
  apiUrl?: string;
}

/** Sends one event to the creator's property; false when the creator has none configured. */
export async function sendGa4(
  o: Pick<Ga4Options, "pool" | "box" | "apiUrl">,
  creatorId: string,
  event: { name: string; endUserId: string; channel?: string },
): Promise<boolean> {
  const row = await withSystem(
    o.pool,
    async (c) =>
      (await c.query<
        { measurement_id: string; secret_iv: Uint8Array; secret_ciphertext: Uint8Array }
      >(
        "select measurement_id, secret_iv, secret_ciphertext from ga4_settings where creator_id = $1",
        [creatorId],
      )).rows[0],
  );
  if (!row) return false;
  const secret = await o.box.open(
    { iv: row.secret_iv, ciphertext: row.secret_ciphertext },
    ga4Context(creatorId),
  );
  const url = new URL("/mp/collect", o.apiUrl ?? "https://www.google-analytics.com");
  url.searchParams.set("measurement_id", row.measurement_id);
  url.searchParams.set("api_secret", secret);
  const res = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({
      client_id: await clientIdOf(event.endUserId, secret),
      non_personalized_ads: true,
      events: [{
        name: `coachd_${event.name}`,
        params: { channel: event.channel ?? "web_widget" },
      }],
    }),
    signal: AbortSignal.timeout(10_000),
  });
  await res.body?.cancel();
  // The Measurement Protocol answers 2xx even for events it drops; anything else is retried.
  if (res.status >= 300) throw new Error(`GA4 answered ${res.status}`);
  return true;
}

/** The worker: widget events of the events stream to the creators' GA4 properties. */
export async function startGa4Worker(o: Ga4Options): Promise<AsyncDisposable> {
  const consumers: EventConsumer[] = [];
  const stop = async () => void await Promise.allSettled(consumers.map((c) => c.stop()));
  try {
    for (const subject of GA4_SOURCE_SUBJECTS) {
      consumers.push(
        await startEventConsumer({
          nc: o.nc,
          stream: streamNames(o.prefix).events,
          durable: `ga4-${subject.replace(/\./g, "-")}`,
          filter: `${o.prefix}.evt.${subject}`,
          schema: z.object({ creatorId: z.uuid() }).passthrough(),
          deadLetters: o.deadLetters,
          log: o.log.child({ component: "ga4" }),
          maxDeliver: 3,
          handle: async (body) => {
            const event = ga4EventOf(subject, body);
            if (!event) return;
            await sendGa4(o, body.creatorId, {
              ...event,
              channel: typeof body.channel === "string" ? body.channel : undefined,
            });
          },
        }),
      );
    }
  } catch (err) {
    await stop();
    throw err;
  }
  return { [Symbol.asyncDispose]: stop };
}
