/**
 * Push notifications through the real senders against loopback fakes of FCM HTTP v1, APNs
 * (HTTP/2, TLS) and a Web Push service: a person without a live socket gets the coach's message
 * as a push on each device, a person with one gets it over the socket only, a token the provider
 * calls dead is pruned, and a 429 is retried after its Retry-After. End to end: the coach's
 * answer to an app message reaches an Android device through the delivery worker.
 */
import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import webpush from "web-push";
import { jsonLogger, ManualClock } from "../runtime/mod.ts";
import { withTenant } from "../db/tenant.ts";
import { SecretBox } from "../db/secrets.ts";
import { PushTokenStore } from "../channels/push/store.ts";
import { PushDispatcher } from "../channels/push/dispatch.ts";
import { FcmSender } from "../channels/push/fcm.ts";
import { ApnsSender } from "../channels/push/apns.ts";
import { WebPushSender } from "../channels/push/webpush.ts";
import { type Presence, PushFallbackSender } from "../channels/mobile/sender.ts";
import type { Connection } from "../channels/core/connections.ts";
import type { ChannelSender, OutboundPart, Recipient } from "../channels/core/sender.ts";
import { startFakeFcm } from "./fakes/fcm.ts";
import { startFakeApns } from "./fakes/apns.ts";
import { startFakeWebPush } from "./fakes/webpush.ts";
import { eventually, testDb } from "./harness.ts";
import { seedCreator } from "./knowledge_seed.ts";
import { nodeEnv } from "./node_env.ts";

const log = jsonLogger("error");

async function person(pool: import("pg").Pool) {
  const creatorId = await seedCreator(pool);
  const endUserId = await withTenant(pool, creatorId, async (c) =>
    (await c.query<{ id: string }>(
      `insert into end_users (creator_id, channel, external_id) values ($1, 'mobile_app', $2)
       returning id`,
      [creatorId, `device:${crypto.randomUUID()}`],
    )).rows[0]!.id);
  const conn: Connection = {
    id: crypto.randomUUID(),
    creatorId,
    kind: "mobile_app",
    name: "Coach app",
    status: "active",
    config: {},
    publicKey: "ak_test",
    secrets: {},
  };
  const to: Recipient = {
    identityId: crypto.randomUUID(),
    endUserId,
    externalId: "device:x",
    displayName: "",
    startedAt: null,
    lastInboundAt: null,
  };
  return { creatorId, endUserId, conn, to };
}

/** The real-time sender under the fallback: records what went to the person's sockets. */
function socketSender(): ChannelSender & { sent: string[] } {
  const sent: string[] = [];
  return {
    kind: "mobile_app",
    sent,
    limits: () => ({ perSecond: 1000, chatIntervalMs: 0 }),
    plan: (req) => ({ parts: [{ text: req.text }] }),
    send: (part: OutboundPart) => {
      sent.push(part.text);
      return Promise.resolve({ providerMessageId: `rt:${sent.length}` });
    },
  };
}

const offline: Presence = { isLive: () => Promise.resolve(false) };
const online: Presence = { isLive: () => Promise.resolve(true) };

const rowsOf = async (pool: import("pg").Pool, creatorId: string) =>
  await withTenant(
    pool,
    creatorId,
    async (c) =>
      (await c.query<{ id: string; provider: string; last_used_at: Date | null }>(
        "select id, provider, last_used_at from push_tokens order by created_at, id",
      )).rows,
  );

Deno.test("push - FCM: delivered when offline, not when a socket is live, UNREGISTERED pruned, 429 retried after Retry-After", async () => {
  await using db = await testDb();
  await using fcm = await startFakeFcm();
  const box = new SecretBox(crypto.getRandomValues(new Uint8Array(32)));
  const store = new PushTokenStore(db.pool, box);
  const clock = new ManualClock();
  const sender = new FcmSender(
    {
      project_id: fcm.projectId,
      client_email: fcm.serviceAccount.client_email!,
      private_key: fcm.serviceAccount.private_key!,
      token_uri: fcm.serviceAccount.token_uri!,
    },
    { apiUrl: fcm.url },
  );
  const push = new PushDispatcher({ store, senders: [sender], log, clock });
  const { creatorId, endUserId, conn, to } = await person(db.pool);
  const phone = fcm.addDevice();
  const tablet = fcm.addDevice();
  await store.register(creatorId, { endUserId, provider: "fcm", token: phone, hint: "phone" });
  await store.register(creatorId, { endUserId, provider: "fcm", token: tablet, hint: "tablet" });
  // Stored sealed: the token itself is nowhere in the row.
  const raw = await db.pool.query("select * from push_tokens");
  assert.ok(!JSON.stringify(raw.rows).includes(phone.slice(-20)));

  const socket = socketSender();
  const whenOffline = new PushFallbackSender(socket, { presence: offline, push });
  const whenOnline = new PushFallbackSender(socket, { presence: online, push });

  const sent = await whenOffline.send({ text: "Time for your evening check-in." }, to, conn);
  assert.equal(sent.providerMessageId, "rt:1", "the socket path always has it (for a resume)");
  assert.deepEqual(fcm.delivered.map((d) => d.token).sort(), [phone, tablet].sort());
  assert.deepEqual(fcm.delivered[0]!.notification, {
    title: "Coach app",
    body: "Time for your evening check-in.",
  });
  assert.equal(fcm.tokensIssued, 1, "one OAuth2 token for both sends");
  assert.ok((await rowsOf(db.pool, creatorId)).every((r) => r.last_used_at !== null));

  const live = await whenOnline.send({ text: "Hi!" }, to, conn);
  assert.equal(live.providerMessageId, "rt:2");
  assert.deepEqual(socket.sent, ["Time for your evening check-in.", "Hi!"]);
  assert.equal(fcm.delivered.length, 2, "no push while a socket is live");

  // The tablet's app was uninstalled: FCM says UNREGISTERED and the registration goes.
  fcm.unregister(tablet);
  const after = await push.notify(creatorId, endUserId, { title: "t", body: "b" });
  assert.deepEqual(after, { sent: 1, pruned: 1, failed: 0, unsupported: 0 });
  const left = await rowsOf(db.pool, creatorId);
  assert.equal(left.length, 1);
  assert.equal(fcm.requests.filter((r) => r.status === 404).length, 1);

  // Rate limited: the send waits for Retry-After (on the clock), then goes through.
  fcm.failNext({ kind: "quota", retryAfter: 7 });
  const pending = push.notify(creatorId, endUserId, { title: "t", body: "later" });
  await eventually(() => clock.pending > 0, { what: "the retry timer" });
  assert.equal(fcm.delivered.length, 3, "not sent again before Retry-After");
  clock.advance(6_999);
  await new Promise((r) => setTimeout(r, 20));
  assert.equal(fcm.delivered.length, 3, "still waiting at 6.999 s");
  clock.advance(1);
  assert.deepEqual(await pending, { sent: 1, pruned: 0, failed: 0, unsupported: 0 });
  assert.equal(fcm.delivered.at(-1)!.notification.body, "later");
  assert.deepEqual(fcm.requests.filter((r) => r.status === 429).length, 1);

  // A token that is not an FCM registration token at all is pruned as well.
  await store.register(creatorId, { endUserId, provider: "fcm", token: "x".repeat(40), hint: "" });
  const bogus = await push.notify(creatorId, endUserId, { title: "t", body: "b" });
  assert.equal(bogus.pruned, 1);
  assert.equal((await rowsOf(db.pool, creatorId)).length, 1);
});

Deno.test("push - APNs over HTTP/2: delivered with a provider token, 410 Unregistered and 400 BadDeviceToken pruned, 429 retried", async () => {
  await using db = await testDb();
  await using apns = await startFakeApns();
  const store = new PushTokenStore(
    db.pool,
    new SecretBox(crypto.getRandomValues(new Uint8Array(32))),
  );
  const clock = new ManualClock();
  using sender = new ApnsSender({
    privateKey: apns.key.privateKey,
    keyId: apns.key.keyId,
    teamId: apns.key.teamId,
    topic: apns.topic,
    apiUrl: apns.url,
    caCerts: [apns.caCert],
  });
  const push = new PushDispatcher({ store, senders: [sender], log, clock });
  const { creatorId, endUserId, conn, to } = await person(db.pool);
  const iphone = apns.addDevice();
  const ipad = apns.addDevice();
  for (const token of [iphone, ipad]) {
    await store.register(creatorId, { endUserId, provider: "apns", token, hint: "" });
  }
  await new PushFallbackSender(socketSender(), { presence: offline, push }).send(
    { text: "Your streak is at risk: one question today keeps it." },
    to,
    conn,
  );
  assert.equal(apns.delivered.length, 2);
  assert.equal(apns.delivered[0]!.pushType, "alert");
  assert.equal(apns.delivered[0]!.topic, apns.topic);
  assert.deepEqual(apns.delivered[0]!.payload.aps?.alert, {
    title: "Coach app",
    body: "Your streak is at risk: one question today keeps it.",
  });

  apns.unregister(ipad);
  const gone = await push.notify(creatorId, endUserId, { title: "t", body: "b" });
  assert.deepEqual(gone, { sent: 1, pruned: 1, failed: 0, unsupported: 0 });
  assert.ok(apns.requests.some((r) => r.status === 410 && r.reason === "Unregistered"));

  // A well-formed token APNs does not know (another environment): 400 BadDeviceToken, pruned.
  const stranger = "ab".repeat(32);
  await store.register(creatorId, { endUserId, provider: "apns", token: stranger, hint: "" });
  const bad = await push.notify(creatorId, endUserId, { title: "t", body: "b" });
  assert.deepEqual(bad, { sent: 1, pruned: 1, failed: 0, unsupported: 0 });
  assert.ok(apns.requests.some((r) => r.status === 400 && r.reason === "BadDeviceToken"));
  const rows = await rowsOf(db.pool, creatorId);
  assert.equal(rows.length, 1);

  apns.failNext({ kind: "too_many", retryAfter: 2 });
  const pending = push.notify(creatorId, endUserId, { title: "t", body: "again" });
  await eventually(() => clock.pending > 0, { what: "the retry timer" });
  clock.advance(2_000);
  assert.equal((await pending).sent, 1);
  assert.equal(apns.delivered.at(-1)!.payload.aps?.alert?.body, "again");
});

Deno.test("push - Web Push with VAPID: the service worker gets the decrypted message; 410 and 404 pruned", async () => {
  await using db = await testDb();
  await using wp = startFakeWebPush();
  const store = new PushTokenStore(
    db.pool,
    new SecretBox(crypto.getRandomValues(new Uint8Array(32))),
  );
  const vapid = webpush.generateVAPIDKeys();
  const sender = new WebPushSender({
    subject: "mailto:ops@coachd.test",
    publicKey: vapid.publicKey,
    privateKey: vapid.privateKey,
  });
  const push = new PushDispatcher({ store, senders: [sender], log });
  const { creatorId, endUserId, conn, to } = await person(db.pool);
  const browser = await wp.subscribe();
  const oldBrowser = await wp.subscribe();
  for (const s of [browser, oldBrowser]) {
    await store.register(creatorId, {
      endUserId,
      provider: "webpush",
      token: JSON.stringify(s),
      hint: "",
    });
  }
  await new PushFallbackSender(socketSender(), { presence: offline, push }).send(
    { text: "Step 3 of your program is ready." },
    to,
    conn,
  );
  assert.equal(wp.delivered.length, 2);
  assert.deepEqual(JSON.parse(wp.delivered[0]!.payload), {
    title: "Coach app",
    body: "Step 3 of your program is ready.",
    data: { kind: "message", id: "rt:1" },
  });
  assert.equal(wp.delivered[0]!.vapidSubject, "mailto:ops@coachd.test");
  assert.ok(wp.delivered[0]!.ttl > 0);

  wp.expire(oldBrowser.endpoint);
  await store.register(creatorId, {
    endUserId,
    provider: "webpush",
    token: JSON.stringify({ ...browser, endpoint: `${wp.url}/push/unknown-subscription` }),
    hint: "",
  });
  const outcome = await push.notify(creatorId, endUserId, { title: "t", body: "b" });
  assert.deepEqual(outcome, { sent: 1, pruned: 2, failed: 0, unsupported: 0 });
  assert.deepEqual(wp.requests.slice(-3).map((r) => r.status).sort(), [201, 404, 410]);
  assert.equal((await rowsOf(db.pool, creatorId)).length, 1);
  // The key the browser subscribed with is the one that signs (not stored anywhere in clear).
  assert.equal(Buffer.from(vapid.publicKey, "base64url").length, 65);
});

Deno.test("push end to end - the coach's answer to an app message reaches an offline Android device; registration checks its provider", async () => {
  await using fcm = await startFakeFcm();
  await using env = await nodeEnv({
    FCM_SERVICE_ACCOUNT: JSON.stringify(fcm.serviceAccount),
    FCM_API_URL: fcm.url,
  });
  const { token } = await env.signup();
  const app = await env.call("POST", "/v1/channels", {
    token,
    body: { kind: "mobile_app", name: "Sleep Coach" },
  });
  const device = await env.call("POST", "/v1/app/devices", {
    body: { public_key: app.json.public_key },
  });
  const access = device.json.access_token;
  const phone = fcm.addDevice();
  const reg = await env.call("POST", "/v1/app/push-tokens", {
    token: access,
    body: { provider: "fcm", token: phone },
  });
  assert.equal(reg.status, 201, reg.text);
  const apns = await env.call("POST", "/v1/app/push-tokens", {
    token: access,
    body: { provider: "apns", token: "ab".repeat(32) },
  });
  assert.equal(apns.status, 422, "no APNs credentials on this node");
  assert.equal(apns.json.errors[0].field, "body.provider");
  const listed = await env.call("GET", "/v1/app/push-tokens", { token: access });
  assert.deepEqual(listed.json.data.map((d: { provider: string }) => d.provider), ["fcm"]);

  await env.call("POST", "/v1/app/messages", { token: access, body: { text: "hello coach" } });
  const pushed = await eventually(() => fcm.delivered[0], {
    timeoutMs: 20_000,
    what: "the answer as a push",
  });
  assert.equal(pushed.token, phone);
  assert.equal(pushed.notification.title, "Sleep Coach");
  assert.ok((pushed.notification.body ?? "").length > 0);
  const d = await eventually(async () => {
    const { rows: [r] } = await env.db.pool.query(
      "select status, provider_message_ids from deliveries where channel = 'mobile_app' limit 1",
    );
    return r?.status === "sent" && r;
  }, { what: "the delivery sent" });
  assert.match(d.provider_message_ids[0], /^rt:/);

  const removed = await env.call("DELETE", `/v1/app/push-tokens/${reg.json.id}`, { token: access });
  assert.equal(removed.status, 204);
  assert.deepEqual((await env.call("GET", "/v1/app/push-tokens", { token: access })).json.data, []);
});
