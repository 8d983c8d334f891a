import assert from "node:assert/strict";
import { eventually, sleep } from "../../../tests/harness.ts";
import { programEnv } from "../../../tests/user_env.ts";

const T0 = Date.parse("2026-03-02T08:00:00Z");
const DAY = 86_400_000;
const BADGE = "0b6c1e7e-9d3a-4b1f-8c55-6a7d2e9f0a11";

Deno.test("UserActor badges - an award told twice, or once redelivered with its id, is announced once", async () => {
  await using t = await programEnv(T0);
  await t.send({ type: "text", text: "hi" });
  const award = { badgeId: BADGE, name: "Early bird", message: "You're up early: Early bird!" };
  await t.client.tell(t.user, "awardBadge", award, { msgId: "award-1" });
  await t.client.tell(t.user, "awardBadge", award, { msgId: "award-1" });
  assert.deepEqual(await t.client.ask(t.user, "awardBadge", award), { awarded: false });
  await sleep(200);
  assert.deepEqual(t.texts("badge"), ["You're up early: Early bird!"]);
  assert.equal(t.node.eventsOn("badge.awarded").length, 1);
  // Announced where the person was last active.
  assert.equal(t.sent().find((d) => d.purpose === "badge")!.identityId, t.identityId);
  // Once awarded, checks no longer ask for it (the worker skips what the actor has).
  await t.send({ type: "text", text: "again" });
  const check = await eventually(() => t.node.eventsOn("badge.check").at(-1)?.awarded.length);
  assert.equal(check, 1);
});

Deno.test("UserActor achievements - a first week and a comeback after a week away, each once, in the person's days", async () => {
  await using t = await programEnv(T0);
  await t.client.ask(t.user, "updatePreferences", { timeZone: "Europe/Paris" });
  let count = 0;
  /** Sends a message and waits until the actor counted it (before the clock moves on). */
  const say = async (text: string) => {
    await t.send({ type: "text", text });
    const n = ++count;
    await eventually(async () =>
      (await t.client.ask(t.user, "getBadges")).metrics.messages_sent === n
    );
  };
  await say("day one");
  t.clock.advance(2 * DAY);
  await say("day three");
  // Seven days after the first: the first week is behind them, and this is no comeback (5 days).
  t.clock.advance(5 * DAY);
  await say("day eight");
  await eventually(() => t.node.eventsOn("achievement.reached").length === 1);
  // Away ten days: a comeback.
  t.clock.advance(10 * DAY);
  await say("I'm back");
  await say("still here");
  const got = await eventually(() => {
    const a = t.node.eventsOn("achievement.reached");
    return a.length >= 2 ? a : null;
  });
  await sleep(200);
  assert.deepEqual(t.node.eventsOn("achievement.reached").map((a) => a.key), [
    "first_week",
    "comeback:2026-03-19",
  ]);
  assert.equal(got[1].data.gapDays, 10);
  assert.deepEqual(t.texts("badge"), ["🎉 One week with your coach!", "🎉 Back after 10 days!"]);
  const { metrics } = await t.client.ask(t.user, "getBadges");
  assert.equal(metrics.days_active, 4);
  assert.equal(metrics.streak_days, 1);
});
