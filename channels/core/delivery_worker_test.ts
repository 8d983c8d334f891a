import assert from "node:assert/strict";
import { jetstream } from "@nats-io/jetstream";
import { jsonLogger } from "../../runtime/mod.ts";
import { withTenant } from "../../db/tenant.ts";
import { SecretBox } from "../../db/secrets.ts";
import { eventually, sleep } from "../../tests/harness.ts";
import { channelsEnv, seedChannel } from "../../tests/channels_env.ts";
import { ConnectionDirectory } from "./connections.ts";
import { DELIVERY_SUBJECT, type DeliveryRequest } from "../../actors/mod.ts";
import { startDeliveryWorker } from "./delivery_worker.ts";
import { createChannelMetrics } from "./metrics.ts";
import { pacerActor } from "./pacer.ts";
import { type ChannelSender, type OutboundPart, ProviderError } from "./sender.ts";
import { takeIn } from "./intake.ts";
import { splitMessage } from "./format.ts";
import { z } from "zod";
import { defineActor } from "../../runtime/mod.ts";

const userStub = defineActor({
  type: "user",
  state: z.object({}),
  initial: () => ({}),
  handlers: (h) => ({ inbound: h(z.unknown(), () => {}) }),
});

/** A sender that records what it sent and fails as scripted. */
function recordingSender(script: (part: OutboundPart, n: number) => ProviderError | undefined) {
  const sent: { to: string; text: string; at: number }[] = [];
  let calls = 0;
  const sender: ChannelSender = {
    kind: "telegram",
    limits: () => ({ perSecond: 30, chatIntervalMs: 0 }),
    plan: (req) => ({ parts: splitMessage(req.text, 20).map((text) => ({ text })) }),
    send: (part, to) => {
      const failure = script(part, calls++);
      if (failure) return Promise.reject(failure);
      sent.push({ to: to.externalId, text: part.text, at: Date.now() });
      return Promise.resolve({ providerMessageId: `p${sent.length}` });
    },
  };
  return { sender, sent, calls: () => calls };
}

async function setup(script: Parameters<typeof recordingSender>[0] = () => undefined) {
  const env = await channelsEnv({ actors: [pacerActor, userStub] });
  const { creatorId, connectionId } = await seedChannel(env.db.pool);
  const person = await takeIn({ pool: env.db.pool, system: env.system }, {
    channel: "telegram",
    connectionId,
    creatorId,
    externalUserId: "42",
    externalMessageId: "in-1",
    sentAt: Date.now(),
    content: { type: "text", text: "hi" },
  });
  assert.equal(person.status, "accepted");
  const endUserId = person.status === "accepted" ? person.endUserId : "";
  const rec = recordingSender(script);
  const box = new SecretBox(new Uint8Array(32));
  const connections = new ConnectionDirectory({ pool: env.db.pool, box });
  const worker = await startDeliveryWorker({
    pool: env.db.pool,
    nc: env.nats.nc,
    system: env.system,
    connections,
    senders: [rec.sender],
    metrics: createChannelMetrics({ node: "n1" }),
    log: jsonLogger("error"),
    prefix: env.nats.prefix,
    retryDelayMs: 20,
    maxAttempts: 4,
  });
  const js = jetstream(env.nats.nc);
  const request = (id: string, over: Partial<DeliveryRequest> = {}) =>
    js.publish(
      `${env.nats.prefix}.evt.${DELIVERY_SUBJECT}`,
      JSON.stringify({ creatorId, endUserId, purpose: "answer", text: "hello", ...over }),
      { msgID: id },
    );
  const row = (id: string) =>
    withTenant(env.db.pool, creatorId, async (c) =>
      (await c.query(
        `select status, reason, attempts, provider_message_ids, channel, external_id
           from deliveries where id = $1`,
        [id],
      )).rows[0]);
  return {
    env,
    creatorId,
    endUserId,
    rec,
    worker,
    request,
    row,
    async [Symbol.asyncDispose]() {
      await worker.stop();
      await env[Symbol.asyncDispose]();
    },
  };
}

Deno.test("delivery worker - sends each part once, records provider ids and moves queued → sent", async () => {
  await using t = await setup();
  await t.request("d1", { text: "First sentence here. Second sentence here." });
  const done = await eventually(async () => (await t.row("d1"))?.status === "sent" && t.row("d1"));
  assert.deepEqual(t.rec.sent.map((s) => s.text), [
    "First sentence here.",
    "Second sentence",
    "here.",
  ]);
  assert.deepEqual(done.provider_message_ids, ["p1", "p2", "p3"]);
  assert.equal(done.attempts, 3);
  assert.equal(done.channel, "telegram");
  assert.equal(done.external_id, "42");
});

Deno.test("delivery worker - a redelivery after a crash mid-message resumes after the last part sent", async () => {
  // The second part's send breaks the worker (not a provider answer): the event comes again.
  await using t = await setup((_p, n) =>
    n === 1 ? new Error("worker lost") as ProviderError : undefined
  );
  await t.request("d9", { text: "First sentence here. Second sentence here." });
  const done = await eventually(async () => (await t.row("d9"))?.status === "sent" && t.row("d9"), {
    timeoutMs: 15_000,
  });
  assert.deepEqual(t.rec.sent.map((s) => s.text), [
    "First sentence here.",
    "Second sentence",
    "here.",
  ]);
  assert.deepEqual(done.provider_message_ids, ["p1", "p2", "p3"]);
  assert.equal(t.rec.calls(), 4);
});

Deno.test("delivery worker - a 429 with retry-after waits that long and tries again", async () => {
  await using t = await setup((_p, n) =>
    n === 0
      ? new ProviderError("retry", "Too Many Requests: retry after 1", {
        code: 429,
        retryAfterMs: 300,
        connectionWide: true,
      })
      : undefined
  );
  const start = Date.now();
  await t.request("d2");
  const done = await eventually(async () => (await t.row("d2"))?.status === "sent" && t.row("d2"));
  assert.ok(t.rec.sent[0]!.at - start >= 300, `sent after ${t.rec.sent[0]!.at - start} ms`);
  assert.equal(done.attempts, 2);
});

Deno.test("delivery worker - a permanent error fails with the provider's reason; too many retries fail too", async () => {
  await using t = await setup((p) =>
    p.text === "bad"
      ? new ProviderError("permanent", "Bad Request: chat not found", { code: 400 })
      : p.text === "flaky"
      ? new ProviderError("retry", "Internal Server Error", { code: 500 })
      : undefined
  );
  await t.request("d3", { text: "bad" });
  await t.request("d4", { text: "flaky" });
  const bad = await eventually(async () => (await t.row("d3"))?.status === "failed" && t.row("d3"));
  assert.equal(bad.reason, "Bad Request: chat not found (400)");
  const flaky = await eventually(
    async () => (await t.row("d4"))?.status === "failed" && t.row("d4"),
    { timeoutMs: 15_000 },
  );
  assert.equal(flaky.reason, "gave up after 4 attempts: Internal Server Error");
  assert.equal(flaky.attempts, 4);
});

Deno.test("delivery worker - blocked by the user marks the identity unreachable; later deliveries are skipped", async () => {
  await using t = await setup((p) =>
    p.text === "first"
      ? new ProviderError("unreachable", "Forbidden: bot was blocked by the user", { code: 403 })
      : undefined
  );
  await t.request("d5", { text: "first" });
  const first = await eventually(async () =>
    (await t.row("d5"))?.status === "failed" && t.row("d5")
  );
  assert.equal(first.reason, "unreachable: Forbidden: bot was blocked by the user");
  await t.request("d6", { text: "second" });
  const second = await eventually(async () =>
    (await t.row("d6"))?.status === "skipped" && t.row("d6")
  );
  assert.equal(second.reason, "unreachable");
  assert.equal(t.rec.sent.length, 0);
});

Deno.test("delivery worker - an opted-out person gets answers but no nudges", async () => {
  await using t = await setup();
  await withTenant(
    t.env.db.pool,
    t.creatorId,
    (c) => c.query("update end_users set status = 'opted_out'"),
  );
  await t.request("d7", { purpose: "nudge", text: "Time for a walk?" });
  await t.request("d8", { purpose: "answer", text: "Here you go." });
  const nudge = await eventually(async () =>
    (await t.row("d7"))?.status === "skipped" && t.row("d7")
  );
  assert.equal(nudge.reason, "opted_out");
  await eventually(async () => (await t.row("d8"))?.status === "sent");
  await sleep(100);
  assert.deepEqual(t.rec.sent.map((s) => s.text), ["Here you go."]);
});
