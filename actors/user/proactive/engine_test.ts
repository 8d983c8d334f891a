import assert from "node:assert/strict";
import { ManualClock } from "../../../runtime/mod.ts";
import { eventually, testDb, testNats } from "../../../tests/harness.ts";
import { startActorNode } from "../../../tests/actor_node.ts";
import { conversationStub } from "../../../bench/simulate/conversation_stub.ts";
import { type InboundContent, userActor, userAddress } from "../../mod.ts";
import { conversationAddress } from "../../contracts/conversation.ts";
import type { Channel } from "../../contracts/channel.ts";
import { proactiveAddress, proactiveBudgetActor } from "./budget_actor.ts";
import { ProactiveSettings, type ProactiveSettingsUpdate } from "./settings.ts";

const HOUR = 3600_000;
const DAY = 24 * HOUR;

async function setup(
  { start, settings = {}, channel = "telegram" as Channel }: {
    start: string;
    settings?: ProactiveSettingsUpdate;
    channel?: Channel;
  },
) {
  const stack = new AsyncDisposableStack();
  const db = stack.use(await testDb());
  const nats = stack.use(await testNats());
  const clock = new ManualClock(Date.parse(start));
  const node = stack.use(
    await startActorNode({
      pool: db.pool,
      nats,
      actors: [userActor({ debounceMs: 0 }), proactiveBudgetActor, conversationStub],
      clock,
    }),
  );
  const client = node.system.client;
  const creatorId = crypto.randomUUID();
  const endUserId = crypto.randomUUID();
  const identityId = crypto.randomUUID();
  const user = userAddress(creatorId, endUserId);
  await client.ask(proactiveAddress(creatorId), "configure", ProactiveSettings.parse(settings));
  let n = 0;
  const send = async (content: InboundContent | string) => {
    await client.ask(user, "getProfile"); // earlier messages are in
    await client.tell(user, "inbound", {
      channel,
      connectionId: crypto.randomUUID(),
      creatorId,
      externalUserId: "42",
      externalMessageId: `m${++n}`,
      sentAt: clock.now(),
      content: typeof content === "string" ? { type: "text", text: content } : content,
      endUserId,
      identityId,
      receivedAt: clock.now(),
    });
    await client.ask(user, "getProfile");
  };
  const sent = () => node.eventsOn("nudge.sent");
  const skipped = () => node.eventsOn("nudge.skipped");
  /** Moves the clock in steps of at most an hour, letting due reminders run. */
  const advanceTo = async (iso: string | number) => {
    const target = typeof iso === "number" ? iso : Date.parse(iso);
    while (clock.now() < target) {
      clock.advance(Math.min(HOUR, target - clock.now()));
      await settle();
    }
  };
  /** Waits until the actor's turns so far are done (a reminder's turn included). */
  const settle = async () => {
    await new Promise((r) => setTimeout(r, 30));
    await client.ask(user, "getProfile");
    await client.ask(user, "getProfile");
  };
  const moved = stack.move();
  return {
    clock,
    node,
    client,
    creatorId,
    endUserId,
    user,
    send,
    sent,
    skipped,
    advanceTo,
    settle,
    db,
    [Symbol.asyncDispose]: () => moved.disposeAsync(),
  };
}

const hourIn = (at: number, zone: string) =>
  Number(new Intl.DateTimeFormat("en-GB", { hour: "2-digit", hour12: false, timeZone: zone })
    .format(at));

Deno.test("proactive - inactivity after N days at the person's usual hour, then re-engagement with growing gaps up to the limit", async () => {
  // 17:xx in Paris (UTC+1 in March before the switch).
  await using t = await setup({
    start: "2026-03-02T16:10:00Z",
    settings: { inactivityDays: 3, reengageLimit: 2, reengageBaseDays: 2, weeklyCap: 10 },
  });
  await t.client.ask(t.user, "updatePreferences", { timeZone: "Europe/Paris" });
  await t.send("hi");
  await t.advanceTo("2026-03-02T16:50:00Z");
  await t.send("one more thing");
  // Nothing before three days have passed.
  await t.advanceTo("2026-03-05T15:00:00Z");
  assert.equal(t.sent().length, 0);
  await t.advanceTo("2026-03-05T17:30:00Z");
  const first = await eventually(() => t.sent()[0], { what: "the inactivity nudge" });
  assert.equal(first.trigger, "inactivity");
  assert.equal(first.step, 0);
  assert.equal(first.localHour, 17);
  assert.equal(first.usualHour, 17);
  assert.equal(hourIn(first.at, "Europe/Paris"), 17);
  assert.ok(first.at >= Date.parse("2026-03-05T16:00:00Z"));
  // Then after 2 more days, then 4 more; then nothing (the limit is 2).
  await t.advanceTo("2026-03-20T00:00:00Z");
  const all = await eventually(() => (t.sent().length === 3 ? t.sent() : null), {
    what: "3 nudges",
  });
  assert.deepEqual(all.map((s: { trigger: string }) => s.trigger), [
    "inactivity",
    "reengagement",
    "reengagement",
  ]);
  const gaps = all.slice(1).map((s: { at: number }, i: number) =>
    Math.round((s.at - all[i].at) / DAY)
  );
  assert.deepEqual(gaps, [2, 4]);
  const deliveries = t.node.eventsOn("delivery.requested");
  assert.equal(deliveries.length, 3);
  assert.equal(deliveries[0].purpose, "nudge");
  assert.equal(deliveries[0].id, first.deliveryId);
  // Writing again starts over.
  await t.send("back!");
  const state = await t.client.ask(t.user, "getProactive");
  assert.equal(state.step, 0);
});

Deno.test("proactive - streak at risk before the day ends, milestone reached once", async () => {
  await using t = await setup({
    start: "2026-03-02T09:00:00Z",
    settings: { milestones: [3], inactivityDays: 10 },
  });
  await t.client.ask(t.user, "updatePreferences", { timeZone: "Asia/Tokyo" });
  // Tokyo 18:00 on three days in a row.
  for (const day of ["02", "03", "04"]) {
    await t.advanceTo(`2026-03-${day}T09:00:00Z`);
    await t.send("done today");
  }
  // Not in the middle of the conversation: once it has settled.
  await t.advanceTo("2026-03-04T09:30:00Z");
  const m = await eventually(
    () => t.sent().find((s: { trigger: string }) => s.trigger === "milestone"),
    { what: "the milestone" },
  );
  assert.equal(m.at, Date.parse("2026-03-04T09:30:00Z"));
  // The 5th: no message by 19:00 Tokyo, an hour after their usual 18:00: the streak is at risk.
  await t.advanceTo("2026-03-05T11:00:00Z");
  const risk = await eventually(
    () => t.sent().find((s: { trigger: string }) => s.trigger === "streak_at_risk"),
    { what: "streak at risk" },
  );
  assert.equal(hourIn(risk.at, "Asia/Tokyo"), 19);
  assert.equal(t.sent().filter((s: { trigger: string }) => s.trigger === "milestone").length, 1);
});

Deno.test("proactive - quiet hours across a daylight-saving night, in the new zone after a move", async () => {
  // New York springs forward on 2026-03-08 at 02:00: 08:00 EDT is 12:00Z (not 13:00Z).
  await using t = await setup({ start: "2026-03-07T20:00:00Z" });
  await t.client.ask(t.user, "updatePreferences", { timeZone: "America/New_York" });
  await t.send("hello");
  await t.advanceTo("2026-03-08T06:00:00Z"); // 01:00 EST, quiet
  await t.client.tell(t.user, "programStepDue", { programId: "p1", stepId: "s1", text: "Step 1" });
  const skip = await eventually(() => t.skipped()[0], { what: "deferral" });
  assert.equal(skip.reason, "quiet_hours");
  assert.equal(skip.retryAt, Date.parse("2026-03-08T12:00:00Z"));
  await t.advanceTo("2026-03-08T11:59:00Z");
  assert.equal(t.sent().length, 0);
  await t.advanceTo("2026-03-08T12:05:00Z");
  const sent = await eventually(() => t.sent()[0], { what: "the step after the night" });
  assert.equal(sent.trigger, "program_step");
  assert.equal(hourIn(sent.at, "America/New_York"), 8);

  // Moving to Tokyo: 13:00Z is 22:00 there (quiet), though 09:00 in New York.
  await t.advanceTo("2026-03-08T13:00:00Z");
  await t.client.ask(t.user, "updatePreferences", { timeZone: "Asia/Tokyo" });
  await t.client.tell(t.user, "programStepDue", { programId: "p1", stepId: "s2", text: "Step 2" });
  const skip2 = await eventually(() => t.skipped()[1], { what: "deferral in Tokyo" });
  assert.equal(skip2.reason, "quiet_hours");
  assert.equal(skip2.retryAt, Date.parse("2026-03-08T23:00:00Z")); // 08:00 in Tokyo
});

Deno.test("proactive - caps per local day and per rolling week", async () => {
  await using t = await setup({
    start: "2026-03-02T09:00:00Z",
    settings: { dailyCap: 2, weeklyCap: 3 },
  });
  await t.send("hello");
  await t.advanceTo("2026-03-02T10:00:00Z");
  for (const s of ["a", "b", "c"]) {
    await t.client.tell(t.user, "programStepDue", { programId: "p", stepId: s, text: s });
    await t.settle();
  }
  await eventually(() => t.sent().length === 2 && t.skipped().length === 1, { what: "caps" });
  assert.equal(t.skipped()[0].reason, "cap_daily");
  await t.advanceTo("2026-03-03T10:00:00Z");
  for (const s of ["d", "e"]) {
    await t.client.tell(t.user, "programStepDue", { programId: "p", stepId: s, text: s });
    await t.settle();
  }
  await eventually(() => t.sent().length === 3 && t.skipped().length === 2, { what: "week" });
  assert.equal(t.skipped()[1].reason, "cap_weekly");
  // Seven days after the first, the week has room again.
  await t.advanceTo("2026-03-09T10:30:00Z");
  await t.client.tell(t.user, "programStepDue", { programId: "p", stepId: "f", text: "f" });
  await eventually(() => t.sent().length === 4, { what: "room again" });
});

Deno.test("proactive - STOP stops at once, START resumes; the same through updatePreferences; outcomes", async () => {
  await using t = await setup({ start: "2026-03-02T09:00:00Z" });
  await t.send("hello");
  await t.advanceTo("2026-03-02T10:00:00Z");
  await t.client.tell(t.user, "programStepDue", { programId: "p", stepId: "1", text: "one" });
  await eventually(() => t.sent().length === 1, { what: "first" });
  // A reply within 24 h is the nudge's outcome.
  await t.advanceTo("2026-03-02T12:00:00Z");
  await t.send("thanks!");
  const replied = await eventually(() => t.node.eventsOn("nudge.outcome")[0], { what: "reply" });
  assert.equal(replied.outcome, "replied");
  assert.equal(replied.nudgeId, t.sent()[0].nudgeId);

  await t.advanceTo("2026-03-02T13:00:00Z");
  await t.client.tell(t.user, "programStepDue", { programId: "p", stepId: "2", text: "two" });
  await eventually(() => t.sent().length === 2, { what: "second" });
  await t.send({ type: "command", command: "stop", args: "" });
  const out = await eventually(() => t.node.eventsOn("nudge.outcome")[1], { what: "opt-out" });
  assert.equal(out.outcome, "opted_out");
  await t.advanceTo("2026-03-02T14:00:00Z");
  await t.client.tell(t.user, "programStepDue", { programId: "p", stepId: "3", text: "three" });
  await eventually(() => t.skipped().at(-1)?.reason === "opted_out", { what: "skipped" });
  // Nothing planned while opted out: days pass, no inactivity nudge.
  await t.advanceTo("2026-03-08T14:00:00Z");
  assert.equal(t.sent().length, 2);
  await t.send("START");
  await t.advanceTo("2026-03-08T15:00:00Z");
  await t.client.tell(t.user, "programStepDue", { programId: "p", stepId: "4", text: "four" });
  await eventually(() => t.sent().length === 3, { what: "after START" });

  await t.client.ask(t.user, "updatePreferences", { proactive: false });
  await t.client.tell(t.user, "programStepDue", { programId: "p", stepId: "5", text: "five" });
  await t.settle();
  await eventually(
    () => t.skipped().filter((s: { reason: string }) => s.reason === "opted_out").length === 2,
    { what: "pref off" },
  );
  await t.client.ask(t.user, "updatePreferences", { proactive: true });
  await t.client.tell(t.user, "programStepDue", { programId: "p", stepId: "6", text: "six" });
  await eventually(() => t.sent().length === 4, { what: "pref on" });
  assert.equal((await t.client.ask(t.user, "getPreferences")).proactive, true);
});

Deno.test("proactive - WhatsApp outside the window: a template within the monthly cap, else skipped", async () => {
  await using t = await setup({
    start: "2026-03-02T09:00:00Z",
    channel: "whatsapp",
    settings: { monthlyTemplateCap: 1 },
  });
  await t.send("hello");
  await t.advanceTo("2026-03-02T10:00:00Z");
  await t.client.tell(t.user, "programStepDue", { programId: "p", stepId: "1", text: "in" });
  const inside = await eventually(() => t.sent()[0], { what: "inside" });
  assert.equal(inside.kind, "text");
  // 23 h 50 min later the window is about to close: a template, to be safe.
  await t.advanceTo("2026-03-03T08:50:00Z");
  await t.client.tell(t.user, "programStepDue", { programId: "p", stepId: "2", text: "out" });
  const outside = await eventually(() => t.sent()[1], { what: "template" });
  assert.equal(outside.kind, "template");
  assert.deepEqual(await t.client.ask(proactiveAddress(t.creatorId), "usage"), { "2026-03": 1 });
  await t.advanceTo("2026-03-04T10:00:00Z");
  await t.client.tell(t.user, "programStepDue", { programId: "p", stepId: "3", text: "out2" });
  const capped = await eventually(() => t.skipped()[0], { what: "template cap" });
  assert.equal(capped.reason, "template_cap");
  // A creator who wants no templates: skipped outside the window.
  await t.client.ask(
    proactiveAddress(t.creatorId),
    "configure",
    ProactiveSettings.parse({ whatsappTemplates: false }),
  );
  await t.advanceTo("2026-03-04T17:00:00Z"); // the settings are fetched again
  await t.client.tell(t.user, "programStepDue", { programId: "p", stepId: "4", text: "out3" });
  await eventually(() => t.skipped()[1]?.reason === "whatsapp_outside_window", { what: "skip" });
  assert.equal(t.sent().length, 2);
});

Deno.test("proactive - no nudge while the conversation is live or with the creator", async () => {
  await using t = await setup({ start: "2026-03-02T09:00:00Z" });
  await t.send("hello");
  await t.advanceTo("2026-03-02T09:03:00Z");
  await t.client.tell(t.user, "programStepDue", { programId: "p", stepId: "1", text: "one" });
  const live = await eventually(() => t.skipped()[0], { what: "live" });
  assert.equal(live.reason, "live_conversation");
  assert.equal(live.retryAt, Date.parse("2026-03-02T09:10:00Z"));
  // The conversation goes to the creator before the retry.
  const state = await t.client.ask(t.user, "getProactive");
  assert.equal(state.step, 0);
  const { rows } = await t.db.pool.query(
    "select actor_id from rt_actor_state where actor_type = 'conversation'",
  );
  const conversationId = String(rows[0].actor_id).split(":")[1]!;
  await t.client.ask(conversationAddress(t.creatorId, conversationId), "get");
  await t.client.tell(
    // deno-lint-ignore no-explicit-any -- the stand-in's own control message
    conversationAddress(t.creatorId, conversationId) as any,
    "setHandoff",
    true,
  );
  await t.advanceTo("2026-03-02T09:15:00Z");
  const handoff = await eventually(() => t.skipped()[1], { what: "handoff" });
  assert.equal(handoff.reason, "handoff");
  assert.equal(t.sent().length, 0);
});
