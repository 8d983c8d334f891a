/**
 * The mobile app on the real-time socket (`/app/v1/socket`, the widget's protocol): the end-user
 * token opens it, the answer comes over it and not as a push while it is live; once the socket
 * is gone the next answer is a push; a revoked token cannot open it; what the app sent over REST
 * shows on its socket too.
 */
import assert from "node:assert/strict";
import { startFakeFcm } from "./fakes/fcm.ts";
import { eventually } from "./harness.ts";
import { nodeEnv } from "./node_env.ts";
import { TestSocket } from "./widget_env.ts";

const GUIDE = `# Sleep guide

## Caffeine
Caffeine has a half-life of five to six hours. Stop drinking coffee by 2 pm so it does not keep
you awake at night.

## Naps
Keep naps short: twenty minutes at most, and before 3 pm.
`;

Deno.test("app socket - answered live without a push, pushed once offline, revoked token refused", async () => {
  await using fcm = await startFakeFcm();
  await using env = await nodeEnv({
    FCM_SERVICE_ACCOUNT: JSON.stringify(fcm.serviceAccount),
    FCM_API_URL: fcm.url,
  });
  const { token } = await env.signup();
  await env.knowledge(token, GUIDE);
  const app = await env.call("POST", "/v1/channels", {
    token,
    body: { kind: "mobile_app", name: "Coach app" },
  });
  const device = await env.call("POST", "/v1/app/devices", {
    body: { public_key: app.json.public_key },
  });
  const access = device.json.access_token;
  const endUserId = device.json.end_user_id;
  await env.call("POST", "/v1/app/push-tokens", {
    token: access,
    body: { provider: "fcm", token: fcm.addDevice() },
  });
  const url = `${env.url.replace("http", "ws")}/app/v1/socket`;

  const ws = new TestSocket(url, "");
  await ws.opened();
  ws.send({ type: "hello", v: 1, token: access });
  const ready = await ws.waitFor((f) => f.type === "ready", "ready");
  assert.equal(ready.visitor.identified, true);
  assert.equal(await env.channels.realtime!.isLive(endUserId), true);
  ws.send({ type: "message", cid: "cid-app-0001", text: "Until what time can I drink coffee?" });
  assert.equal((await ws.waitFor((f) => f.type === "status", "status")).status, "received");
  const answer = await ws.waitFor(
    (f) => f.type === "message" && f.message.role === "assistant",
    "the answer",
  );
  assert.equal(answer.live, true);
  // Delivered to the socket: no push while it was live.
  await eventually(async () => {
    const { rows } = await env.db.pool.query(
      "select status from deliveries where channel = 'mobile_app'",
    );
    return rows.length === 1 && rows[0].status === "sent";
  }, { what: "the delivery's record" });
  assert.equal(fcm.delivered.length, 0);

  // REST and socket are one conversation: a message sent over REST shows on the socket.
  await env.call("POST", "/v1/app/messages", {
    token: access,
    body: { text: "How long should a nap be?", client_message_id: "rest-1" },
  });
  await ws.waitFor(
    (f) =>
      f.type === "message" && f.message.role === "user" &&
      f.message.text === "How long should a nap be?",
    "the REST message on the socket",
  );
  await ws.waitFor(
    (f) =>
      f.type === "message" && f.message.role === "assistant" &&
      f.message.id > answer.message.id + 1,
    "its answer",
  );
  assert.equal(fcm.delivered.length, 0);
  ws.close();
  await ws.closed;
  await eventually(async () => !(await env.channels.realtime!.isLive(endUserId)), {
    what: "presence gone",
  });

  // Offline now: the next answer is a push.
  await env.call("POST", "/v1/app/messages", {
    token: access,
    body: { text: "What is the half-life of caffeine?" },
  });
  await eventually(() => fcm.delivered.length === 1, { timeoutMs: 20_000, what: "the push" });
  assert.equal(fcm.delivered[0]!.notification.title, "Coach app");

  // The app signs out: its token cannot open a socket any more.
  await env.call("DELETE", "/v1/app/tokens/current", { token: access });
  await using again = new TestSocket(url, "");
  await again.opened();
  again.send({ type: "hello", v: 1, token: access });
  const closed = await again.closed;
  assert.equal(closed.code, 4401);
});
