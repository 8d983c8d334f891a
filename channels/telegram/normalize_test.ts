import assert from "node:assert/strict";
import { startFakeTelegram } from "../../tests/fakes/telegram.ts";
import { normalizeUpdate } from "./normalize.ts";

const where = { creatorId: crypto.randomUUID(), connectionId: crypto.randomUUID() };

Deno.test("normalizeUpdate() - message ids are per chat: two people's first messages are two messages", async () => {
  await using tg = startFakeTelegram();
  const [ada, bo] = [tg.addUser({ first_name: "Ada" }), tg.addUser({ first_name: "Bo" })];
  const a = normalizeUpdate(tg.bot.updates.text(ada, "hi"), where);
  const b = normalizeUpdate(tg.bot.updates.text(bo, "hi"), where);
  assert.ok(a.type === "message" && b.type === "message");
  assert.notEqual(a.message.externalMessageId, b.message.externalMessageId);
  assert.equal(a.message.externalUserId, String(ada.id));
  assert.equal(a.message.displayName, "Ada");
  assert.deepEqual(a.message.content, { type: "text", text: "hi" });
});

Deno.test("normalizeUpdate() - /start with a deep-link payload, an edit, a button press, a block", async () => {
  await using tg = startFakeTelegram();
  const ada = tg.addUser({ first_name: "Ada" });
  const start = normalizeUpdate(tg.bot.updates.start(ada, "ref-42"), where);
  assert.ok(start.type === "message");
  assert.deepEqual(start.message.content, { type: "command", command: "start", args: "ref-42" });
  const first = normalizeUpdate(tg.bot.updates.text(ada, "helo"), where);
  assert.ok(first.type === "message");
  const msgId = Number(first.message.externalMessageId.split(":m")[1]);
  const edit = normalizeUpdate(tg.bot.updates.editedMessage(ada.id, msgId, "hello"), where);
  assert.ok(edit.type === "message");
  assert.notEqual(edit.message.externalMessageId, first.message.externalMessageId);
  assert.deepEqual(edit.message.content, { type: "text", text: "hello" });
  const sent = await fetch(`${tg.url}/bot${tg.bot.token}/sendMessage`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({
      chat_id: ada.id,
      text: "Ready?",
      reply_markup: { inline_keyboard: [[{ text: "Yes, let's go", callback_data: "go" }]] },
    }),
  }).then((r) => r.json());
  const press = normalizeUpdate(tg.bot.updates.callbackQuery(ada, sent.result, "go"), where);
  assert.ok(press.type === "message" && press.callbackQueryId);
  assert.deepEqual(press.message.content, { type: "button", payload: "go", text: "Yes, let's go" });
  assert.deepEqual(normalizeUpdate(tg.bot.updates.myChatMember(ada, "kicked"), where), {
    type: "reachability",
    externalUserId: String(ada.id),
    reachable: false,
    reason: "bot blocked",
  });
  const back = normalizeUpdate(tg.bot.updates.myChatMember(ada, "member"), where);
  assert.ok(back.type === "reachability" && back.reachable);
});
