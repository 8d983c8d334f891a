/**
 * The person side of the web widget: a visitor's page subscribes to Web Push and asks for a link
 * code with its widget session (allowed origins only); once the page is closed the creator's
 * reply reaches the browser as a push; the code, sent to the Telegram bot, makes the Telegram
 * chat and the widget visitor one person.
 */
import assert from "node:assert/strict";
import webpush from "web-push";
import { startFakeTelegram } from "./fakes/telegram.ts";
import { startFakeWebPush } from "./fakes/webpush.ts";
import { eventually } from "./harness.ts";
import { nodeEnv } from "./node_env.ts";
import { TestSocket } from "./widget_env.ts";
import { NOTICES } from "../actors/user/inbound.ts";

const SITE = "http://site.example";

Deno.test("widget person - Web Push when the page is closed, a link code redeemed on Telegram", async () => {
  await using tg = startFakeTelegram();
  await using wp = startFakeWebPush();
  const vapid = webpush.generateVAPIDKeys();
  await using env = await nodeEnv({
    TELEGRAM_API_URL: tg.url,
    VAPID_PUBLIC_KEY: vapid.publicKey,
    VAPID_PRIVATE_KEY: vapid.privateKey,
    VAPID_SUBJECT: "mailto:ops@coachd.test",
  });
  const { token } = await env.signup();
  await env.call("POST", "/v1/channels", {
    token,
    body: { kind: "telegram", name: "Coach bot", bot_token: tg.bot.token },
  });
  const widget = await env.call("POST", "/v1/channels", {
    token,
    body: { kind: "web_widget", name: "Site chat", allowed_origins: [SITE] },
  });
  assert.equal(widget.status, 201, widget.text);
  const key = widget.json.public_key as string;
  const post = (path: string, body: unknown, origin = SITE) =>
    fetch(`${env.url}/widget/v1/${path}?key=${key}`, {
      method: "POST",
      headers: { origin, "content-type": "application/json" },
      body: JSON.stringify(body),
    }).then(async (r) => ({ status: r.status, json: await r.json() }));
  const session = await post("sessions", {});
  assert.equal(session.status, 201);
  const visitor = session.json.token as string;

  // Before the first message there is nobody to link or push to.
  assert.equal((await post("link-codes", { token: visitor })).status, 409);

  const ws = new TestSocket(`${env.url.replace("http", "ws")}/widget/v1/socket?key=${key}`, SITE);
  await ws.opened();
  ws.send({ type: "hello", v: 1, token: visitor });
  await ws.waitFor((f) => f.type === "ready", "ready");
  ws.send({ type: "message", cid: "cid-web-0001", text: "hello coach" });
  await ws.waitFor((f) => f.type === "message" && f.message.role === "assistant", "an answer");

  const pushKey = await fetch(`${env.url}/widget/v1/push-key?key=${key}`, {
    headers: { origin: SITE },
  }).then((r) => r.json());
  assert.equal(pushKey.vapid_public_key, vapid.publicKey);
  const subscription = await wp.subscribe();
  const forged = await post("push-subscriptions", { token: visitor + "x", subscription });
  assert.equal(forged.status, 401);
  const elsewhere = await post(
    "push-subscriptions",
    { token: visitor, subscription },
    "http://evil.example",
  );
  assert.equal(elsewhere.status, 403);
  const subscribed = await post("push-subscriptions", { token: visitor, subscription });
  assert.equal(subscribed.status, 201, JSON.stringify(subscribed.json));
  assert.equal(wp.delivered.length, 0, "the page is open: the answer came over the socket");

  // The page closes; the creator replies from the inbox: the browser gets it as a push.
  ws.close();
  await ws.closed;
  const { rows: [who] } = await env.db.pool.query(
    "select end_user_id from channel_identities where channel = 'web_widget'",
  );
  await eventually(async () => !(await env.channels.realtime!.isLive(who.end_user_id)), {
    what: "presence gone",
  });
  const convs = await env.call("GET", "/v1/conversations", { token });
  const reply = await env.call("POST", `/v1/conversations/${convs.json.data[0].id}/reply`, {
    token,
    body: { text: "Hi, it's your coach in person: how did the week go?" },
  });
  assert.equal(reply.status, 202, reply.text);
  const pushed = await eventually(() => wp.delivered[0], {
    timeoutMs: 20_000,
    what: "the push",
  });
  assert.deepEqual(
    JSON.parse(pushed.payload).body,
    "Hi, it's your coach in person: how did the week go?",
  );
  assert.equal(JSON.parse(pushed.payload).title, "Site chat");

  // The visitor carries the conversation to Telegram.
  const made = await post("link-codes", { token: visitor });
  assert.equal(made.status, 201, JSON.stringify(made.json));
  assert.deepEqual(made.json.links, [
    { channel: "telegram", url: `https://t.me/coachd_test_bot?start=${made.json.code}` },
  ]);
  const ada = tg.addUser({ first_name: "Ada" });
  await tg.deliverUpdate(tg.bot.token, tg.bot.updates.start(ada, made.json.code));
  const notice = await eventually(() => tg.bot.sentMessages(ada.id)[0], {
    timeoutMs: 20_000,
    what: "the notice",
  });
  assert.equal(notice.text, NOTICES.linked);
  const { rows: [linked] } = await env.db.pool.query(
    "select end_user_id from channel_identities where channel = 'telegram' and external_id = $1",
    [String(ada.id)],
  );
  assert.equal(linked.end_user_id, who.end_user_id);
});
