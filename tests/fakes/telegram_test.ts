import assert from "node:assert/strict";
import { autoRetry } from "@grammyjs/auto-retry";
import { Bot, GrammyError, HttpError, webhookCallback } from "grammy";
import type { Update } from "grammy/types";
import { startFakeTelegram } from "./telegram.ts";

/** A grammy bot pointed at the fake, as the product will build it. */
function grammyBot(fake: { url: string; bot: { token: string } }, token = fake.bot.token) {
  return new Bot(token, { client: { apiRoot: fake.url } });
}

async function rejection(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (err) {
    return err;
  }
  assert.fail("expected the call to fail");
}

async function grammyError(p: Promise<unknown>): Promise<GrammyError> {
  const err = await rejection(p);
  assert.ok(err instanceof GrammyError, `expected a GrammyError, got ${err}`);
  return err;
}

/** A manual clock, so flood limits do not depend on how fast the machine is. */
function manualClock(start = Date.UTC(2026, 0, 5, 9)) {
  const clock = { t: start, now: () => clock.t };
  return clock;
}

Deno.test("fake Telegram - grammy's getMe and sendMessage get the bot, increasing ids per chat, the bot as sender", async () => {
  await using fake = startFakeTelegram();
  const alice = fake.addUser({ first_name: "Alice" });
  const bob = fake.addUser({ first_name: "Bob" });
  fake.bot.privateChat(alice);
  fake.bot.privateChat(bob);
  const bot = grammyBot(fake);

  const me = await bot.api.getMe();
  assert.equal(me.username, "coachd_test_bot");
  assert.equal(me.is_bot, true);

  const a1 = await bot.api.sendMessage(alice.id, "one");
  const a2 = await bot.api.sendMessage(alice.id, "two");
  const b1 = await bot.api.sendMessage(bob.id, "hello Bob");
  assert.deepEqual([a1.message_id, a2.message_id, b1.message_id], [1, 2, 1]);
  assert.equal(a1.from?.id, me.id);
  assert.deepEqual(a1.chat, { id: alice.id, type: "private", first_name: "Alice" });
  assert.equal(typeof a1.date, "number");
  assert.deepEqual(fake.bot.sentMessages(alice.id).map((m) => "text" in m && m.text), [
    "one",
    "two",
  ]);
  assert.deepEqual(fake.bot.messagesSentPerChat(), new Map([[alice.id, 2], [bob.id, 1]]));
  const sends = fake.requests.filter((r) => r.method === "sendMessage");
  assert.deepEqual(sends.map((r) => r.params.text), ["one", "two", "hello Bob"]);
  assert.ok(sends.every((r) => r.token === fake.bot.token && r.status === 200));
});

Deno.test("fake Telegram - bad parameters answer 400 with the API's descriptions", async () => {
  await using fake = startFakeTelegram();
  const alice = fake.addUser();
  fake.bot.privateChat(alice);
  const bot = grammyBot(fake);

  const cases: [() => Promise<unknown>, string][] = [
    [() => bot.api.sendMessage("", "hi"), "Bad Request: chat_id is empty"],
    [() => bot.api.sendMessage(alice.id, ""), "Bad Request: message text is empty"],
    [() => bot.api.sendMessage(alice.id, "   "), "Bad Request: message text is empty"],
    [() => bot.api.sendMessage(alice.id, "x".repeat(4097)), "Bad Request: message is too long"],
    [() => bot.api.sendMessage(123456, "hi"), "Bad Request: chat not found"],
    [
      () => bot.api.sendMessage(alice.id, "a < b", { parse_mode: "HTML" }),
      'Bad Request: can\'t parse entities: Unsupported start tag "" at byte offset 2',
    ],
    [
      () => bot.api.sendMessage(alice.id, "Done.", { parse_mode: "MarkdownV2" }),
      "Bad Request: can't parse entities: Character '.' is reserved and must be escaped with the preceding '\\'",
    ],
    [
      () => bot.api.sendChatAction(alice.id, "dancing" as "typing"),
      "Bad Request: wrong parameter action in request",
    ],
    [
      () =>
        bot.api.sendMessage(alice.id, "pick", {
          reply_markup: { inline_keyboard: [[{ text: "A", callback_data: "x".repeat(65) }]] },
        }),
      "Bad Request: BUTTON_DATA_INVALID",
    ],
    [
      () => bot.api.sendMessage(alice.id, "re", { reply_parameters: { message_id: 99 } }),
      "Bad Request: message to be replied not found",
    ],
  ];
  for (const [call, description] of cases) {
    const err = await grammyError(call());
    assert.equal(err.error_code, 400);
    assert.equal(err.description, description);
  }
  const ok = await bot.api.sendMessage(alice.id, "x".repeat(4096));
  assert.equal(ok.message_id, 1, "rejected calls use no message id");
});

Deno.test("fake Telegram - an unknown token answers 401 Unauthorized and an unknown method 404", async () => {
  await using fake = startFakeTelegram();
  const err = await grammyError(grammyBot(fake, "42:not-a-known-token").api.getMe());
  assert.equal(err.error_code, 401);
  assert.equal(err.description, "Unauthorized");
  const res = await fetch(`${fake.url}/bot${fake.bot.token}/sendTelepathy`, { method: "POST" });
  assert.equal(res.status, 404);
  assert.deepEqual(await res.json(), { ok: false, error_code: 404, description: "Not Found" });
});

Deno.test("fake Telegram - a user who blocked the bot answers 403, also once my_chat_member kicked was delivered", async () => {
  await using fake = startFakeTelegram();
  const alice = fake.addUser();
  const bob = fake.addUser();
  const bot = grammyBot(fake);
  await fake.deliverUpdate(fake.bot.token, fake.bot.updates.start(alice));
  await fake.deliverUpdate(fake.bot.token, fake.bot.updates.start(bob));

  fake.bot.setBlocked(alice.id);
  const err = await grammyError(bot.api.sendMessage(alice.id, "still there?"));
  assert.equal(err.error_code, 403);
  assert.equal(err.description, "Forbidden: bot was blocked by the user");

  await fake.deliverUpdate(fake.bot.token, fake.bot.updates.myChatMember(bob, "kicked"));
  const err2 = await grammyError(bot.api.sendChatAction(bob.id, "typing"));
  assert.equal(err2.description, "Forbidden: bot was blocked by the user");
  await fake.deliverUpdate(fake.bot.token, fake.bot.updates.myChatMember(bob, "member"));
  assert.equal((await bot.api.sendMessage(bob.id, "welcome back")).text, "welcome back");
});

Deno.test("fake Telegram - flood control answers 429 with parameters.retry_after per chat and per bot", async () => {
  const clock = manualClock();
  await using fake = startFakeTelegram({ now: clock.now });
  const bot = grammyBot(fake);
  const users = Array.from({ length: 40 }, () => fake.addUser());
  for (const u of users) fake.bot.privateChat(u);
  const first = users[0]!;

  // A private chat takes a burst of 3, then one message per second.
  for (let i = 0; i < 3; i++) await bot.api.sendMessage(first.id, `m${i}`);
  const err = await grammyError(bot.api.sendMessage(first.id, "m3"));
  assert.equal(err.error_code, 429);
  assert.equal(err.description, "Too Many Requests: retry after 1");
  assert.deepEqual(err.parameters, { retry_after: 1 });
  clock.t += 1000;
  await bot.api.sendMessage(first.id, "m3 again");

  // Across chats the bot gets 30 per second.
  clock.t += 10_000;
  const results = await Promise.allSettled(
    users.slice(1, 36).map((u) => bot.api.sendMessage(u.id, "news")),
  );
  const rejected = results.filter((r) => r.status === "rejected").map((r) =>
    (r as PromiseRejectedResult).reason
  );
  assert.equal(results.length - rejected.length, 30);
  assert.equal(rejected.length, 5);
  assert.ok(
    rejected.every((e) =>
      e instanceof GrammyError && e.error_code === 429 && e.parameters.retry_after === 1
    ),
  );

  assert.equal(
    fake.bot.maxRate({ chatId: first.id }),
    4,
    "attempts in one second, the rejected one included",
  );
  assert.equal(fake.bot.maxRate({ chatId: first.id, acceptedOnly: true }), 3);
  assert.equal(fake.bot.maxRate(), 35);
  assert.equal(fake.bot.maxRate({ acceptedOnly: true }), 30);
});

Deno.test("fake Telegram - scripted failures: 429 reaches grammy with retry_after, auto-retry waits it out; 500 and 502", async () => {
  await using fake = startFakeTelegram({ floodLimits: false });
  const alice = fake.addUser();
  fake.bot.privateChat(alice);
  const plain = grammyBot(fake);

  fake.failNext("sendMessage", { kind: "flood", retryAfter: 7 });
  const err = await grammyError(plain.api.sendMessage(alice.id, "hi"));
  assert.equal(err.error_code, 429);
  assert.equal(err.parameters.retry_after, 7);
  assert.equal(err.method, "sendMessage");

  const retrying = grammyBot(fake);
  retrying.api.config.use(autoRetry());
  fake.failNext("sendMessage", { kind: "flood", retryAfter: 1 });
  const started = Date.now();
  const sent = await retrying.api.sendMessage(alice.id, "after the wait");
  assert.equal(sent.text, "after the wait");
  assert.ok(Date.now() - started >= 1000, "auto-retry waited retry_after seconds");
  assert.deepEqual(
    fake.requests.filter((r) => r.params.text === "after the wait").map((r) => r.status),
    [429, 200],
  );

  fake.failNext("sendMessage", { kind: "internal" });
  const e500 = await grammyError(plain.api.sendMessage(alice.id, "x"));
  assert.equal(e500.error_code, 500);
  assert.equal(e500.description, "Internal Server Error");

  fake.failNext("*", { kind: "bad_gateway" });
  const e502 = await rejection(plain.api.getMe());
  assert.ok(
    e502 instanceof HttpError,
    "an HTML 502 is not the API's JSON: grammy sees an HttpError",
  );

  fake.failNext("sendChatAction", {
    kind: "error",
    errorCode: 400,
    description: "Bad Request: not enough rights",
  }, 2);
  for (let i = 0; i < 2; i++) {
    assert.equal(
      (await grammyError(plain.api.sendChatAction(alice.id, "typing"))).description,
      "Bad Request: not enough rights",
    );
  }
  assert.equal(await plain.api.sendChatAction(alice.id, "typing"), true);
});

Deno.test("fake Telegram - parse_mode HTML gives entities in UTF-16 offsets; inline keyboards and callback queries round-trip", async () => {
  await using fake = startFakeTelegram();
  const alice = fake.addUser();
  fake.bot.privateChat(alice);
  const bot = grammyBot(fake);

  const m = await bot.api.sendMessage(
    alice.id,
    '🙂 <b>Drink</b> &lt;water&gt; <a href="https://example.com/x">now</a>',
    {
      parse_mode: "HTML",
      reply_markup: {
        inline_keyboard: [[{ text: "Done", callback_data: "done:1" }, {
          text: "Later",
          callback_data: "later",
        }]],
      },
    },
  );
  assert.equal(m.text, "🙂 Drink <water> now");
  assert.deepEqual(m.entities, [
    { type: "bold", offset: 3, length: 5 },
    { type: "text_link", offset: 17, length: 3, url: "https://example.com/x" },
  ]);
  assert.deepEqual(m.reply_markup?.inline_keyboard[0]?.map((b) => b.text), ["Done", "Later"]);

  const press = fake.bot.updates.callbackQuery(alice, m, "done:1");
  assert.equal(press.callback_query?.data, "done:1");
  assert.equal(
    await bot.api.answerCallbackQuery(press.callback_query!.id, { text: "Noted" }),
    true,
  );
  assert.equal(fake.bot.callbackQueries.get(press.callback_query!.id)?.answer?.text, "Noted");
  const again = await grammyError(bot.api.answerCallbackQuery(press.callback_query!.id));
  assert.equal(
    again.description,
    "Bad Request: query is too old and response timeout expired or query ID is invalid",
  );
});

Deno.test("fake Telegram - editMessageText edits the bot's message and refuses no-op, missing and foreign messages", async () => {
  await using fake = startFakeTelegram();
  const alice = fake.addUser();
  const incoming = fake.bot.updates.text(alice, "hi");
  const bot = grammyBot(fake);
  const m = await bot.api.sendMessage(alice.id, "Thinking");

  const edited = await bot.api.editMessageText(alice.id, m.message_id, "Here is the answer");
  assert.equal(edited !== true && "text" in edited && edited.text, "Here is the answer");
  assert.equal(edited !== true && typeof edited.edit_date, "number");
  const stored = fake.bot.chats.get(alice.id)!.messages.get(m.message_id)!;
  assert.equal("text" in stored && stored.text, "Here is the answer");

  const same = await grammyError(
    bot.api.editMessageText(alice.id, m.message_id, "Here is the answer"),
  );
  assert.match(same.description, /^Bad Request: message is not modified/);
  const missing = await grammyError(bot.api.editMessageText(alice.id, 999, "x"));
  assert.equal(missing.description, "Bad Request: message to edit not found");
  const foreign = await grammyError(
    bot.api.editMessageText(alice.id, incoming.message!.message_id, "x"),
  );
  assert.equal(foreign.description, "Bad Request: message can't be edited");
});

Deno.test("fake Telegram - sendMessageDraft streams a draft that sendMessage then replaces; chat actions are kept", async () => {
  await using fake = startFakeTelegram();
  const alice = fake.addUser();
  fake.bot.privateChat(alice);
  const bot = grammyBot(fake);

  assert.equal(await bot.api.sendChatAction(alice.id, "typing"), true);
  for (const text of ["Drink", "Drink water", "Drink water after waking up."]) {
    assert.equal(await bot.api.sendMessageDraft(alice.id, 7, text), true);
  }
  const chat = fake.bot.chats.get(alice.id)!;
  assert.deepEqual(chat.actions.map((a) => a.action), ["typing"]);
  assert.equal(chat.drafts.get(7)?.text, "Drink water after waking up.");
  assert.equal(chat.drafts.get(7)?.updates, 3);
  const zero = await grammyError(bot.api.sendMessageDraft(alice.id, 0, "x"));
  assert.equal(zero.error_code, 400);

  await bot.api.sendMessage(alice.id, "Drink water after waking up.");
  assert.equal(chat.drafts.size, 0);
  const group = fake.bot.addGroup({ title: "Coaching circle" });
  const err = await grammyError(bot.api.sendMessageDraft(group.chat.id, 1, "x"));
  assert.equal(err.error_code, 400);
});

Deno.test("fake Telegram - updates reach grammy's webhookCallback with the secret token; a refused delivery stays pending", async () => {
  await using fake = startFakeTelegram();
  const alice = fake.addUser({ first_name: "Alice" });
  const bot = grammyBot(fake);
  const seen: string[] = [];
  bot.command("start", (ctx) => {
    seen.push(`start:${ctx.match}`);
  });
  bot.on("message:text", (ctx) => {
    seen.push(ctx.message.text);
  });
  bot.on("edited_message", (ctx) => {
    seen.push(`edited:${ctx.editedMessage.text}`);
  });
  await bot.init();
  const handle = webhookCallback(bot, "std/http", { secretToken: "s3cret_Token-1" });
  const receiver = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    (req) => handle(req),
  );
  try {
    const hook = `http://127.0.0.1:${receiver.addr.port}/hooks/telegram`;
    assert.equal(await bot.api.setWebhook(hook, { secret_token: "s3cret_Token-1" }), true);
    const info = await bot.api.getWebhookInfo();
    assert.equal(info.url, hook);
    assert.equal(info.pending_update_count, 0);

    const start = fake.bot.updates.start(alice, "ref-creator42");
    const d1 = await fake.deliverUpdate(fake.bot.token, start);
    assert.equal(d1.via === "webhook" && d1.status, 200);
    const text = fake.bot.updates.text(alice, "I slept badly");
    await fake.deliverUpdate(fake.bot.token, text);
    await fake.deliverUpdate(
      fake.bot.token,
      fake.bot.updates.editedMessage(alice.id, text.message!.message_id, "I slept well"),
    );
    assert.deepEqual(seen, ["start:ref-creator42", "I slept badly", "edited:I slept well"]);

    // The receiver rejects a wrong secret: Telegram keeps the update and reports the error.
    fake.bot.webhook!.secretToken = "someone-else";
    const refused = await fake.deliverUpdate(
      fake.bot.token,
      fake.bot.updates.text(alice, "are you there?"),
    );
    assert.equal(refused.via === "webhook" && refused.status, 401);
    const after = await bot.api.getWebhookInfo();
    assert.equal(after.pending_update_count, 1);
    assert.equal(after.last_error_message, "Wrong response from the webhook: 401 Unauthorized");
    // A newer update waits behind the refused one: Telegram delivers in order.
    const behind = await fake.deliverUpdate(fake.bot.token, fake.bot.updates.text(alice, "hello?"));
    assert.deepEqual(behind, { via: "queue" });
    assert.equal((await bot.api.getWebhookInfo()).pending_update_count, 2);
    fake.bot.webhook!.secretToken = "s3cret_Token-1";
    const retried = await fake.redeliver(fake.bot.token);
    assert.deepEqual(retried.map((d) => d.via === "webhook" && d.status), [200, 200]);
    assert.equal((await bot.api.getWebhookInfo()).pending_update_count, 0);
    assert.deepEqual(seen.slice(-2), ["are you there?", "hello?"]);

    const conflict = await grammyError(bot.api.getUpdates());
    assert.equal(conflict.error_code, 409);
    assert.match(
      conflict.description,
      /^Conflict: can't use getUpdates method while webhook is active/,
    );
  } finally {
    await receiver.shutdown();
  }
});

Deno.test("fake Telegram - getUpdates long polling: grammy's bot.start() receives queued updates; confirmed updates are dropped", async () => {
  await using fake = startFakeTelegram();
  const alice = fake.addUser();
  const bot = grammyBot(fake);
  const got: string[] = [];
  const twoSeen = Promise.withResolvers<void>();
  bot.on("message:text", (ctx) => {
    got.push(ctx.message.text);
    if (got.length === 2) twoSeen.resolve();
  });
  bot.on("callback_query:data", async (ctx) => {
    got.push(`button:${ctx.callbackQuery.data}`);
    await ctx.answerCallbackQuery();
  });

  await fake.deliverUpdate(fake.bot.token, fake.bot.updates.text(alice, "queued before start"));
  const running = bot.start({ drop_pending_updates: false });
  // The second update arrives while getUpdates is waiting.
  await new Promise((r) => setTimeout(r, 50));
  await fake.deliverUpdate(fake.bot.token, fake.bot.updates.text(alice, "arrived while polling"));
  await twoSeen.promise;
  await bot.stop();
  await running;
  assert.deepEqual(got, ["queued before start", "arrived while polling"]);
  assert.equal(fake.bot.queue.length, 0, "bot.stop() confirmed the offset");
  assert.ok(fake.requests.some((r) => r.method === "getUpdates" && Number(r.params.timeout) > 0));

  // Offset semantics by hand: updates below the offset are forgotten.
  const u1 = fake.bot.updates.text(alice, "a");
  const u2 = fake.bot.updates.text(alice, "b");
  await fake.deliverUpdate(fake.bot.token, u1);
  await fake.deliverUpdate(fake.bot.token, u2);
  assert.deepEqual((await bot.api.getUpdates()).map((u) => u.update_id), [
    u1.update_id,
    u2.update_id,
  ]);
  assert.deepEqual((await bot.api.getUpdates({ offset: u2.update_id })).map((u) => u.update_id), [
    u2.update_id,
  ]);
  assert.deepEqual(await bot.api.getUpdates({ offset: u2.update_id + 1 }), []);
});

Deno.test("fake Telegram - a newer getUpdates ends the waiting one with 409 Conflict", async () => {
  await using fake = startFakeTelegram();
  const bot = grammyBot(fake);
  const first = bot.api.getUpdates({ timeout: 5 });
  await new Promise((r) => setTimeout(r, 50));
  const second = bot.api.getUpdates({ timeout: 0 });
  const err = await grammyError(first);
  assert.equal(err.error_code, 409);
  assert.equal(
    err.description,
    "Conflict: terminated by other getUpdates request; make sure that only one bot instance is running",
  );
  assert.deepEqual(await second, []);
});

Deno.test("fake Telegram - form-encoded and multipart bodies are read like JSON ones", async () => {
  await using fake = startFakeTelegram();
  const alice = fake.addUser();
  fake.bot.privateChat(alice);
  const keyboard = JSON.stringify({ inline_keyboard: [[{ text: "Yes", callback_data: "y" }]] });

  const form = new URLSearchParams({
    chat_id: String(alice.id),
    text: "<i>urlencoded</i>",
    parse_mode: "HTML",
    reply_markup: keyboard,
  });
  const r1 = await fetch(`${fake.url}/bot${fake.bot.token}/sendMessage`, {
    method: "POST",
    body: form,
  });
  const b1 = await r1.json();
  assert.equal(b1.ok, true);
  assert.deepEqual(b1.result.entities, [{ type: "italic", offset: 0, length: 10 }]);
  assert.equal(b1.result.reply_markup.inline_keyboard[0][0].callback_data, "y");

  const multipart = new FormData();
  multipart.set("chat_id", String(alice.id));
  multipart.set("text", "multipart");
  const r2 = await fetch(`${fake.url}/bot${fake.bot.token}/sendMessage`, {
    method: "POST",
    body: multipart,
  });
  assert.equal((await r2.json()).result.message_id, 2);

  const r3 = await fetch(
    `${fake.url}/bot${fake.bot.token}/sendMessage?chat_id=${alice.id}&text=query`,
  );
  assert.equal((await r3.json()).result.text, "query");
});

Deno.test("fake Telegram - allowed_updates filters deliveries; several bots keep separate chats", async () => {
  await using fake = startFakeTelegram({
    bots: [{ token: "7000000001:AAone", username: "one_bot" }, {
      token: "7000000002:AAtwo",
      username: "two_bot",
    }],
  });
  const alice = fake.addUser();
  const one = fake.bots.get("7000000001:AAone")!;
  const two = fake.bots.get("7000000002:AAtwo")!;
  one.privateChat(alice);
  const err = await grammyError(grammyBot(fake, two.token).api.sendMessage(alice.id, "hi"));
  assert.equal(
    err.description,
    "Bad Request: chat not found",
    "alice never started the second bot",
  );

  await grammyBot(fake, one.token).api.getUpdates({ allowed_updates: ["callback_query"] });
  const text: Update = one.updates.text(alice, "ignored kind");
  assert.deepEqual(await fake.deliverUpdate(one.token, text), { via: "filtered" });
  assert.equal(one.queue.length, 0);
});
