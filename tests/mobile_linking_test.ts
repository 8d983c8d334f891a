/**
 * One person across channels on a real node: a link code asked for in the app and redeemed on
 * Telegram through the `t.me/<bot>?start=<code>` deep link (the fake Telegram), or typed as a
 * plain message, makes both identities one end user — one UserActor, one history. Codes work
 * once, expire, and a person may ask for only a few at a time.
 */
import assert from "node:assert/strict";
import { startFakeTelegram } from "./fakes/telegram.ts";
import { startFakeWhatsApp } from "./fakes/whatsapp.ts";
import { eventually } from "./harness.ts";
import { type NodeEnv, nodeEnv } from "./node_env.ts";
import { NOTICES } from "../actors/user/inbound.ts";
import { linkCodeIn } from "../channels/linking/codes.ts";
import { preferredChannel } from "../actors/user/preferred_channel.ts";

async function appDevice(env: NodeEnv, publicKey: string) {
  const d = await env.call("POST", "/v1/app/devices", { body: { public_key: publicKey } });
  assert.equal(d.status, 201, d.text);
  return { token: d.json.access_token as string, endUserId: d.json.end_user_id as string };
}

const endUserOf = async (env: NodeEnv, channel: string, externalId: string | number) =>
  (await env.db.pool.query<{ end_user_id: string }>(
    "select end_user_id from channel_identities where channel = $1 and external_id = $2",
    [channel, String(externalId)],
  )).rows[0]?.end_user_id;

Deno.test("linking - a code from the app, redeemed by Telegram /start <code>, makes one person; single use, expiry, rate limit", async () => {
  await using tg = startFakeTelegram();
  await using env = await nodeEnv({ TELEGRAM_API_URL: tg.url });
  const { token } = await env.signup();
  const app = await env.call("POST", "/v1/channels", {
    token,
    body: { kind: "mobile_app", name: "Coach app" },
  });
  const bot = await env.call("POST", "/v1/channels", {
    token,
    body: { kind: "telegram", name: "Coach bot", bot_token: tg.bot.token },
  });
  assert.equal(bot.status, 201, bot.text);
  const ada = await appDevice(env, app.json.public_key);
  await env.call("POST", "/v1/app/messages", { token: ada.token, body: { text: "hello coach" } });
  await eventually(async () => {
    const h = await env.call("GET", "/v1/app/messages", { token: ada.token });
    return h.json.data.length === 2;
  }, { timeoutMs: 20_000, what: "the first answer in the app" });

  const made = await env.call("POST", "/v1/app/link-codes", { token: ada.token });
  assert.equal(made.status, 201, made.text);
  const code: string = made.json.code;
  assert.match(code, /^[2-9A-HJKMNP-Z]{8}$/);
  assert.deepEqual(made.json.links, [
    { channel: "telegram", url: `https://t.me/coachd_test_bot?start=${code}` },
  ]);
  const stored = await env.db.pool.query(
    "select count(*)::int n from link_codes where code_sha256 = $1",
    [code],
  );
  assert.equal(stored.rows[0].n, 0, "only the code's hash is kept");

  // Ada opens the deep link on her phone: Telegram sends /start <code>.
  const tgAda = tg.addUser({ first_name: "Ada" });
  await tg.deliverUpdate(tg.bot.token, tg.bot.updates.start(tgAda, code));
  const linked = await eventually(() => tg.bot.sentMessages(tgAda.id)[0], {
    timeoutMs: 20_000,
    what: "the notice",
  });
  assert.equal(linked.text, NOTICES.linked);
  assert.equal(await endUserOf(env, "telegram", tgAda.id), ada.endUserId);
  const people = await env.db.pool.query("select count(*)::int n from end_users");
  assert.equal(people.rows[0].n, 1, "one person, not two");
  const me = await env.call("GET", "/v1/app/me", { token: ada.token });
  assert.deepEqual(me.json.identities.map((i: { channel: string }) => i.channel).sort(), [
    "mobile_app",
    "telegram",
  ]);

  // What she writes on Telegram is in the same history the app reads.
  await tg.deliverUpdate(tg.bot.token, tg.bot.updates.text(tgAda, "I slept badly"));
  await eventually(() => tg.bot.sentMessages(tgAda.id).length === 2, {
    timeoutMs: 20_000,
    what: "the answer on Telegram",
  });
  const history = await eventually(async () => {
    const h = await env.call("GET", "/v1/app/messages", { token: ada.token });
    return h.json.data.length === 4 && h.json.data;
  }, { timeoutMs: 20_000, what: "both channels in the history" });
  assert.deepEqual(history.map((m: { channel: string }) => m.channel), [
    "telegram",
    "telegram",
    "mobile_app",
    "mobile_app",
  ]);
  assert.equal(history[1].text, "I slept badly");

  // Single use: someone else sending the same code gets nothing of Ada's.
  const bob = tg.addUser({ first_name: "Bob" });
  await tg.deliverUpdate(tg.bot.token, tg.bot.updates.start(bob, code));
  const refused = await eventually(() => tg.bot.sentMessages(bob.id)[0], {
    timeoutMs: 20_000,
    what: "Bob's notice",
  });
  assert.equal(refused.text, NOTICES.linkInvalid);
  const bobUser = await endUserOf(env, "telegram", bob.id);
  assert.ok(bobUser && bobUser !== ada.endUserId);

  // Expired: a code past its ten minutes links nothing.
  const late = await env.call("POST", "/v1/app/link-codes", { token: ada.token });
  await env.db.pool.query(
    "update link_codes set expires_at = now() - interval '1 second' where used_at is null",
  );
  const carol = tg.addUser({ first_name: "Carol" });
  await tg.deliverUpdate(tg.bot.token, tg.bot.updates.start(carol, late.json.code));
  const expired = await eventually(() => tg.bot.sentMessages(carol.id)[0], {
    timeoutMs: 20_000,
    what: "Carol's",
  });
  assert.equal(expired.text, NOTICES.linkInvalid);
  assert.notEqual(await endUserOf(env, "telegram", carol.id), ada.endUserId);

  // Five codes per ten minutes per person; the sixth is a 429 with Retry-After.
  for (let i = 0; i < 3; i++) {
    assert.equal((await env.call("POST", "/v1/app/link-codes", { token: ada.token })).status, 201);
  }
  const limited = await env.call("POST", "/v1/app/link-codes", { token: ada.token });
  assert.equal(limited.status, 429);

  // Guessing from one chat is cut off: after ten tries even a right code links nothing.
  const eve = tg.addUser({ first_name: "Eve" });
  for (let i = 0; i < 10; i++) {
    await tg.deliverUpdate(tg.bot.token, tg.bot.updates.start(eve, `ZZZZ22${"23456789AB"[i]}2`));
  }
  await env.db.pool.query("delete from link_codes");
  const fresh = await env.call("POST", "/v1/app/link-codes", { token: ada.token });
  assert.equal(fresh.status, 201);
  await tg.deliverUpdate(tg.bot.token, tg.bot.updates.start(eve, fresh.json.code));
  await eventually(() => tg.bot.sentMessages(eve.id).length === 11, {
    timeoutMs: 20_000,
    what: "Eve's notices",
  });
  assert.deepEqual(
    tg.bot.sentMessages(eve.id).map((m) => m.text),
    Array(11).fill(NOTICES.linkInvalid),
  );
  assert.notEqual(await endUserOf(env, "telegram", eve.id), ada.endUserId);
});

Deno.test("linking - someone already on Telegram types the code: their history moves to the app's person", async () => {
  await using tg = startFakeTelegram();
  await using env = await nodeEnv({ TELEGRAM_API_URL: tg.url });
  const { token } = await env.signup();
  const app = await env.call("POST", "/v1/channels", {
    token,
    body: { kind: "mobile_app", name: "Coach app" },
  });
  await env.call("POST", "/v1/channels", {
    token,
    body: { kind: "telegram", name: "Coach bot", bot_token: tg.bot.token },
  });
  const dan = tg.addUser({ first_name: "Dan" });
  await tg.deliverUpdate(tg.bot.token, tg.bot.updates.start(dan));
  await tg.deliverUpdate(tg.bot.token, tg.bot.updates.text(dan, "hello from telegram"));
  await eventually(() => tg.bot.sentMessages(dan.id).length === 2, {
    timeoutMs: 20_000,
    what: "Dan's answer on Telegram",
  });
  const before = await endUserOf(env, "telegram", dan.id);
  await eventually(
    async () =>
      (await env.db.pool.query("select 1 from messages where end_user_id = $1", [before]))
        .rowCount === 2,
    { timeoutMs: 20_000, what: "Dan's records" },
  );

  const device = await appDevice(env, app.json.public_key);
  const { json: { code } } = await env.call("POST", "/v1/app/link-codes", { token: device.token });
  // Typed by hand, in lower case with a dash: still the code.
  const typed = `${code.slice(0, 4)}-${code.slice(4)}`.toLowerCase();
  await tg.deliverUpdate(tg.bot.token, tg.bot.updates.text(dan, typed));
  await eventually(() => tg.bot.sentMessages(dan.id).some((m) => m.text === NOTICES.linked), {
    timeoutMs: 15_000,
    what: "the notice",
  }).catch((err) => {
    throw new Error(
      `${err.message}: ${JSON.stringify(tg.bot.sentMessages(dan.id).map((m) => m.text))}`,
    );
  });
  assert.equal(await endUserOf(env, "telegram", dan.id), device.endUserId);
  const gone = await env.db.pool.query("select 1 from end_users where id = $1", [before]);
  assert.equal(gone.rowCount, 0, "the Telegram-only end user is merged away");
  const history = await env.call("GET", "/v1/app/messages", { token: device.token });
  assert.deepEqual(
    history.json.data.map((m: { text: string }) => m.text).at(-1),
    "hello from telegram",
  );
});

Deno.test("linkCodeIn() - reads a code however it is typed, never an ordinary word", () => {
  assert.equal(linkCodeIn(" ab2c-d3ef "), "AB2CD3EF");
  assert.equal(linkCodeIn("AB2C D3EF"), "AB2CD3EF");
  assert.equal(linkCodeIn("PASSWORD"), undefined, "no digit: a word");
  assert.equal(linkCodeIn("23456789"), undefined, "no letter: a number");
  assert.equal(linkCodeIn("AB2CD3E0"), undefined, "0 is not in the alphabet");
  assert.equal(linkCodeIn("AB2CD3EFG"), undefined);
  assert.equal(linkCodeIn("hello coach"), undefined);
});

Deno.test("preferredChannel() - the chosen nudge channel while it is reachable, else the last one active", () => {
  const state = (nudgeChannel?: "telegram" | "whatsapp" | "mobile_app") => ({
    preferences: nudgeChannel ? { nudgeChannel } : {},
    channels: {
      identities: {
        "id-app": { channel: "mobile_app" as const, connectionId: "c1", lastInboundAt: 1_000 },
        "id-tg": { channel: "telegram" as const, connectionId: "c2", lastInboundAt: 5_000 },
      },
      conversations: {},
      pending: null,
      optedOut: false,
      lastInboundAt: 5_000,
    },
  });
  assert.deepEqual(preferredChannel(state()), {
    channel: "telegram",
    identityId: "id-tg",
    reason: "last_active",
  });
  assert.deepEqual(preferredChannel(state("mobile_app")), {
    channel: "mobile_app",
    identityId: "id-app",
    reason: "chosen",
  });
  // Chosen WhatsApp, but the person never wrote there: where they were last active.
  assert.equal(preferredChannel(state("whatsapp"))?.channel, "telegram");
  assert.equal(
    preferredChannel({ channels: { ...state().channels, identities: {} } }),
    undefined,
  );
});

Deno.test("linking - the code sent as a WhatsApp message links the number; the app's link names it", async () => {
  await using wa = startFakeWhatsApp();
  await using env = await nodeEnv({ WHATSAPP_API_URL: wa.url });
  const { token } = await env.signup();
  const app = await env.call("POST", "/v1/channels", {
    token,
    body: { kind: "mobile_app", name: "Coach app" },
  });
  const number = await env.call("POST", "/v1/channels", {
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
  assert.equal(number.status, 201, number.text);
  wa.webhookUrl = number.json.config.webhook_url;
  const device = await appDevice(env, app.json.public_key);
  const made = await env.call("POST", "/v1/app/link-codes", { token: device.token });
  assert.deepEqual(made.json.links, [
    { channel: "whatsapp", url: `https://wa.me/15551234567?text=${made.json.code}` },
  ]);
  const bea = "4915100000009";
  await wa.sendInbound(bea, { type: "text", body: made.json.code }, { name: "Bea" });
  const notice = await eventually(() => wa.sent.find((s) => s.to === bea), {
    timeoutMs: 20_000,
    what: "the notice on WhatsApp",
  });
  assert.match(JSON.stringify(notice.body), /now linked/);
  assert.equal(await endUserOf(env, "whatsapp", bea), device.endUserId);
  const me = await env.call("GET", "/v1/app/me", { token: device.token });
  assert.deepEqual(me.json.identities.map((i: { channel: string }) => i.channel).sort(), [
    "mobile_app",
    "whatsapp",
  ]);
});
