import assert from "node:assert/strict";
import { EVENT_FAMILIES, EVENTS, PROJECTED_EVENTS } from "../analytics/mod.ts";
import { formattedEventsDoc } from "../analytics/events/doc.ts";
import { CONVERSATION_EVENTS, DELIVERY_SUBJECT } from "../actors/mod.ts";
import { indexSubject } from "../knowledge/mod.ts";
import { STATUS_SUBJECT } from "../channels/core/statuses.ts";
import { topicOf } from "../analytics/projections/topic.ts";

Deno.test("docs/events.md is what `deno task events-doc` generates from the catalog", async () => {
  const committed = await Deno.readTextFile(new URL("../docs/events.md", import.meta.url));
  assert.equal(committed, await formattedEventsDoc(), "run `deno task events-doc`");
});

Deno.test("EVENTS - every subject emitted today is in the catalog, keyed by its name", () => {
  for (
    const s of [
      CONVERSATION_EVENTS.message,
      CONVERSATION_EVENTS.status,
      DELIVERY_SUBJECT,
      STATUS_SUBJECT,
      indexSubject("memories", "put"),
      indexSubject("memories", "erase"),
      indexSubject("profiles", "put"),
      indexSubject("profiles", "erase"),
      "program.status",
      "badge.check",
      "achievement.reached",
      "user.insights",
      "program.enroll_requested",
    ]
  ) assert.ok(s in EVENTS, s);
  for (const [key, def] of Object.entries(EVENTS)) {
    assert.equal(def.name, key);
    assert.ok(def.version >= 1);
  }
  for (const f of EVENT_FAMILIES) {
    assert.ok(Object.values(EVENTS).some((d) => d.family === f), f);
  }
  for (
    const s of [
      "program.step",
      "program.completed",
      "badge.awarded",
      "nudge.sent",
      "nudge.skipped",
      "nudge.outcome",
      "subscription.changed",
      "webhook.received",
    ]
  ) assert.ok(PROJECTED_EVENTS.includes(s), s);
});

Deno.test("EVENTS - schemas accept a well-formed body and name the field of a bad one", () => {
  const ok = EVENTS["nudge.sent"].schema.safeParse({
    creatorId: crypto.randomUUID(),
    endUserId: crypto.randomUUID(),
    nudgeId: crypto.randomUUID(),
    trigger: "inactivity",
    channel: "telegram",
    identityId: crypto.randomUUID(),
    kind: "text",
    deliveryId: crypto.randomUUID(),
    localHour: 9,
    usualHour: 9,
    at: 1,
  });
  assert.ok(ok.success, JSON.stringify(ok.error?.issues));
  const bad = EVENTS["program.step"].schema.safeParse({
    creatorId: crypto.randomUUID(),
    endUserId: crypto.randomUUID(),
    programId: crypto.randomUUID(),
    version: 1,
    seq: 1,
    stepId: "s",
    stepType: "message",
    at: 1,
  });
  assert.ok(!bad.success);
  assert.deepEqual(bad.error.issues.map((i) => i.path.join(".")), ["outcome"]);
});

Deno.test("topicOf() keeps one content word of a question", () => {
  assert.equal(topicOf("How do I treat shin splints?"), "splint");
  assert.equal(topicOf("Shin splints after running"), "splint");
  assert.equal(topicOf("what about calories"), "calorie");
  assert.equal(topicOf("hi, thanks!"), "other");
});
