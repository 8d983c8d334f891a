/**
 * A provider outage seen from a real node: Telegram answers 500 to every send, the breaker opens,
 * the conversation's turns still commit, the health page names the open breaker, and the
 * delivery waits and goes out once Telegram is back, without using up its attempts.
 */
import assert from "node:assert/strict";
import { startFakeTelegram } from "./fakes/telegram.ts";
import { eventually } from "./harness.ts";
import { nodeEnv } from "./node_env.ts";

const GUIDE = `# Sleep guide

## Caffeine
Caffeine has a half-life of five to six hours. Stop drinking coffee by 2 pm.
`;

Deno.test("provider breakers - Telegram down: turns commit, /readyz names the open breaker, the delivery waits and is sent", async () => {
  await using tg = startFakeTelegram({ floodLimits: false });
  await using env = await nodeEnv({
    TELEGRAM_API_URL: tg.url,
    PROVIDER_BREAKER_FAILURES: "2",
    PROVIDER_BREAKER_HALF_OPEN_MS: "1500",
  });
  const { token } = await env.signup();
  await env.knowledge(token, GUIDE);
  const connected = await env.call("POST", "/v1/channels", {
    token,
    body: { kind: "telegram", name: "Coach bot", bot_token: tg.bot.token },
  });
  assert.equal(connected.status, 201, connected.text);
  const ada = tg.addUser({ first_name: "Ada" });
  await tg.deliverUpdate(tg.bot.token, tg.bot.updates.start(ada));
  await eventually(() => tg.bot.sentMessages(ada.id).length === 1, { what: "the welcome" });
  const ready = async () => (await env.call("GET", "/readyz")).json;
  assert.equal((await ready()).providers.telegram.state, "closed");

  // Telegram fails the next three sends with 500 Internal Server Error: two open the breaker,
  // the first trial after the open period fails again, the second goes through.
  tg.failNext("sendMessage", { kind: "internal" }, 3);
  await tg.deliverUpdate(tg.bot.token, tg.bot.updates.text(ada, "Until when can I drink coffee?"));
  const open = await eventually(async () => {
    const r = await ready();
    return r.open_breakers?.includes("telegram") && r;
  }, { timeoutMs: 20_000, intervalMs: 20, what: "the telegram breaker open" });
  assert.equal(open.status, "ready", "an open breaker does not make the node unready");
  assert.equal(open.providers.telegram.state, "open");
  assert.match(open.providers.telegram.lastError, /Internal Server Error/);
  const metrics = await (await fetch(`${env.url}/metrics`)).text();
  assert.match(metrics, /coachd_provider_breaker_open\{provider="telegram"\} 1/);

  // The turn committed: the creator sees the question and the coach's answer already.
  const convs = await env.call("GET", "/v1/conversations", { token });
  const messages = await eventually(async () => {
    const m = await env.call("GET", `/v1/conversations/${convs.json.data[0].id}/messages`, {
      token,
    });
    return m.json.data?.length === 2 && m.json.data;
  }, { what: "the conversation's records" });
  assert.match(messages[0].content, /2 pm/);

  // The delivery waits through the outage and goes out once Telegram answers again.
  const answer = await eventually(() => tg.bot.sentMessages(ada.id)[1], {
    timeoutMs: 30_000,
    what: "the answer after the outage",
  });
  assert.match(answer.text ?? "", /2 pm/);
  await eventually(async () => (await ready()).providers.telegram.state === "closed", {
    what: "the breaker closed",
  });
  const sent = await eventually(async () => {
    const d = await env.call("GET", "/v1/deliveries?limit=10", { token });
    return d.json.data.every((x: { status: string }) => x.status === "sent") && d.json.data;
  }, { what: "every delivery sent" });
  assert.equal(sent.length, 2);
  // Attempts count the calls that reached Telegram (3 failures, 1 success), not the sends the
  // open breaker refused.
  const calls =
    tg.requests.filter((r) =>
      r.method === "sendMessage" && r.params.text !== undefined &&
      String(r.params.text).includes("2 pm")
    ).length;
  const { rows } = await env.db.pool.query<{ attempts: number }>(
    "select attempts from deliveries where status = 'sent' order by attempts desc limit 1",
  );
  assert.equal(calls, 4);
  assert.equal(rows[0]!.attempts, 4);
});
