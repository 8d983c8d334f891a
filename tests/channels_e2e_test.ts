/**
 * End users reach their coach over Telegram and WhatsApp: a real node, the real client
 * libraries, the providers' fakes on loopback. Connect a bot through the admin API, message it,
 * get a grounded answer; the same over WhatsApp, with the 24-hour window; the handoff round trip;
 * forged and replayed webhooks.
 */
import assert from "node:assert/strict";
import { startFakeTelegram } from "./fakes/telegram.ts";
import { signWebhookBody, startFakeWhatsApp } from "./fakes/whatsapp.ts";
import { eventually, sleep } from "./harness.ts";
import { nodeEnv } from "./node_env.ts";

const GUIDE = `# Sleep guide

## Caffeine
Caffeine has a half-life of five to six hours. Stop drinking coffee by 2 pm so it does not keep
you awake at night.

## Naps
Keep naps short: twenty minutes at most, and before 3 pm.
`;

Deno.test("Telegram end to end - connect a bot, the person writes, the coach answers from the knowledge", async () => {
  await using tg = startFakeTelegram();
  await using env = await nodeEnv({ TELEGRAM_API_URL: tg.url });
  const { token } = await env.signup();
  await env.knowledge(token, GUIDE);

  const bad = await env.call("POST", "/v1/channels", {
    token,
    body: { kind: "telegram", name: "Coach bot", bot_token: "123456:nope-not-a-bot" },
  });
  assert.equal(bad.status, 422);
  assert.equal(bad.json.errors[0].field, "body.bot_token");

  const connected = await env.call("POST", "/v1/channels", {
    token,
    body: { kind: "telegram", name: "Coach bot", bot_token: tg.bot.token },
  });
  assert.equal(connected.status, 201, connected.text);
  const channelId = connected.json.id;
  assert.equal(connected.json.config.mode, "webhook");
  assert.equal(connected.json.config.bot_username, "coachd_test_bot");
  assert.equal(tg.bot.webhook?.url, `${env.url}/hooks/telegram/${channelId}`);

  const ada = tg.addUser({ first_name: "Ada" });
  const started = await tg.deliverUpdate(tg.bot.token, tg.bot.updates.start(ada));
  assert.equal(started.via === "webhook" && started.status, 200);
  await eventually(() => tg.bot.sentMessages(ada.id).length === 1, { what: "the welcome" });
  assert.match(tg.bot.sentMessages(ada.id)[0]!.text ?? "", /I'm your coach/);

  await tg.deliverUpdate(
    tg.bot.token,
    tg.bot.updates.text(ada, "Until what time can I drink coffee?"),
  );
  const answer = await eventually(() => tg.bot.sentMessages(ada.id)[1], {
    timeoutMs: 15_000,
    what: "the coach's answer",
  });
  assert.match(answer.text ?? "", /2 pm/);
  assert.match(answer.text ?? "", /Sources:\n• Sleep guide|Sources:\n• guide/);
  assert.ok(
    tg.requests.some((r) => r.method === "sendChatAction" && r.params.action === "typing"),
    "typing was shown",
  );

  // The creator sees the conversation, its messages and their delivery status.
  const convs = await env.call("GET", "/v1/conversations", { token });
  assert.equal(convs.json.data.length, 1);
  const messages = await eventually(async () => {
    const m = await env.call("GET", `/v1/conversations/${convs.json.data[0].id}/messages`, {
      token,
    });
    return m.json.data?.length === 2 && m.json.data;
  }, { what: "the conversation's records" });
  // Newest first: the answer, then the question it answers.
  assert.deepEqual(messages.map((m: { role: string }) => m.role), ["assistant", "user"]);
  assert.equal(messages[0].delivery?.status, "sent");
  assert.equal(messages[0].delivery?.channel, "telegram");
  assert.equal(messages[1].delivery, null);
  // And operators count it.
  const metrics = await (await fetch(`${env.url}/metrics`)).text();
  assert.match(
    metrics,
    /coachd_deliveries_total\{[^}]*channel="telegram"[^}]*status="sent"[^}]*\} [1-9]/,
  );
  assert.match(metrics, /coachd_inbound_messages_total\{[^}]*outcome="accepted"[^}]*\} [1-9]/);
});

Deno.test("Telegram webhook - forged secret, replayed update, malformed and oversized bodies, unknown channel", async () => {
  await using tg = startFakeTelegram();
  await using env = await nodeEnv({ TELEGRAM_API_URL: tg.url });
  const { token } = await env.signup();
  const connected = await env.call("POST", "/v1/channels", {
    token,
    body: { kind: "telegram", name: "Coach bot", bot_token: tg.bot.token },
  });
  const hook = `${env.url}/hooks/telegram/${connected.json.id}`;
  const secret = tg.bot.webhook!.secretToken!;
  const ada = tg.addUser({ first_name: "Ada" });
  const update = tg.bot.updates.text(ada, "hello");
  const post = (body: string, headers: Record<string, string> = {}) =>
    fetch(hook, {
      method: "POST",
      headers: { "content-type": "application/json", ...headers },
      body,
    });

  const forged = await post(JSON.stringify(update), {
    "x-telegram-bot-api-secret-token": secret.slice(0, -1) + "x",
  });
  assert.equal(forged.status, 401);
  await forged.body?.cancel();
  const missing = await post(JSON.stringify(update));
  assert.equal(missing.status, 401);
  await missing.body?.cancel();
  const ok = { "x-telegram-bot-api-secret-token": secret };
  const first = await post(JSON.stringify(update), ok);
  assert.equal(first.status, 200);
  assert.equal((await first.json()).status, "accepted");
  const replay = await post(JSON.stringify(update), ok);
  assert.equal((await replay.json()).status, "duplicate");
  const malformed = await post("{not json", ok);
  assert.equal(malformed.status, 400);
  assert.equal((await malformed.json()).errors[0].field, "body");
  const huge = await post(JSON.stringify({ update_id: 1, pad: "x".repeat(2 << 20) }), ok);
  assert.equal(huge.status, 413);
  await huge.body?.cancel();
  const unknown = await fetch(`${env.url}/hooks/telegram/${crypto.randomUUID()}`, {
    method: "POST",
    headers: ok,
    body: JSON.stringify(update),
  });
  assert.equal(unknown.status, 404);
  await unknown.body?.cancel();

  // The accepted one is answered exactly once.
  await eventually(() => tg.bot.sentMessages(ada.id).length >= 1, { timeoutMs: 15_000 });
  await sleep(1500);
  assert.equal(tg.bot.sentMessages(ada.id).length, 1);
});

Deno.test("WhatsApp end to end - signed webhooks, answers in the window, a template outside it, statuses recorded", async () => {
  await using wa = startFakeWhatsApp({
    templates: [{ name: "checkin", language: "en", category: "utility", bodyParams: 1 }],
  });
  await using env = await nodeEnv({ WHATSAPP_API_URL: wa.url });
  const { token } = await env.signup();
  await env.knowledge(token, GUIDE);
  const connected = await env.call("POST", "/v1/channels", {
    token,
    body: {
      kind: "whatsapp",
      name: "Coach number",
      phone_number: "+15551234567",
      phone_number_id: wa.phoneNumberId,
      access_token: wa.accessToken,
      app_secret: wa.appSecret,
    },
  });
  assert.equal(connected.status, 201, connected.text);
  const hook = connected.json.config.webhook_url as string;
  assert.equal(hook, `${env.url}/hooks/whatsapp/${connected.json.id}`);
  const verify = await wa.verify(hook, connected.json.generated_secrets.verify_token);
  assert.equal(verify.ok, true);
  assert.equal((await wa.verify(hook, "wrong")).status, 403);
  wa.webhookUrl = hook;

  const bea = "4915100000009";
  await wa.sendInbound(bea, { type: "text", body: "When should I stop drinking coffee?" }, {
    name: "Bea",
  });
  const reply = await eventually(() => wa.sent.find((s) => s.to === bea), {
    timeoutMs: 15_000,
    what: "the answer",
  });
  assert.equal(reply.type, "text");
  assert.match(JSON.stringify(reply.body), /2 pm/);
  assert.equal(wa.reads.length, 1, "the message was marked read");
  // Statuses come back and move the delivery forward, with what WhatsApp charged.
  await wa.idle();
  const delivery = await eventually(async () => {
    const failed = await env.call("GET", "/v1/deliveries?channel=whatsapp", { token });
    const d = failed.json.data?.[0];
    // Statuses arrive in any order; the one with the pricing may come after the read.
    return d?.status === "read" && d.pricing_category && d;
  }, { what: "read status and pricing" });
  assert.equal(delivery.pricing_category, "service");

  // A day later the window has closed: the creator's reply goes out as the configured template,
  // and without one it is skipped, never sent free-form.
  await env.db.pool.query(
    "update channel_identities set last_inbound_at = now() - interval '25 hours'",
  );
  const patched = await env.call("PATCH", `/v1/channels/${connected.json.id}`, {
    token,
    body: { templates: { creator_reply: { name: "checkin", language: "en" } } },
  });
  assert.equal(patched.status, 200, patched.text);
  const conv = (await env.call("GET", "/v1/conversations", { token })).json.data[0];
  await env.call("POST", `/v1/conversations/${conv.id}/reply`, {
    token,
    body: { text: "Checking in: how did you sleep?" },
  });
  const template = await eventually(() => wa.sent.find((s) => s.type === "template"), {
    what: "the template",
  });
  assert.equal(template.to, bea);
  await env.call("PATCH", `/v1/channels/${connected.json.id}`, { token, body: { templates: {} } });
  await env.call("POST", `/v1/conversations/${conv.id}/reply`, {
    token,
    body: { text: "Are you there?" },
  });
  const skipped = await eventually(async () => {
    const r = await env.call("GET", "/v1/deliveries?status=skipped", { token });
    return r.json.data?.[0];
  }, { what: "the skipped delivery" });
  assert.equal(skipped.reason, "outside_window_no_template");
  assert.equal(wa.sent.filter((s) => s.type === "text").length, 1);

  // A forged signature is refused before anything is read.
  const body = JSON.stringify({ object: "whatsapp_business_account", entry: [] });
  const forged = await fetch(hook, {
    method: "POST",
    headers: { "x-hub-signature-256": signWebhookBody(body, "not-the-secret") },
    body,
  });
  assert.equal(forged.status, 401);
  await forged.body?.cancel();
});

Deno.test("handoff round trip - the person asks for a human, the creator replies on their channel and releases", async () => {
  await using tg = startFakeTelegram();
  await using env = await nodeEnv({ TELEGRAM_API_URL: tg.url });
  const { token } = await env.signup();
  await env.knowledge(token, GUIDE);
  await env.call("POST", "/v1/channels", {
    token,
    body: { kind: "telegram", name: "Coach bot", bot_token: tg.bot.token },
  });
  const ada = tg.addUser({ first_name: "Ada" });
  await tg.deliverUpdate(tg.bot.token, tg.bot.updates.text(ada, "I want to talk to a real person"));
  const waiting = await eventually(async () => {
    const r = await env.call("GET", "/v1/conversations?status=handoff", { token });
    return r.json.data?.[0];
  }, { timeoutMs: 15_000, what: "the conversation in the handoff inbox" });
  const sentBefore = await eventually(() => tg.bot.sentMessages(ada.id).length === 1 && 1);
  assert.equal(sentBefore, 1);
  // While the creator has it, the coach stays quiet.
  await tg.deliverUpdate(tg.bot.token, tg.bot.updates.text(ada, "Hello? Anyone?"));
  await sleep(1500);
  assert.equal(tg.bot.sentMessages(ada.id).length, 1);

  const viewer = (await env.call("POST", "/v1/api-keys", {
    token,
    body: { name: "dash", role: "viewer" },
  })).json.key;
  const refused = await env.call("POST", `/v1/conversations/${waiting.id}/reply`, {
    token: viewer,
    body: { text: "Hi" },
  });
  assert.equal(refused.status, 403);
  const reply = await env.call("POST", `/v1/conversations/${waiting.id}/reply`, {
    token,
    body: { text: "Hi Ada, this is Dana. How can I help?" },
  });
  assert.equal(reply.status, 202, reply.text);
  await eventually(() => tg.bot.sentMessages(ada.id).length === 2);
  assert.equal(tg.bot.sentMessages(ada.id)[1]!.text, "Hi Ada, this is Dana. How can I help?");

  assert.equal(
    (await env.call("POST", `/v1/conversations/${waiting.id}/release`, { token })).status,
    202,
  );
  await eventually(async () =>
    (await env.call("GET", `/v1/conversations/${waiting.id}`, { token })).json.status === "open"
  );
  await tg.deliverUpdate(
    tg.bot.token,
    tg.bot.updates.text(ada, "When should I stop drinking coffee?"),
  );
  const answer = await eventually(() => tg.bot.sentMessages(ada.id)[2], { timeoutMs: 15_000 });
  assert.match(answer.text ?? "", /2 pm/);
  const records = await env.call("GET", `/v1/conversations/${waiting.id}/messages?limit=50`, {
    token,
  });
  assert.deepEqual(
    records.json.data.map((m: { role: string }) => m.role).reverse(),
    ["user", "assistant", "user", "creator", "user", "assistant"],
  );
});

Deno.test("Telegram without a public URL - the bot is polled, and answers come all the same", async () => {
  await using tg = startFakeTelegram();
  await using env = await nodeEnv({ TELEGRAM_API_URL: tg.url, PUBLIC_URL: "" });
  const { token } = await env.signup();
  await env.knowledge(token, GUIDE);
  const connected = await env.call("POST", "/v1/channels", {
    token,
    body: { kind: "telegram", name: "Laptop bot", bot_token: tg.bot.token },
  });
  assert.equal(connected.json.config.mode, "polling");
  assert.equal(tg.bot.webhook, undefined, "no webhook registered");
  const ada = tg.addUser({ first_name: "Ada" });
  await tg.deliverUpdate(
    tg.bot.token,
    tg.bot.updates.text(ada, "When should I stop drinking coffee?"),
  );
  const answer = await eventually(() => tg.bot.sentMessages(ada.id)[0], {
    timeoutMs: 15_000,
    what: "the answer through long polling",
  });
  assert.match(answer.text ?? "", /2 pm/);
  assert.ok(tg.requests.some((r) => r.method === "getUpdates"));
});
