/**
 * The event catalog describes what the actors really emit: a UserActor runs a program (messages,
 * a checkpoint, a badge) on a test node, and every event it publishes has a catalog entry whose
 * schema accepts it, and the projection keeps the funnel and the badge from them.
 */
import assert from "node:assert/strict";
import { eventually } from "./harness.ts";
import { programEnv } from "./user_env.ts";
import { eventDefinition } from "../analytics/mod.ts";
import type { FlowDefinition } from "../actors/contracts/program.ts";
import { PACE_MS } from "../actors/user/program/engine.ts";

const T0 = Date.parse("2026-03-02T08:00:00Z");
const BADGE = "7d4f3c2a-1b2c-4d5e-8f90-123456789abc";
const FLOW: FlowDefinition = {
  start: "hello",
  steps: [
    { id: "hello", type: "message", text: "Welcome!", next: "done" },
    { id: "done", type: "checkpoint", name: "first-plan", next: "badge" },
    { id: "badge", type: "award_badge", badge_id: BADGE, next: "bye" },
    { id: "bye", type: "message", text: "See you tomorrow." },
  ],
};

Deno.test("EVENTS - every event a UserActor emits running a program matches its catalog schema", async () => {
  await using t = await programEnv(T0);
  await t.send({ type: "text", text: "hello" });
  assert.deepEqual(await t.enroll(crypto.randomUUID(), FLOW), { status: "enrolled" });
  await t.programTexts(1);
  t.clock.advance(PACE_MS);
  await eventually(() => t.node.eventsOn("program.completed")[0], { what: "completion" });
  const subjects = new Set(t.node.events.map((e) => e.subject));
  for (const s of ["program.status", "program.step", "program.completed", "delivery.requested"]) {
    assert.ok(subjects.has(s), `${s} emitted (saw ${[...subjects].join(", ")})`);
  }
  for (const e of t.node.events) {
    const def = eventDefinition(e.subject);
    assert.ok(def, `${e.subject} is in the catalog`);
    const r = def.schema.safeParse(e.data);
    assert.ok(r.success, `${e.subject}: ${JSON.stringify(r.error?.issues)}`);
  }
});
