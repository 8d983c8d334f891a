import assert from "node:assert/strict";
import { eventually } from "../../../tests/harness.ts";
import { programEnv } from "../../../tests/user_env.ts";
import { emptyGamification } from "../badges/progress.ts";
import { emptyProgramsState } from "../program/state.ts";
import { detectLanguage } from "./language.ts";
import { activeHours, noteActiveHour, usualActiveHour } from "./rhythm.ts";
import { dropOffRisk } from "./risk.ts";
import { noteSentiment, sentimentOf, sentimentTrend } from "./sentiment.ts";
import { emptyProfiling } from "./state.ts";

const DAY = 86_400_000;

Deno.test("detectLanguage() - French, Spanish and English in BCP 47; too short to tell is nothing", () => {
  assert.equal(detectLanguage("Bonjour, je voudrais mieux dormir la nuit, comment faire ?"), "fr");
  assert.equal(
    detectLanguage(
      "Hola, me despierto muchas veces durante la noche y por la mañana estoy muy cansada. ¿Qué me recomiendas?",
    ),
    "es",
  );
  assert.equal(detectLanguage("I would like to sleep better at night, what should I do?"), "en");
  assert.equal(detectLanguage("ok merci"), undefined);
});

Deno.test("sentimentOf() and its trend - praise is positive, complaints negative, a falling mood shows", () => {
  assert.ok(sentimentOf("This is great, I love it, thank you!") > 0.3);
  assert.ok(sentimentOf("This is awful, I hate it and feel terrible") < -0.3);
  const s = { average: 0, recent: [] as number[], samples: 0 };
  for (const t of ["great!", "love it", "good", "this is bad", "awful", "I hate this"]) {
    noteSentiment(s, sentimentOf(t));
  }
  assert.equal(sentimentTrend(s.recent), "falling");
  assert.ok(s.average < s.recent[0]!, "the average follows the mood down");
});

Deno.test("usualActiveHour() - the local hour most messages come at; null while too little is known", () => {
  const p = emptyProfiling();
  const state = { profiling: p, preferences: { timeZone: "Asia/Tokyo" } };
  // 22:10 UTC is 07:10 in Tokyo.
  noteActiveHour(p, Date.parse("2026-05-01T22:10:00Z"), "Asia/Tokyo");
  assert.equal(usualActiveHour(state), null);
  for (let d = 2; d <= 6; d++) {
    noteActiveHour(p, Date.parse(`2026-05-0${d}T22:10:00Z`), "Asia/Tokyo");
  }
  noteActiveHour(p, Date.parse("2026-05-07T12:00:00Z"), "Asia/Tokyo"); // 21:00 once
  assert.equal(usualActiveHour(state), 7);
  assert.deepEqual(activeHours(state, 0.8), [7]);
});

Deno.test("dropOffRisk() - explained: days away, a negative mood and a paused program add up", () => {
  const now = Date.parse("2026-05-20T12:00:00Z");
  const gamification = { ...emptyGamification(), lastMessageAt: now - 8 * DAY, longestStreak: 4 };
  const profiling = emptyProfiling();
  profiling.sentiment = { average: -0.4, recent: [-0.4, -0.5, -0.3], samples: 3 };
  const quiet = dropOffRisk({ gamification, profiling, programRuns: emptyProgramsState() }, now);
  assert.deepEqual(quiet.reasons.map((r) => r.reason), [
    "inactive for 8 days",
    "mostly negative messages",
    "streak of 4 days broken",
  ]);
  assert.equal(quiet.score, 75);
  assert.equal(quiet.level, "high");
  const fresh = dropOffRisk({
    gamification: { ...emptyGamification(), lastMessageAt: now - 3600_000 },
    profiling: emptyProfiling(),
    programRuns: emptyProgramsState(),
  }, now);
  assert.deepEqual(fresh, { score: 0, level: "low", reasons: [] });
});

Deno.test("UserActor profiling - language from two messages, the active hour in the person's zone, and a daily report while away", async () => {
  const T0 = Date.parse("2026-05-04T22:05:00Z"); // 07:05 in Tokyo
  await using t = await programEnv(T0);
  await t.client.ask(t.user, "updatePreferences", { timeZone: "Asia/Tokyo" });
  const texts = [
    "Bonjour, je me réveille souvent la nuit et je suis fatiguée le matin.",
    "Merci beaucoup, c'est vraiment gentil et très utile pour moi !",
    "Je voudrais savoir quand arrêter le café pour bien dormir ce soir.",
  ];
  for (const [i, text] of texts.entries()) {
    await t.send({ type: "text", text });
    await eventually(async () =>
      (await t.client.ask(t.user, "getBadges")).metrics.messages_sent === i + 1
    );
    t.clock.advance(DAY);
  }
  const insights = await t.client.ask(t.user, "getInsights");
  assert.equal(insights.language, "fr");
  assert.equal((await t.client.ask(t.user, "getProfile")).language, "fr");
  // deno-lint-ignore no-explicit-any
  const rhythm = insights.rhythm as any;
  assert.equal(rhythm.usualHour, 7);
  // deno-lint-ignore no-explicit-any
  assert.equal((insights.risk as any).level, "low");
  // Away for a week: the daily reminder reports the growing risk with its reason.
  for (let d = 0; d < 8; d++) {
    t.clock.advance(DAY);
    await eventually(() => t.node.eventsOn("user.insights").some((e) => e.at === t.clock.now()));
  }
  const last = t.node.eventsOn("user.insights").at(-1);
  assert.equal(last.insights.risk.level, "medium");
  assert.deepEqual(last.insights.risk.reasons.map((r: { reason: string }) => r.reason), [
    "inactive for 9 days",
  ]);
});
