import assert from "node:assert/strict";
import { startFakeTelegram } from "../../tests/fakes/telegram.ts";
import type { Connection } from "../core/connections.ts";
import type { DeliveryRequest } from "../../actors/mod.ts";
import { ProviderError, type Recipient } from "../core/sender.ts";
import { checkBot, InvalidBotTokenError, registerWebhook } from "./connect.ts";
import { TelegramSender } from "./sender.ts";

const conn = (token: string): Connection => ({
  id: crypto.randomUUID(),
  creatorId: crypto.randomUUID(),
  kind: "telegram",
  name: "bot",
  status: "active",
  config: {},
  publicKey: null,
  secrets: { bot_token: token },
});

const request = (over: Partial<DeliveryRequest>): DeliveryRequest => ({
  creatorId: crypto.randomUUID(),
  endUserId: crypto.randomUUID(),
  purpose: "answer",
  text: "hi",
  ...over,
});

function recipient(id: number, over: Partial<Recipient> = {}): Recipient {
  return {
    identityId: crypto.randomUUID(),
    endUserId: crypto.randomUUID(),
    externalId: String(id),
    displayName: "Ada",
    startedAt: Date.now(),
    lastInboundAt: Date.now(),
    ...over,
  };
}

Deno.test("TelegramSender - escaped HTML, citations as links and quick replies reach the chat as sent", async () => {
  await using fake = startFakeTelegram();
  const ada = fake.addUser({ first_name: "Ada" });
  fake.bot.privateChat(ada);
  const sender = new TelegramSender({ apiRoot: fake.url });
  const c = conn(fake.bot.token);
  const plan = sender.plan(
    request({
      text: "Use <3 sets & rest > 60 s.",
      citations: [{ title: "Training plan", url: "https://example.test/plan?a=1&b=2" }],
      quickReplies: [{ label: "Done", payload: "done" }, { label: "Later", payload: "later" }],
    }),
    recipient(ada.id),
  );
  assert.ok("parts" in plan && plan.parts.length === 1);
  const { providerMessageId } = await sender.send(plan.parts[0]!, recipient(ada.id), c);
  const [msg] = fake.bot.sentMessages(ada.id);
  assert.equal(String(msg!.message_id), providerMessageId);
  assert.equal(msg!.text, "Use <3 sets & rest > 60 s.\n\nSources:\n• Training plan");
  const link = msg!.entities?.find((e) => e.type === "text_link");
  assert.equal(link && "url" in link ? link.url : undefined, "https://example.test/plan?a=1&b=2");
  assert.deepEqual(
    msg!.reply_markup?.inline_keyboard.map((row) => row.map((b) => b.text)),
    [["Done"], ["Later"]],
  );
});

Deno.test("TelegramSender - a long answer is split under 4,096 characters and streamed as a draft first", async () => {
  await using fake = startFakeTelegram({ floodLimits: false });
  const ada = fake.addUser({ first_name: "Ada" });
  fake.bot.privateChat(ada);
  const sender = new TelegramSender({ apiRoot: fake.url });
  const c = conn(fake.bot.token);
  const paragraph = "Breathe in slowly for four counts and out for six. ".repeat(20).trim();
  const plan = sender.plan(
    request({ text: Array(7).fill(paragraph).join("\n\n") }),
    recipient(ada.id),
  );
  assert.ok("parts" in plan);
  assert.equal(plan.parts.length, 2);
  for (const part of plan.parts) await sender.send(part, recipient(ada.id), c);
  const sent = fake.bot.sentMessages(ada.id);
  assert.equal(sent.length, 2);
  assert.ok(sent.every((m) => (m.text ?? "").length <= 4096));
  const drafts = fake.requests.filter((r) => r.method === "sendMessageDraft" && r.status === 200);
  assert.ok(drafts.length >= 2, `${drafts.length} drafts streamed`);
  const first = fake.requests.findIndex((r) => r.method === "sendMessageDraft");
  const final = fake.requests.findIndex((r) => r.method === "sendMessage");
  assert.ok(first < final, "the draft comes before the final message");
});

Deno.test("TelegramSender - 429, 403 and 400 become retry (with retry-after), unreachable and permanent", async () => {
  await using fake = startFakeTelegram();
  const ada = fake.addUser({ first_name: "Ada" });
  fake.bot.privateChat(ada);
  const sender = new TelegramSender({ apiRoot: fake.url });
  const c = conn(fake.bot.token);
  fake.failNext("sendMessage", { kind: "flood", retryAfter: 7 });
  const flood = await sender.send({ text: "a" }, recipient(ada.id), c).catch((e) => e);
  assert.ok(flood instanceof ProviderError);
  assert.equal(flood.kind, "retry");
  assert.equal(flood.details.retryAfterMs, 7000);
  fake.bot.setBlocked(ada.id);
  const blocked = await sender.send({ text: "a" }, recipient(ada.id), c).catch((e) => e);
  assert.equal(blocked.kind, "unreachable");
  assert.equal(blocked.message, "Forbidden: bot was blocked by the user");
  const unknown = await sender.send({ text: "a" }, recipient(999_999), c).catch((e) => e);
  assert.equal(unknown.kind, "permanent");
  assert.match(unknown.message, /chat not found/);
});

Deno.test("TelegramSender.plan() - no proactive message to someone who never started the bot", () => {
  const sender = new TelegramSender({ apiRoot: "http://127.0.0.1:9" });
  const never = recipient(1, { startedAt: null, lastInboundAt: null });
  assert.deepEqual(sender.plan(request({ purpose: "nudge" }), never), {
    skip: "not_started",
  });
  assert.ok("parts" in sender.plan(request({ purpose: "answer" }), never));
});

Deno.test("checkBot() names a refused token; registerWebhook() sets the secret token", async () => {
  await using fake = startFakeTelegram();
  const sender = new TelegramSender({ apiRoot: fake.url });
  assert.deepEqual(await checkBot(sender.api(fake.bot.token)), {
    id: fake.bot.user.id,
    username: "coachd_test_bot",
  });
  await assert.rejects(checkBot(sender.api("123:nope")), InvalidBotTokenError);
  await registerWebhook(
    sender.api(fake.bot.token),
    "https://coach.example/hooks/telegram/x",
    "s3cret",
  );
  assert.equal(fake.bot.webhook?.url, "https://coach.example/hooks/telegram/x");
  assert.equal(fake.bot.webhook?.secretToken, "s3cret");
});
