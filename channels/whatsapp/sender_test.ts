import assert from "node:assert/strict";
import { startFakeWhatsApp } from "../../tests/fakes/whatsapp.ts";
import type { Connection } from "../core/connections.ts";
import type { DeliveryRequest } from "../../actors/mod.ts";
import { ProviderError, type Recipient } from "../core/sender.ts";
import { WhatsAppSender, WINDOW_MS } from "./sender.ts";

function setup(opts: Parameters<typeof startFakeWhatsApp>[0] = {}) {
  const fake = startFakeWhatsApp({ statuses: false, ...opts });
  const sender = new WhatsAppSender({ apiUrl: fake.url, version: "v23.0" });
  const conn: Connection = {
    id: crypto.randomUUID(),
    creatorId: crypto.randomUUID(),
    kind: "whatsapp",
    name: "number",
    status: "active",
    config: {
      phone_number_id: fake.phoneNumberId,
      templates: { nudge: { name: "checkin", language: "en", body_variables: 1 } },
    },
    publicKey: null,
    secrets: { access_token: fake.accessToken, app_secret: fake.appSecret },
  };
  return { fake, sender, conn };
}

const to = (waId: string, lastInboundAt: number | null): Recipient => ({
  identityId: crypto.randomUUID(),
  endUserId: crypto.randomUUID(),
  externalId: waId,
  displayName: "Bea",
  startedAt: null,
  lastInboundAt,
});

const req = (over: Partial<DeliveryRequest>): DeliveryRequest => ({
  creatorId: crypto.randomUUID(),
  endUserId: crypto.randomUUID(),
  purpose: "answer",
  text: "hello",
  ...over,
});

Deno.test("WhatsAppSender.plan() - free-form inside the 24-hour window, the purpose's template outside it, else skip", () => {
  const { fake, sender, conn } = setup();
  using _ = { [Symbol.dispose]: () => void fake[Symbol.asyncDispose]() };
  const now = Date.now();
  const inside = sender.plan(req({}), to("1", now - WINDOW_MS + 60_000), conn, now);
  assert.deepEqual(inside, { parts: [{ text: "hello" }] });
  const nudge = sender.plan(
    req({ purpose: "nudge", text: "Walk today?" }),
    to("1", now - WINDOW_MS - 1),
    conn,
    now,
  );
  assert.deepEqual(nudge, {
    parts: [{
      text: "Walk today?",
      template: { name: "checkin", language: "en", variables: ["Walk today?"] },
    }],
  });
  assert.deepEqual(sender.plan(req({ purpose: "badge" }), to("1", null), conn, now), {
    skip: "outside_window_no_template",
  });
});

Deno.test("WhatsAppSender - text, buttons and templates are accepted by the Cloud API", async () => {
  const { fake, sender, conn } = setup({
    templates: [{ name: "checkin", language: "en", category: "utility", bodyParams: 1 }],
  });
  await using _f = fake;
  await fake.sendInbound("4915100000001", { type: "text", body: "hi" });
  const r = to("4915100000001", Date.now());
  const text = await sender.send({ text: "Plain answer" }, r, conn);
  const buttons = await sender.send(
    {
      text: "How did it go?",
      quickReplies: [{ label: "Great", payload: "great" }, { label: "Hard", payload: "hard" }],
    },
    r,
    conn,
  );
  const template = await sender.send(
    { text: "x", template: { name: "checkin", language: "en", variables: ["Ada"] } },
    r,
    conn,
  );
  assert.deepEqual(fake.sent.map((s) => [s.id, s.type]), [
    [text.providerMessageId, "text"],
    [buttons.providerMessageId, "interactive"],
    [template.providerMessageId, "template"],
  ]);
});

Deno.test("WhatsAppSender - rate limits retry (pair rate only for that person), bad tokens are permanent", async () => {
  const { fake, sender, conn } = setup();
  await using _f = fake;
  await fake.sendInbound("4915100000002", { type: "text", body: "hi" });
  const r = to("4915100000002", Date.now());
  fake.failNext({ code: 130429, status: 429 });
  const busy = await sender.send({ text: "a" }, r, conn).catch((e) => e);
  assert.ok(busy instanceof ProviderError);
  assert.deepEqual([busy.kind, busy.details.code, busy.details.connectionWide], [
    "retry",
    130429,
    true,
  ]);
  fake.failNext({ code: 131056 });
  const pair = await sender.send({ text: "a" }, r, conn).catch((e) => e);
  assert.deepEqual([pair.kind, pair.details.code, pair.details.connectionWide], [
    "retry",
    131056,
    false,
  ]);
  fake.failNext({ httpStatus: 503 });
  assert.equal((await sender.send({ text: "a" }, r, conn).catch((e) => e)).kind, "retry");
  const wrong = { ...conn, secrets: { ...conn.secrets, access_token: "nope" } };
  const auth = await sender.send({ text: "a" }, r, wrong).catch((e) => e);
  assert.deepEqual([auth.kind, auth.details.code], ["permanent", 190]);
});

Deno.test("WhatsAppSender.typing() marks the message read with the typing indicator", async () => {
  const { fake, sender, conn } = setup();
  await using _f = fake;
  const { id } = await fake.sendInbound("4915100000003", { type: "text", body: "hi" });
  await sender.typing(to("4915100000003", Date.now()), conn, id);
  assert.equal(fake.reads.length, 1);
  assert.equal(fake.reads[0]!.messageId, id);
  assert.equal(fake.reads[0]!.typing, true);
});
