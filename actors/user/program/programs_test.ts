import assert from "node:assert/strict";
import { eventually, sleep } from "../../../tests/harness.ts";
import type { FlowDefinition } from "../../contracts/program.ts";
import { PACE_MS } from "./engine.ts";
import { programEnv } from "../../../tests/user_env.ts";

const T0 = Date.parse("2026-03-02T08:00:00Z"); // a Monday
const HOUR = 3_600_000;
const BADGE = "7d4f3c2a-1b2c-4d5e-8f90-123456789abc";

/** Every step type once: a message, a choice question branching, a checkpoint, a badge, a wait. */
const EVERY_STEP: FlowDefinition = {
  start: "hello",
  steps: [
    { id: "hello", type: "message", text: "Welcome to Sleep basics!", next: "when" },
    {
      id: "when",
      type: "question",
      text: "When do you sleep worst?",
      variable: "worst_time",
      choices: ["Falling asleep", "Middle of the night"],
      next: "route",
    },
    {
      id: "route",
      type: "branch",
      cases: [{
        when: { variable: "worst_time", op: "eq", value: "Middle of the night" },
        next: "night",
      }],
      otherwise: "evening",
    },
    { id: "evening", type: "message", text: "Let's work on your evenings.", next: "done" },
    { id: "night", type: "message", text: "Let's work on the nights.", next: "done" },
    { id: "done", type: "checkpoint", name: "first-plan", next: "badge" },
    { id: "badge", type: "award_badge", badge_id: BADGE, next: "rest" },
    { id: "rest", type: "wait", hours: 24, next: "bye" },
    { id: "bye", type: "message", text: "How did the night go?" },
  ],
};

Deno.test("UserActor programs - every step type runs in order: message, question with a re-ask, branch, checkpoint, badge, wait", async () => {
  await using t = await programEnv(T0);
  const programId = crypto.randomUUID();
  // The person wrote before: the program reaches them on that identity.
  await t.send({ type: "text", text: "hello" });
  assert.deepEqual(await t.enroll(programId, EVERY_STEP), { status: "enrolled" });
  assert.deepEqual(await t.programTexts(1), ["Welcome to Sleep basics!"]);
  // The question comes after the pause between two messages, with a button per choice.
  await sleep(100);
  assert.equal(t.texts().length, 1);
  t.clock.advance(PACE_MS);
  await t.programTexts(2);
  const question = t.sent().filter((d) => d.purpose === "program")[1]!;
  assert.equal(question.text, "When do you sleep worst?");
  assert.equal(question.identityId, t.identityId);
  assert.deepEqual(question.quickReplies?.map((q) => q.label), [
    "Falling asleep",
    "Middle of the night",
  ]);

  // Nonsense is asked again once, with a hint.
  await t.send({ type: "text", text: "pizza" });
  const again = (await t.programTexts(3))[2]!;
  assert.match(again, /pick one of the options[\s\S]*When do you sleep worst\?/);
  // The button's payload answers it.
  await t.send({
    type: "button",
    payload: question.quickReplies![1]!.payload,
    text: "Middle of the night",
  });
  assert.equal((await t.programTexts(4))[3], "Let's work on the nights.");
  // The answer is in the profile; the checkpoint and the badge ran without a message.
  assert.equal(
    (await t.client.ask(t.user, "getProfile")).preferences.worst_time,
    "Middle of the night",
  );
  // And the profile's embedding follows it.
  const put = await eventually(() => t.node.eventsOn("index.profiles.put").at(-1));
  assert.match(put.text, /worst_time: Middle of the night/);
  const p = await eventually(async () => {
    t.clock.advance(PACE_MS);
    const p = await t.progress(programId);
    return p.currentStep === "rest" ? p : null;
  });
  assert.deepEqual(p.answers, { worst_time: "Middle of the night" });
  assert.deepEqual(p.checkpoints, ["first-plan"]);
  const checks = t.node.eventsOn("badge.check").filter((c) => c.award === BADGE);
  assert.equal(checks.length, 1);
  // The wait: nothing before 24 h, the last message after.
  t.clock.advance(20 * HOUR);
  await sleep(200);
  assert.equal(t.texts().length, 4);
  t.clock.advance(4 * HOUR);
  assert.equal((await t.programTexts(5))[4], "How did the night go?");
  const done = await eventually(async () => {
    const p = await t.progress(programId);
    return p.status === "completed" ? p : null;
  });
  assert.equal(done.currentStep, null);
  const steps = t.node.eventsOn("program.step").map((e) => `${e.stepId}:${e.outcome}`);
  assert.deepEqual(steps, [
    "hello:sent",
    "when:asked",
    "when:reasked",
    "when:answered",
    "route:branched",
    "night:sent",
    "done:reached",
    "badge:awarded",
    "rest:waiting",
    "bye:sent",
  ]);
  const completed = await eventually(() => t.node.eventsOn("program.completed")[0]);
  assert.equal(completed.programId, programId);
  assert.equal(completed.progress.status, "completed");
  // Nothing of it reached the conversation but the first hello.
  assert.equal(t.texts("answer").length, 0);
});

Deno.test("UserActor programs - a second nonsense answer moves on and goes to the coach; a timeout moves on too", async () => {
  await using t = await programEnv(T0);
  const programId = crypto.randomUUID();
  await t.enroll(programId, {
    start: "hours",
    steps: [
      {
        id: "hours",
        type: "question",
        text: "How many hours do you sleep?",
        variable: "sleep_hours",
        expect: "number",
        min: 0,
        max: 24,
        next: "mood",
      },
      {
        id: "mood",
        type: "question",
        text: "How rested do you feel, 1 to 5?",
        variable: "rested",
        expect: "scale",
        timeout_hours: 12,
        next: "end",
      },
      { id: "end", type: "message", text: "Thanks!" },
    ],
  });
  await t.programTexts(1);
  await t.send({ type: "text", text: "lots" });
  await t.programTexts(2);
  await t.send({ type: "text", text: "what is a good bedtime?" });
  // Asked twice: the program goes on and the coach gets the question.
  assert.equal((await t.programTexts(3))[2], "How rested do you feel, 1 to 5?");
  const p = await t.progress(programId);
  assert.deepEqual(p.answers, {});
  // The scale's question times out after 12 h without an answer.
  t.clock.advance(12 * HOUR);
  assert.equal((await t.programTexts(4))[3], "Thanks!");
  const outcomes = t.node.eventsOn("program.step").map((e) => `${e.stepId}:${e.outcome}`);
  assert.deepEqual(outcomes.slice(0, 3), ["hours:asked", "hours:reasked", "hours:unanswered"]);
  assert.ok(outcomes.includes("mood:timed_out"));
});

Deno.test("UserActor programs - a version published mid-program does not change the run: the person finishes the version they started", async () => {
  await using t = await programEnv(T0);
  const programId = crypto.randomUUID();
  const v1: FlowDefinition = {
    start: "a",
    steps: [
      { id: "a", type: "message", text: "v1: day one", next: "w" },
      { id: "w", type: "wait", hours: 24, next: "b" },
      { id: "b", type: "message", text: "v1: day two" },
    ],
  };
  const v2: FlowDefinition = {
    start: "x",
    steps: [{ id: "x", type: "message", text: "v2: a new start" }],
  };
  await t.enroll(programId, v1);
  await t.programTexts(1);
  t.clock.advance(PACE_MS);
  await eventually(async () => (await t.progress(programId)).currentStep === "w");
  // Published while they wait: the actor notes it, and a creator's enrolment keeps the run.
  await t.client.ask(t.user, "programPublished", { programId, version: 2 });
  assert.deepEqual(await t.enroll(programId, v2, { version: 2 }), { status: "already_enrolled" });
  t.clock.advance(24 * HOUR);
  assert.deepEqual(await t.programTexts(2), ["v1: day one", "v1: day two"]);
  const done = await eventually(async () => {
    const p = await t.progress(programId);
    return p.status === "completed" ? p : null;
  });
  assert.equal(done.version, 1);
  assert.ok(t.node.eventsOn("program.step").every((e) => e.version === 1));
  // Once finished, an enrolment starts the newest version.
  assert.deepEqual(await t.enroll(programId, v2, { version: 2 }), { status: "enrolled" });
  assert.equal((await t.programTexts(3))[2], "v2: a new start");
  assert.equal((await t.progress(programId)).version, 2);
});

Deno.test("UserActor programs - 'next Monday 09:00' waits until 09:00 in the person's zone across a daylight-saving change", async () => {
  // Friday 2026-03-27 20:00 in Paris; the clocks go forward on Sunday the 29th.
  await using t = await programEnv(Date.parse("2026-03-27T19:00:00Z"));
  await t.client.ask(t.user, "updatePreferences", { timeZone: "Europe/Paris" });
  const programId = crypto.randomUUID();
  await t.enroll(programId, {
    start: "w",
    steps: [
      { id: "w", type: "wait", weekday: "monday", at: "09:00", next: "m" },
      { id: "m", type: "message", text: "Good morning, new week!" },
    ],
  });
  const waiting = await eventually(() => t.node.eventsOn("program.step")[0]);
  // Monday 09:00 CEST is 07:00 UTC (the winter offset would make it 08:00).
  assert.equal(new Date(waiting.until).toISOString(), "2026-03-30T07:00:00.000Z");
  t.clock.advance(Date.parse("2026-03-30T06:59:00Z") - t.clock.now());
  await sleep(300);
  assert.equal(t.texts().length, 0);
  t.clock.advance(60_000);
  assert.deepEqual(await t.programTexts(1), ["Good morning, new week!"]);
});

Deno.test("UserActor programs - pause keeps the wait's remaining time, resume goes on, skip, restart and unenrol", async () => {
  await using t = await programEnv(T0);
  const programId = crypto.randomUUID();
  await t.enroll(programId, {
    start: "a",
    steps: [
      { id: "a", type: "message", text: "one", next: "w" },
      { id: "w", type: "wait", hours: 10, next: "b" },
      { id: "b", type: "message", text: "two", next: "q" },
      { id: "q", type: "question", text: "Ready?", variable: "ready", next: "c" },
      { id: "c", type: "message", text: "three" },
    ],
  });
  await t.programTexts(1);
  t.clock.advance(PACE_MS);
  await eventually(async () => (await t.progress(programId)).currentStep === "w");
  t.clock.advance(4 * HOUR);
  // The person pauses: the wait does not end while paused.
  await t.send({ type: "command", command: "pause", args: "" });
  await eventually(async () => (await t.progress(programId)).status === "paused");
  t.clock.advance(20 * HOUR);
  await sleep(300);
  assert.deepEqual(t.texts(), ["one"]);
  assert.match(t.texts("notice")[0]!, /paused/);
  // Resumed, the remaining 6 hours of the wait follow.
  await t.send({ type: "command", command: "resume", args: "" });
  await eventually(async () => (await t.progress(programId)).status === "active");
  t.clock.advance(5 * HOUR);
  await sleep(300);
  assert.deepEqual(t.texts(), ["one"]);
  t.clock.advance(HOUR);
  await t.programTexts(2);
  t.clock.advance(PACE_MS);
  await t.programTexts(3);
  // "skip" passes the question without an answer.
  await t.send({ type: "text", text: "skip" });
  assert.equal((await t.programTexts(4))[3], "three");
  await eventually(async () => (await t.progress(programId)).status === "completed");
  assert.deepEqual((await t.progress(programId)).answers, {});
  // Restart begins again from the first step.
  const restarted = await t.client.ask(t.user, "programControl", { programId, action: "restart" });
  assert.deepEqual(restarted, { status: "active", programId });
  assert.equal((await t.programTexts(5))[4], "one");
  // Unenrol stops it: its wait's reminder is gone.
  t.clock.advance(PACE_MS);
  await eventually(async () => (await t.progress(programId)).currentStep === "w");
  await t.send({ type: "command", command: "unenroll", args: "" });
  await eventually(async () => (await t.progress(programId)).status === "unenrolled");
  t.clock.advance(11 * HOUR);
  await sleep(300);
  assert.equal(t.texts().length, 5);
  const { rows } = await t.db.pool.query(
    "select name from rt_reminders where actor_type = 'user' and actor_id = $1",
    [t.user.id],
  );
  assert.deepEqual(rows.filter((r) => r.name.startsWith("program:")), []);
  const changes = t.node.eventsOn("program.status").map((e) => e.change);
  assert.deepEqual(changes, ["enrolled", "paused", "resumed", "restarted", "unenrolled"]);
});

Deno.test("UserActor programs - 'start <program>' and its button ask the catalog, an unknown name gets a notice, a stale choice button is dropped", async () => {
  await using t = await programEnv(T0);
  await t.send({ type: "text", text: "STOP" });
  await t.send({ type: "command", command: "start", args: "sleep-basics" });
  await t.send({ type: "text", text: "start Sleep basics" });
  await t.send({
    type: "button",
    payload: "program:start:11111111-2222-4333-8444-555555555555",
    text: "Start",
  });
  const requests = await eventually(() => {
    const r = t.node.eventsOn("program.enroll_requested");
    return r.length === 3 ? r : null;
  });
  // A deep link's /start opts back in, as a bare /start does.
  assert.equal((await t.client.ask(t.user, "getPreferences")).proactive, true);
  assert.deepEqual(requests.map((r) => r.query), [
    "sleep-basics",
    "Sleep basics",
    "11111111-2222-4333-8444-555555555555",
  ]);
  assert.equal(requests[0].identityId, t.identityId);
  await t.client.tell(t.user, "programNotFound", { query: "Sleep basics" });
  await eventually(() => t.texts("notice").length === 2);
  // The first notice answers STOP.
  assert.match(t.texts("notice")[1]!, /couldn't find a program called "Sleep basics"/);
  // An old choice button, pressed when no question waits, is not a question for the coach.
  await t.send({ type: "button", payload: "a:when:1", text: "Middle of the night" });
  await t.send({ type: "text", text: "What time should I go to bed?" });
  const told = await eventually(async () => {
    const { rows } = await t.db.pool.query(
      "select state from rt_actor_state where actor_type = 'conversation'",
    );
    return rows.length ? rows[0].state.got : null;
  });
  // Only the real question reached the conversation.
  assert.deepEqual(told.map((m: { text: string }) => m.text), ["What time should I go to bed?"]);
});

Deno.test("UserActor programs - a step due in the person's quiet hours waits for their end, unless the person is writing right now", async () => {
  const night = Date.parse("2026-03-02T20:00:00Z");
  await using t = await programEnv(night);
  await t.send({ type: "text", text: "hello" });
  // Asked after the message, so answered once the message was taken in at 20:00.
  await t.client.ask(t.user, "getProfile");
  // 22:00 in the person's zone (UTC by default), two hours after they last wrote: quiet hours.
  t.clock.advance(2 * HOUR);
  const programId = crypto.randomUUID();
  const flow: FlowDefinition = {
    start: "hi",
    steps: [{ id: "hi", type: "message", text: "Tonight's tip: dim the lights." }],
  };
  assert.deepEqual(await t.enroll(programId, flow), { status: "enrolled" });
  await sleep(300);
  assert.deepEqual(t.sent().filter((d) => d.purpose === "program"), []);
  // At 08:00 the held step goes out, once.
  t.clock.advance(10 * HOUR);
  assert.deepEqual(await t.programTexts(1), ["Tonight's tip: dim the lights."]);
  await sleep(300);
  assert.equal(t.sent().filter((d) => d.purpose === "program").length, 1);

  // At 23:00 with the person writing, a new program's message answers at once.
  t.clock.advance(15 * HOUR);
  await t.send({ type: "text", text: "still up" });
  assert.deepEqual(await t.enroll(crypto.randomUUID(), flow), { status: "enrolled" });
  assert.equal((await t.programTexts(2)).length, 2);
});
