import assert from "node:assert/strict";
import type { FlowDefinition } from "../../contracts/program.ts";
import { holds } from "./conditions.ts";
import type { Enrollment } from "./state.ts";

const flow: FlowDefinition = { start: "a", steps: [{ id: "a", type: "message", text: "x" }] };
const enrollment: Enrollment = {
  programId: crypto.randomUUID(),
  name: "P",
  version: 1,
  flow,
  status: "active",
  step: "a",
  waiting: null,
  answers: { sleep_hours: 6, goal: "Sleep better" },
  checkpoints: ["week-1"],
  seq: 1,
  rev: 1,
  enrolledBy: "creator",
  startedAt: 0,
  updatedAt: 0,
  completedAt: null,
  pausedRemainingMs: null,
};
const facts = {
  enrollment,
  profile: {
    name: "Ada",
    goals: ["run a 10k"],
    preferences: { tone: "warm" },
    language: "fr",
    topics: [],
  },
  metrics: { streak_days: 4, messages_sent: 12 },
};

Deno.test("holds() - branches read answers, the profile, preferences and progress metrics", () => {
  assert.equal(holds({ variable: "sleep_hours", op: "lt", value: 7 }, facts), true);
  assert.equal(holds({ variable: "goal", op: "contains", value: "sleep" }, facts), true);
  assert.equal(holds({ variable: "goal", op: "eq", value: "sleep better" }, facts), true);
  assert.equal(holds({ variable: "profile.language", op: "eq", value: "fr" }, facts), true);
  assert.equal(
    holds({ variable: "profile.goals", op: "contains", value: "run a 10k" }, facts),
    true,
  );
  assert.equal(holds({ variable: "tone", op: "eq", value: "warm" }, facts), true);
  assert.equal(holds({ variable: "streak_days", op: "gte", value: 4 }, facts), true);
  assert.equal(holds({ variable: "messages_sent", op: "gt", value: 20 }, facts), false);
  assert.equal(holds({ variable: "checkpoints", op: "contains", value: "week-1" }, facts), true);
  assert.equal(holds({ variable: "mood", op: "answered" }, facts), false);
  assert.equal(holds({ variable: "mood", op: "neq", value: "x" }, facts), true);
  assert.equal(holds({ variable: "goal", op: "gt", value: 3 }, facts), false);
});
