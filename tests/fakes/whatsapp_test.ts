import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { createHmac, timingSafeEqual } from "node:crypto";
import { DEFAULT_APP_SECRET, type FakeWhatsApp, startFakeWhatsApp } from "./whatsapp.ts";

/** Verifies X-Hub-Signature-256 over the raw body in constant time, as the product must. */
function signatureValid(rawBody: string, header: string | null, appSecret: string): boolean {
  if (!header?.startsWith("sha256=")) return false;
  const expected = Buffer.from(
    createHmac("sha256", appSecret).update(rawBody).digest("hex"),
    "utf8",
  );
  const given = Buffer.from(header.slice("sha256=".length), "utf8");
  return given.length === expected.length && timingSafeEqual(given, expected);
}

interface Received {
  raw: string;
  // deno-lint-ignore no-explicit-any
  json: any;
}

/** A webhook receiver like the product's: verifies, then keeps the payload. */
function startReceiver(appSecret = DEFAULT_APP_SECRET, verifyToken = "verify-me") {
  const received: Received[] = [];
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, async (req) => {
    const url = new URL(req.url);
    if (req.method === "GET") {
      const ok = url.searchParams.get("hub.mode") === "subscribe" &&
        url.searchParams.get("hub.verify_token") === verifyToken;
      return ok
        ? new Response(url.searchParams.get("hub.challenge"))
        : new Response("Forbidden", { status: 403 });
    }
    const raw = await req.text();
    if (!signatureValid(raw, req.headers.get("x-hub-signature-256"), appSecret)) {
      return new Response("bad signature", { status: 401 });
    }
    received.push({ raw, json: JSON.parse(raw) });
    return new Response("ok");
  });
  return {
    url: `http://127.0.0.1:${server.addr.port}/hooks/whatsapp`,
    received,
    statuses: () => received.flatMap((r) => r.json.entry[0].changes[0].value.statuses ?? []),
    messages: () => received.flatMap((r) => r.json.entry[0].changes[0].value.messages ?? []),
    async [Symbol.asyncDispose]() {
      await server.shutdown();
    },
  };
}

/** Sends as the product will: plain fetch with the bearer token. */
async function send(
  fake: FakeWhatsApp,
  body: Record<string, unknown>,
  opts: { token?: string; version?: string; phoneNumberId?: string } = {},
) {
  const res = await fetch(
    `${fake.url}/${opts.version ?? "v23.0"}/${opts.phoneNumberId ?? fake.phoneNumberId}/messages`,
    {
      method: "POST",
      headers: {
        authorization: `Bearer ${opts.token ?? fake.accessToken}`,
        "content-type": "application/json",
      },
      body: JSON.stringify(body),
    },
  );
  // deno-lint-ignore no-explicit-any
  return { status: res.status, body: await res.json() as any };
}

const text = (to: string, body: string) => ({
  messaging_product: "whatsapp",
  recipient_type: "individual",
  to,
  type: "text",
  text: { body },
});

function manualClock(start = Date.UTC(2026, 0, 5, 9)) {
  const clock = { t: start, now: () => clock.t };
  return clock;
}

Deno.test("fake WhatsApp - a text inside the window is accepted with contacts and a wamid; tokens and numbers are checked", async () => {
  await using fake = startFakeWhatsApp({ statuses: false });
  await fake.sendInbound("4915112345678", { type: "text", body: "Hi coach" });

  const ok = await send(fake, text("+49 151 12345678", "Hello!"));
  assert.equal(ok.status, 200);
  assert.equal(ok.body.messaging_product, "whatsapp");
  assert.deepEqual(ok.body.contacts, [{ input: "+49 151 12345678", wa_id: "4915112345678" }]);
  assert.match(ok.body.messages[0].id, /^wamid\.[A-Za-z0-9+/=]+$/);
  assert.equal(fake.sent.length, 1);
  assert.equal(fake.sent[0]!.to, "4915112345678");

  const wrong = await send(fake, text("4915112345678", "x"), { token: "EAAwrong" });
  assert.equal(wrong.status, 401);
  assert.equal(wrong.body.error.code, 190);
  assert.equal(wrong.body.error.type, "OAuthException");
  assert.equal(typeof wrong.body.error.fbtrace_id, "string");

  const unknownNumber = await send(fake, text("4915112345678", "x"), { phoneNumberId: "999" });
  assert.equal(unknownNumber.status, 400);
  assert.equal(unknownNumber.body.error.code, 100);
  assert.equal(unknownNumber.body.error.error_subcode, 33);
  assert.equal(fake.sent.length, 1, "rejected calls send nothing");
});

Deno.test("fake WhatsApp - invalid payloads answer 400 with code 100 and details naming the field", async () => {
  await using fake = startFakeWhatsApp({ statuses: false });
  await fake.sendInbound("4915112345678", { type: "text", body: "Hi" });
  const to = "4915112345678";
  const button = (id: string, title: string) => ({ type: "reply", reply: { id, title } });
  const cases: [Record<string, unknown>, RegExp][] = [
    [{ ...text(to, "x"), messaging_product: undefined }, /messaging_product is required/],
    [
      { messaging_product: "whatsapp", type: "text", text: { body: "x" } },
      /The parameter to is required/,
    ],
    [text(to, "x".repeat(4097)), /text\['body'\] must be at most 4096 characters/],
    [text(to, ""), /text\['body'\] is required/],
    [{ ...text(to, "x"), type: "carrier_pigeon" }, /Param type must be one of/],
    [
      {
        messaging_product: "whatsapp",
        to,
        type: "interactive",
        interactive: {
          type: "button",
          body: { text: "Pick" },
          action: { buttons: [1, 2, 3, 4].map((i) => button(`b${i}`, `B${i}`)) },
        },
      },
      /buttons'\] must have between 1 and 3 elements/,
    ],
    [
      {
        messaging_product: "whatsapp",
        to,
        type: "interactive",
        interactive: {
          type: "button",
          body: { text: "Pick" },
          action: { buttons: [button("a", "A title longer than twenty")] },
        },
      },
      /\['reply'\]\['title'\] must be at most 20 characters/,
    ],
    [
      {
        messaging_product: "whatsapp",
        to,
        type: "interactive",
        interactive: {
          type: "list",
          body: { text: "Pick a time" },
          action: {
            button: "Times",
            sections: [
              {
                title: "Morning",
                rows: Array.from({ length: 6 }, (_, i) => ({ id: `m${i}`, title: `${6 + i}:00` })),
              },
              {
                title: "Evening",
                rows: Array.from({ length: 5 }, (_, i) => ({ id: `e${i}`, title: `${17 + i}:00` })),
              },
            ],
          },
        },
      },
      /Total row count exceed max allowed count: 10/,
    ],
    [
      { messaging_product: "whatsapp", to, type: "template", template: { name: "nudge" } },
      /template\['language'\] is required/,
    ],
  ];
  for (const [body, details] of cases) {
    const res = await send(fake, body);
    assert.equal(res.status, 400, JSON.stringify(body).slice(0, 80));
    assert.equal(res.body.error.code, 100);
    assert.equal(res.body.error.error_data.messaging_product, "whatsapp");
    assert.match(res.body.error.error_data.details, details);
  }
  const list = await send(fake, {
    messaging_product: "whatsapp",
    to,
    type: "interactive",
    interactive: {
      type: "list",
      header: { type: "text", text: "Plan" },
      body: { text: "Pick a time" },
      footer: { text: "You can change it later" },
      action: {
        button: "Times",
        sections: [{
          title: "Morning",
          rows: [{ id: "m7", title: "7:00", description: "Before work" }],
        }],
      },
    },
  });
  assert.equal(list.status, 200);
  assert.equal(fake.sent.length, 1);
});

Deno.test("fake WhatsApp - inbound webhooks are signed over the raw body with the app secret; non-ASCII arrives escaped", async () => {
  await using receiver = startReceiver();
  await using fake = startFakeWhatsApp({ webhookUrl: receiver.url, statuses: false });

  const t = await fake.sendInbound("4915112345678", { type: "text", body: "Schlaf: müde 😴" }, {
    name: "Jürgen",
  });
  assert.equal(t.answer.status, 200);
  await fake.sendInbound("4915112345678", { type: "button_reply", id: "done", title: "Done" }, {
    context: "wamid.ours",
  });
  await fake.sendInbound("4915112345678", {
    type: "list_reply",
    id: "m7",
    title: "7:00",
    description: "Before work",
  });
  await fake.sendInbound("4915112345678", {
    type: "button",
    payload: "STOP",
    text: "Stop reminders",
  });
  await fake.sendInbound("4915112345678", { type: "audio", voice: true });
  await fake.sendInbound("4915112345678", {
    type: "location",
    latitude: 52.52,
    longitude: 13.405,
    name: "Gym",
  });

  assert.equal(receiver.received.length, 6, "every delivery verified");
  const first = receiver.received[0]!;
  assert.ok(first.raw.includes("m\\u00fcde \\ud83d\\ude34"), "escaped as Meta sends it");
  assert.ok(
    !signatureValid(
      JSON.stringify(first.json),
      fake.webhookDeliveries[0]!.signature,
      DEFAULT_APP_SECRET,
    ),
    "a re-serialized body does not match: verify the raw bytes",
  );
  const value = first.json.entry[0].changes[0].value;
  assert.equal(first.json.object, "whatsapp_business_account");
  assert.equal(first.json.entry[0].changes[0].field, "messages");
  assert.deepEqual(value.metadata, {
    display_phone_number: "15550783881",
    phone_number_id: fake.phoneNumberId,
  });
  assert.deepEqual(value.contacts, [{ profile: { name: "Jürgen" }, wa_id: "4915112345678" }]);

  const [txt, buttonReply, listReply, quick, voice, location] = receiver.messages();
  assert.deepEqual(txt.text, { body: "Schlaf: müde 😴" });
  assert.equal(txt.id, t.id);
  assert.match(txt.timestamp, /^\d{10}$/);
  assert.deepEqual(buttonReply.interactive, {
    type: "button_reply",
    button_reply: { id: "done", title: "Done" },
  });
  assert.deepEqual(buttonReply.context, { from: "15550783881", id: "wamid.ours" });
  assert.equal(listReply.interactive.list_reply.id, "m7");
  assert.deepEqual(quick.button, { payload: "STOP", text: "Stop reminders" });
  assert.equal(voice.audio.voice, true);
  assert.equal(voice.audio.mime_type, "audio/ogg; codecs=opus");
  assert.deepEqual(location.location, { latitude: 52.52, longitude: 13.405, name: "Gym" });

  // A sender with the wrong secret is refused by the receiver.
  await using impostor = startFakeWhatsApp({
    webhookUrl: receiver.url,
    appSecret: "not-the-secret",
    statuses: false,
  });
  const refused = await impostor.sendInbound("4915112345678", { type: "text", body: "hi" });
  assert.equal(refused.answer.status, 401);
  assert.equal(receiver.received.length, 6);
});

Deno.test("fake WhatsApp - the 24-hour window: free-form fails with 131047 outside it, templates pass and are billed", async () => {
  const clock = manualClock();
  await using receiver = startReceiver();
  await using fake = startFakeWhatsApp({
    webhookUrl: receiver.url,
    now: clock.now,
    templates: [
      { name: "daily_nudge", language: "en_US", category: "marketing", bodyParams: 1 },
      { name: "session_reminder", language: "en_US", category: "utility" },
    ],
  });
  const user = "4915112345678";

  // Never wrote: the Cloud API accepts, then reports the failure in a status callback.
  const cold = await send(fake, text(user, "Good morning!"));
  assert.equal(cold.status, 200);
  await fake.idle();
  const failed = receiver.statuses().find((s) => s.id === cold.body.messages[0].id);
  assert.equal(failed.status, "failed");
  assert.equal(failed.errors[0].code, 131047);
  assert.equal(failed.errors[0].title, "Re-engagement message");

  const nudge = {
    messaging_product: "whatsapp",
    to: user,
    type: "template",
    template: {
      name: "daily_nudge",
      language: { code: "en_US" },
      components: [{ type: "body", parameters: [{ type: "text", text: "Sam" }] }],
    },
  };
  const tpl = await send(fake, nudge);
  assert.equal(tpl.status, 200);
  assert.equal(tpl.body.messages[0].message_status, "accepted");
  const missingParam = await send(fake, {
    ...nudge,
    template: { name: "daily_nudge", language: { code: "en_US" } },
  });
  assert.equal(missingParam.body.error.code, 132000);
  const unknown = await send(fake, {
    ...nudge,
    template: { name: "nope", language: { code: "en_US" } },
  });
  assert.equal(unknown.status, 404);
  assert.equal(unknown.body.error.code, 132001);

  // The user answers: free-form is fine for 24 hours, and utility templates are free inside it.
  await fake.sendInbound(user, { type: "text", body: "ok" });
  clock.t += 23 * 3600_000;
  assert.equal(fake.windowOpen(user), true);
  const inside = await send(fake, text(user, "Great, see you tomorrow"));
  const utility = await send(fake, {
    messaging_product: "whatsapp",
    to: user,
    type: "template",
    template: { name: "session_reminder", language: { code: "en_US" } },
  });
  clock.t += 2 * 3600_000;
  assert.equal(fake.windowOpen(user), false);
  const late = await send(fake, text(user, "Still there?"));
  await fake.idle();

  const byId = new Map(fake.sent.map((m) => [m.id, m]));
  assert.deepEqual(
    [tpl, inside, utility, late].map((r) => {
      const m = byId.get(r.body.messages[0].id)!;
      return [m.category, m.billable, m.failure ?? null];
    }),
    [["marketing", true, null], ["service", false, null], ["utility", false, null], [
      "service",
      false,
      131047,
    ]],
  );
  const pricing = receiver.statuses().filter((s) => s.id === tpl.body.messages[0].id && s.pricing)
    .map((s) => s.pricing);
  assert.deepEqual(pricing[0], {
    billable: true,
    pricing_model: "PMP",
    type: "regular",
    category: "marketing",
  });

  await using strict = startFakeWhatsApp({ windowRule: "sync", statuses: false });
  const rejected = await send(strict, text(user, "hello"));
  assert.equal(rejected.status, 400);
  assert.equal(rejected.body.error.code, 131047);
  assert.equal(rejected.body.error.message, "(#131047) Re-engagement message");
  assert.equal(strict.sent.length, 0);
});

Deno.test("fake WhatsApp - throughput per number answers 130429 and the pair rate per recipient 131056", async () => {
  const clock = manualClock();
  await using fake = startFakeWhatsApp({
    now: clock.now,
    statuses: false,
    throughputPerSecond: 10,
    pairRate: { burst: 3, perSecond: 1 / 6 },
  });
  const users = Array.from({ length: 12 }, (_, i) => `49151000000${String(i).padStart(2, "0")}`);
  for (const u of users) await fake.sendInbound(u, { type: "text", body: "hi" });

  const results = [];
  for (const u of users) results.push(await send(fake, text(u, "broadcast")));
  assert.equal(results.filter((r) => r.status === 200).length, 10);
  const limited = results.filter((r) => r.status !== 200);
  assert.equal(limited.length, 2);
  for (const r of limited) {
    assert.equal(r.status, 429);
    assert.equal(r.body.error.code, 130429);
    assert.equal(r.body.error.message, "(#130429) Rate limit hit");
    assert.equal(r.body.error.error_subcode, 2494055);
  }

  clock.t += 1000;
  const one = users[0]!;
  const burst = [];
  for (let i = 0; i < 3; i++) burst.push((await send(fake, text(one, `part ${i}`))).status);
  assert.deepEqual(burst, [200, 200, 400], "the broadcast used one of the three");
  const pairLimited = await send(fake, text(one, "again"));
  assert.equal(pairLimited.body.error.code, 131056);
  assert.match(pairLimited.body.error.error_data.details, /same phone number/);
  assert.equal((await send(fake, text(users[1]!, "others still fine"))).status, 200);
  clock.t += 6000;
  assert.equal((await send(fake, text(one, "after six seconds"))).status, 200);
});

Deno.test("fake WhatsApp - status callbacks: sent, delivered, read with pricing; reversed order; v24 drops conversation; 131026", async () => {
  await using receiver = startReceiver();
  await using fake = startFakeWhatsApp({ webhookUrl: receiver.url });
  const user = "4915112345678";
  await fake.sendInbound(user, { type: "text", body: "hi" });

  const v23 = await send(fake, { ...text(user, "Reply"), biz_opaque_callback_data: "delivery-42" });
  await fake.idle();
  const statuses = receiver.statuses().filter((s) => s.id === v23.body.messages[0].id);
  assert.deepEqual(statuses.map((s) => s.status), ["sent", "delivered", "read"]);
  const [sent, delivered, read] = statuses;
  assert.equal(sent.recipient_id, user);
  assert.equal(sent.biz_opaque_callback_data, "delivery-42");
  assert.deepEqual(sent.pricing, {
    billable: false,
    pricing_model: "PMP",
    type: "free_customer_service",
    category: "service",
  });
  assert.equal(sent.conversation.origin.type, "service");
  assert.match(sent.conversation.expiration_timestamp, /^\d{10}$/);
  assert.equal(delivered.conversation.id, sent.conversation.id);
  assert.equal(delivered.conversation.expiration_timestamp, undefined);
  assert.equal(read.pricing, undefined);
  assert.deepEqual(fake.sent[0]!.statuses.map((s) => s.status), ["sent", "delivered", "read"]);

  const v24 = await send(fake, text(user, "Newer API"), { version: "v24.0" });
  await fake.idle();
  const newer = receiver.statuses().filter((s) => s.id === v24.body.messages[0].id);
  assert.ok(newer.every((s) => s.conversation === undefined));
  assert.ok(newer[0].pricing);

  await using reversed = startFakeWhatsApp({
    webhookUrl: receiver.url,
    statuses: { order: "reverse", sequence: ["sent", "delivered", "read"] },
  });
  await reversed.sendInbound(user, { type: "text", body: "hi" });
  const r = await send(reversed, text(user, "out of order"));
  await reversed.idle();
  assert.deepEqual(
    receiver.statuses().filter((s) => s.id === r.body.messages[0].id).map((s) => s.status),
    ["read", "delivered", "sent"],
  );

  fake.addUser("4915199999999", { undeliverable: true });
  const gone = await send(fake, {
    messaging_product: "whatsapp",
    to: "4915199999999",
    type: "template",
    template: { name: "any", language: { code: "en" } },
  });
  assert.equal(gone.status, 200);
  await fake.idle();
  const goneStatuses = receiver.statuses().filter((s) => s.id === gone.body.messages[0].id);
  assert.deepEqual(goneStatuses.map((s) => [s.status, s.errors?.[0]?.code]), [["failed", 131026]]);
});

Deno.test("fake WhatsApp - mark as read with a typing indicator answers success for a received message only", async () => {
  await using fake = startFakeWhatsApp({ statuses: false });
  const { id } = await fake.sendInbound("4915112345678", { type: "text", body: "hi" });
  const read = await send(fake, {
    messaging_product: "whatsapp",
    status: "read",
    message_id: id,
    typing_indicator: { type: "text" },
  });
  assert.equal(read.status, 200);
  assert.deepEqual(read.body, { success: true });
  assert.deepEqual(fake.reads.map((r) => [r.messageId, r.typing]), [[id, true]]);
  const unknown = await send(fake, {
    messaging_product: "whatsapp",
    status: "read",
    message_id: "wamid.nope",
  });
  assert.equal(unknown.status, 400);
  assert.equal(unknown.body.error.code, 100);
  const badTyping = await send(fake, {
    messaging_product: "whatsapp",
    status: "read",
    message_id: id,
    typing_indicator: { type: "audio" },
  });
  assert.equal(badTyping.status, 400);
  assert.equal(fake.sent.length, 0, "read receipts are not messages");
});

Deno.test("fake WhatsApp - verify() performs the GET hub.challenge handshake", async () => {
  await using receiver = startReceiver(DEFAULT_APP_SECRET, "verify-me");
  await using fake = startFakeWhatsApp();
  const good = await fake.verify(receiver.url, "verify-me", "1158201444");
  assert.deepEqual(good, { ok: true, status: 200, body: "1158201444" });
  const bad = await fake.verify(receiver.url, "guess");
  assert.equal(bad.ok, false);
  assert.equal(bad.status, 403);
});

Deno.test("fake WhatsApp - scripted failures: Graph errors and bare 5xx from the edge, then normal service", async () => {
  await using fake = startFakeWhatsApp({ statuses: false });
  await fake.sendInbound("4915112345678", { type: "text", body: "hi" });
  fake.failNext({ code: 131000 });
  fake.failNext({ httpStatus: 503 });
  fake.failNext({ code: 130429 }, 2);

  const e1 = await send(fake, text("4915112345678", "1"));
  assert.equal(e1.status, 500);
  assert.equal(e1.body.error.code, 131000);
  const e2 = await fetch(`${fake.url}/v23.0/${fake.phoneNumberId}/messages`, {
    method: "POST",
    headers: { authorization: `Bearer ${fake.accessToken}`, "content-type": "application/json" },
    body: JSON.stringify(text("4915112345678", "2")),
  });
  assert.equal(e2.status, 503);
  assert.equal(await e2.text(), "Service temporarily unavailable");
  for (let i = 0; i < 2; i++) {
    assert.equal((await send(fake, text("4915112345678", "3"))).body.error.code, 130429);
  }
  assert.equal((await send(fake, text("4915112345678", "4"))).status, 200);
  assert.deepEqual(fake.requests.map((r) => r.status), [500, 503, 429, 429, 200]);
  assert.deepEqual(fake.requests.map((r) => r.errorCode ?? null), [
    131000,
    null,
    130429,
    130429,
    null,
  ]);
});
