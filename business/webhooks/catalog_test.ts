import assert from "node:assert/strict";
import { SOURCE_SUBJECTS, WEBHOOK_EVENT_TYPES, webhookEventOf } from "./catalog.ts";

const creatorId = "6f1c2d3e-4b5a-4c7d-8e9f-0a1b2c3d4e5f";
const endUserId = "7f1c2d3e-4b5a-4c7d-8e9f-0a1b2c3d4e5f";

Deno.test("webhookEventOf() maps the stream's events to webhook event types, and only those", () => {
  assert.equal(
    webhookEventOf("conversation.status", "e1", { creatorId, endUserId, status: "handoff" })?.type,
    "handoff.requested",
  );
  assert.equal(
    webhookEventOf("conversation.status", "e2", { creatorId, endUserId, status: "open" }),
    undefined,
  );
  assert.equal(
    webhookEventOf("conversation.message", "e3", { creatorId, endUserId, role: "user", text: "hi" })
      ?.data.text,
    "hi",
  );
  assert.equal(
    webhookEventOf("conversation.message", "e4", { creatorId, role: "assistant" }),
    undefined,
  );
  assert.equal(
    webhookEventOf("badge.awarded", "e5", { creatorId, endUserId, badgeId: "b" })?.type,
    "badge.earned",
  );
  assert.equal(
    webhookEventOf("channel.status", "e6", { creatorId, status: "failed" })?.type,
    "delivery.failed",
  );
  assert.equal(webhookEventOf("channel.status", "e7", { creatorId, status: "read" }), undefined);
  assert.equal(webhookEventOf("profiles.put", "e8", { creatorId }), undefined);
  assert.equal(webhookEventOf("program.completed", "e9", { notACreator: 1 }), undefined);
  const e = webhookEventOf("program.completed", "e10", {
    creatorId,
    endUserId,
    programId: "p",
    at: 5,
  });
  assert.deepEqual(e, {
    id: "e10",
    type: "program.completed",
    creatorId,
    at: 5,
    data: { end_user_id: endUserId, program_id: "p" },
  });
  // Every subscribable type comes from some subject.
  const produced = new Set(
    SOURCE_SUBJECTS.map((s) =>
      webhookEventOf(s, "x", {
        creatorId,
        status: s === "channel.status" ? "failed" : "handoff",
        role: "user",
      })?.type
    ),
  );
  for (const t of WEBHOOK_EVENT_TYPES) assert.ok(produced.has(t), t);
});
