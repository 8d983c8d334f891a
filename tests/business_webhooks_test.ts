/**
 * Outbound webhooks end to end: an endpoint subscribed through the admin API, an event on the
 * events stream turned into a delivery, signed to the Standard Webhooks spec and verified with the
 * `standardwebhooks` library; retries on the durable schedule for over a day, the endpoint
 * disabled with an e-mail, replay through the API; and SSRF refusals.
 */
import assert from "node:assert/strict";
import { jetstream } from "@nats-io/jetstream";
import { Webhook } from "standardwebhooks";
import { withSystem } from "../db/tenant.ts";
import {
  checkTarget,
  createBusiness,
  isPrivateAddress,
  RETRY_DELAYS_MS,
  TargetRefusedError,
} from "../business/mod.ts";
import { jsonLogger } from "../runtime/mod.ts";
import { eventually } from "./harness.ts";
import { testApi } from "./api_harness.ts";
import { businessEnv } from "./business_env.ts";

interface Received {
  headers: Record<string, string>;
  body: string;
}

/** A receiver on loopback that answers `status()` and keeps what it got. */
function receiver() {
  const got: Received[] = [];
  let status = 200;
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, async (req) => {
    got.push({ headers: Object.fromEntries(req.headers), body: await req.text() });
    return new Response(status === 200 ? "ok" : "nope", { status });
  });
  return {
    url: `http://127.0.0.1:${server.addr.port}/hooks/coachd`,
    got,
    answer: (s: number) => void (status = s),
    [Symbol.asyncDispose]: () => server.shutdown(),
  };
}

Deno.test("webhooks - a handoff on the events stream reaches the endpoint signed; the standardwebhooks library verifies it", async () => {
  await using env = await businessEnv();
  await using rx = receiver();
  const me = await env.signup();
  const created = await env.call("POST", "/v1/webhooks/endpoints", {
    token: me.token,
    body: { url: rx.url, event_types: ["handoff.requested", "message.received"] },
  });
  assert.equal(created.status, 201, created.text);
  const secret: string = created.json.secret;
  assert.match(secret, /^whsec_/);
  const listed = await env.call("GET", "/v1/webhooks/endpoints", { token: me.token });
  assert.equal(listed.json.data.length, 1);
  assert.equal(listed.json.data[0].secret, undefined, "the secret is shown once");
  const stored = await withSystem(
    env.db.pool,
    (c) => c.query("select secret_ciphertext from webhook_endpoints"),
  );
  assert.ok(!new TextDecoder().decode(stored.rows[0].secret_ciphertext).includes(secret.slice(6)));

  const js = jetstream(env.nats.nc);
  const conversationId = crypto.randomUUID();
  const endUserId = crypto.randomUUID();
  await js.publish(
    `${env.nats.prefix}.evt.conversation.status`,
    JSON.stringify({
      creatorId: me.creatorId,
      conversationId,
      endUserId,
      channel: "telegram",
      status: "handoff",
      reason: "asked for a human",
      lastMessage: "Can I talk to a person?",
      at: Date.now(),
    }),
    { msgID: "evt-handoff-1" },
  );
  // A coach reply is not a subscribed event; a program completion has no subscriber.
  await js.publish(
    `${env.nats.prefix}.evt.conversation.message`,
    JSON.stringify({
      creatorId: me.creatorId,
      conversationId,
      endUserId,
      channel: "telegram",
      role: "assistant",
      text: "hi",
      at: Date.now(),
    }),
  );
  const deliveries = () =>
    env.call("GET", `/v1/webhooks/endpoints/${created.json.id}/deliveries`, { token: me.token });
  await eventually(async () => (await deliveries()).json.data.length === 1, {
    timeoutMs: 15_000,
    what: "delivery queued",
  });
  env.catchUp();
  assert.equal(await env.dispatcher.deliverDue(), 1);
  assert.equal(rx.got.length, 1);
  const hit = rx.got[0]!;
  const payload = new Webhook(secret).verify(hit.body, hit.headers) as {
    type: string;
    data: Record<string, unknown>;
  };
  assert.equal(payload.type, "handoff.requested");
  assert.equal(payload.data.conversation_id, conversationId);
  assert.equal(payload.data.creator_id, me.creatorId);
  assert.match(hit.headers["webhook-id"]!, /^msg_/);
  assert.throws(() =>
    new Webhook(`whsec_${btoa("another secret!!")}`).verify(hit.body, hit.headers)
  );
  const log = (await deliveries()).json.data[0];
  assert.equal(log.status, "succeeded");
  assert.equal(log.attempts, 1);
  assert.equal(log.last_status_code, 200);
  // The creator is told by e-mail that someone waits.
  await env.inbox.waitFor(me.email, /(Can I talk to a person\?)/);
  // The same event again (a redelivery) is not queued twice.
  await js.publish(
    `${env.nats.prefix}.evt.conversation.status`,
    JSON.stringify({
      creatorId: me.creatorId,
      conversationId,
      endUserId,
      channel: "telegram",
      status: "handoff",
      at: Date.now(),
    }),
    { msgID: "evt-handoff-2" },
  );
  await eventually(async () => (await deliveries()).json.data.length === 2, {
    timeoutMs: 15_000,
    what: "second delivery",
  });
});

Deno.test("webhooks - failures retry on the durable schedule for over a day, then the endpoint is disabled and the creator told; replay sends it again", async () => {
  await using env = await businessEnv();
  await using rx = receiver();
  const me = await env.signup();
  const ep = await env.call("POST", "/v1/webhooks/endpoints", {
    token: me.token,
    body: { url: rx.url, event_types: ["delivery.failed"] },
  });
  const total = RETRY_DELAYS_MS.reduce((a, b) => a + b, 0);
  assert.ok(total > 24 * 3600_000, `schedule spans ${total / 3600_000} h`);
  rx.answer(503);
  await jetstream(env.nats.nc).publish(
    `${env.nats.prefix}.evt.channel.status`,
    JSON.stringify({
      creatorId: me.creatorId,
      connectionId: crypto.randomUUID(),
      channel: "whatsapp",
      providerMessageId: "wamid.1",
      status: "failed",
      at: Date.now(),
      error: "131026 undeliverable",
    }),
  );
  const row = async () =>
    (await withSystem(env.db.pool, (c) => c.query("select * from webhook_deliveries"))).rows[0];
  await eventually(async () => (await row()) !== undefined, { timeoutMs: 15_000, what: "queued" });
  env.catchUp();
  assert.equal(await env.dispatcher.deliverDue(), 1);
  let r = await row();
  assert.equal(r.status, "pending");
  assert.equal(r.attempts, 1);
  assert.equal(r.last_status_code, 503);
  assert.equal(new Date(r.next_attempt_at).getTime(), env.clock.now() + RETRY_DELAYS_MS[0]!);
  // Not due yet: nothing is sent.
  env.clock.advance(RETRY_DELAYS_MS[0]! - 1);
  assert.equal(await env.dispatcher.deliverDue(), 0);
  env.clock.advance(1);
  assert.equal(await env.dispatcher.deliverDue(), 1);
  for (const delay of RETRY_DELAYS_MS.slice(1)) {
    env.clock.advance(delay);
    assert.equal(await env.dispatcher.deliverDue(), 1);
  }
  r = await row();
  assert.equal(r.status, "failed");
  assert.equal(r.attempts, RETRY_DELAYS_MS.length + 1);
  assert.equal(rx.got.length, RETRY_DELAYS_MS.length + 1);
  const ids = new Set(rx.got.map((g) => g.headers["webhook-id"]));
  assert.equal(ids.size, 1, "every attempt carries the same webhook-id");
  const endpoint = await env.call("GET", `/v1/webhooks/endpoints/${ep.json.id}`, {
    token: me.token,
  });
  assert.equal(endpoint.json.status, "disabled");
  assert.match(endpoint.json.disabled_reason, /failed for over a day/);
  await env.inbox.waitFor(me.email, /(Coachd stopped sending webhooks)/);

  // Fixed: enable it again and replay what it missed.
  rx.answer(200);
  const enabled = await env.call("PATCH", `/v1/webhooks/endpoints/${ep.json.id}`, {
    token: me.token,
    body: { status: "enabled" },
  });
  assert.equal(enabled.json.status, "enabled");
  const replay = await env.call("POST", `/v1/webhooks/deliveries/${r.id}/replay`, {
    token: me.token,
  });
  assert.equal(replay.status, 202, replay.text);
  env.catchUp();
  assert.equal(await env.dispatcher.deliverDue(), 1);
  r = await row();
  assert.equal(r.status, "succeeded");
  const last = rx.got.at(-1)!;
  assert.equal(last.headers["webhook-id"], [...ids][0]);
  const payload = new Webhook(ep.json.secret).verify(last.body, last.headers) as { type: string };
  assert.equal(payload.type, "delivery.failed");
});

Deno.test("webhooks - a subscription change from Stripe is delivered to subscribed endpoints", async () => {
  await using env = await businessEnv();
  await using rx = receiver();
  const me = await env.signup();
  const ep = await env.call("POST", "/v1/webhooks/endpoints", {
    token: me.token,
    body: { url: rx.url, event_types: ["subscription.changed"] },
  });
  const checkout = await env.call("POST", "/v1/billing/checkout", {
    token: me.token,
    body: { plan: "pro" },
  });
  const [completed] = env.stripe.completeCheckout(checkout.json.id);
  await env.stripe.deliver(`${env.url}/hooks/stripe`, completed!);
  env.catchUp();
  assert.equal(await env.dispatcher.deliverDue(), 1);
  const payload = new Webhook(ep.json.secret).verify(rx.got[0]!.body, rx.got[0]!.headers) as {
    type: string;
    data: { plan: string; previous_plan: string };
  };
  assert.equal(payload.type, "subscription.changed");
  assert.equal(payload.data.plan, "pro");
  assert.equal(payload.data.previous_plan, "free");
  // The same change published on the events stream (for analytics) is not delivered again.
  await new Promise((r) => setTimeout(r, 300));
  env.catchUp();
  assert.equal(await env.dispatcher.deliverDue(), 0);
});

Deno.test("webhooks - targets in private ranges are refused unless allowed (every resolved address is checked)", async () => {
  for (
    const a of [
      "127.0.0.1",
      "10.1.2.3",
      "172.20.0.1",
      "192.168.1.1",
      "169.254.169.254",
      "::1",
      "fd00::1",
      "::ffff:10.0.0.1",
      "100.64.0.1",
      "0.0.0.0",
    ]
  ) {
    assert.equal(isPrivateAddress(a), true, a);
  }
  for (const a of ["93.184.216.34", "8.8.8.8", "2606:4700::1111"]) {
    assert.equal(isPrivateAddress(a), false, a);
  }
  const resolve = (map: Record<string, string[]>) => (host: string) =>
    Promise.resolve(map[host] ?? []);
  await assert.rejects(checkTarget("http://127.0.0.1:8080/x"), TargetRefusedError);
  await assert.rejects(checkTarget("http://[::1]/x"), TargetRefusedError);
  await assert.rejects(checkTarget("ftp://example.com/"), /only http and https/);
  await assert.rejects(checkTarget("https://u:p@example.com/"), /credentials/);
  await assert.rejects(
    checkTarget("https://rebind.example/", {
      resolve: resolve({ "rebind.example": ["93.184.216.34", "10.0.0.5"] }),
    }),
    /private address/,
  );
  const ok = await checkTarget("https://hooks.example/", {
    resolve: resolve({ "hooks.example": ["93.184.216.34"] }),
  });
  assert.equal(ok.hostname, "hooks.example");
  assert.equal((await checkTarget("http://127.0.0.1:8080/x", { allowPrivate: true })).port, "8080");

  // Through the admin API on a node that does not allow private targets.
  const t = await testApi();
  try {
    const business = createBusiness({
      pool: t.db.pool,
      log: jsonLogger("error"),
      secretsKey: crypto.getRandomValues(new Uint8Array(32)),
      settings: { appUrl: "http://localhost" },
    });
    const app = t.instance({ business });
    const s = await t.signup();
    const res = await t.call("POST", "/webhooks/endpoints", {
      app,
      token: s.token,
      json: { url: "http://127.0.0.1:9/hook", event_types: ["badge.earned"] },
    });
    assert.equal(res.status, 422);
    const body = await res.json();
    assert.equal(body.errors[0].field, "body.url");
    assert.match(body.errors[0].message, /private address/);
    const bad = await t.call("POST", "/webhooks/endpoints", {
      app,
      token: s.token,
      json: { url: "https://hooks.example/", event_types: ["not.a.type"] },
    });
    assert.equal(bad.status, 422);
    await bad.body?.cancel();
    const types = await t.call("GET", "/webhooks/event-types", { app, token: s.token });
    assert.deepEqual((await types.json()).data.map((d: { type: string }) => d.type).sort(), [
      "badge.earned",
      "delivery.failed",
      "handoff.requested",
      "message.received",
      "plan.limit_reached",
      "program.completed",
      "subscription.changed",
    ]);
  } finally {
    await t[Symbol.asyncDispose]();
  }
});
