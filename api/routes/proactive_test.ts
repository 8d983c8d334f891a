import assert from "node:assert/strict";
import { mailbox, seedEndUser, testApi } from "../../tests/api_harness.ts";
import { proactiveAddress } from "../../actors/user/proactive/budget_actor.ts";
import {
  applyNudgeOutcome,
  applyNudgeSent,
  applyNudgeSkipped,
} from "../../channels/core/nudge_records.ts";

Deno.test("proactive settings - defaults, PUT merges and validates by field, the creator's proactive actor is told", async () => {
  await using t = await testApi();
  const { token, creatorId } = await t.signup();
  const initial = await (await t.call("GET", "/proactive-settings", { token })).json();
  assert.equal(initial.inactivityDays, 3);
  assert.equal(initial.dailyCap, 2);

  const put = await t.call("PUT", "/proactive-settings", {
    token,
    json: { inactivityDays: 5, monthlyTemplateCap: 40, defaultTimeZone: "Europe/Berlin" },
  });
  assert.equal(put.status, 200, await put.clone().text());
  const saved = await put.json();
  assert.equal(saved.inactivityDays, 5);
  assert.equal(saved.weeklyCap, 5);
  const again = await t.call("PUT", "/proactive-settings", { token, json: { dailyCap: 1 } });
  assert.equal((await again.json()).inactivityDays, 5, "absent fields keep their value");
  const read = await (await t.call("GET", "/proactive-settings", { token })).json();
  assert.equal(read.dailyCap, 1);
  assert.equal(read.defaultTimeZone, "Europe/Berlin");

  const bad = await t.call("PUT", "/proactive-settings", {
    token,
    json: { dailyCap: -1, defaultTimeZone: "Mars/Olympus" },
  });
  assert.equal(bad.status, 422);
  const problem = await bad.json();
  assert.deepEqual(problem.errors.map((e: { field: string }) => e.field).sort(), [
    "body.dailyCap",
    "body.defaultTimeZone",
  ]);
  const unknown = await t.call("PUT", "/proactive-settings", { token, json: { nope: 1 } });
  assert.equal(unknown.status, 422);

  const told = await mailbox(t, proactiveAddress(creatorId));
  assert.deepEqual(told.map((m) => m.k), ["configure", "configure"]);
  assert.equal((told[1]!.d as { dailyCap: number }).dailyCap, 1);
  assert.equal((told[1]!.d as { inactivityDays: number }).inactivityDays, 5);
});

Deno.test("nudges - the projection records sent, skipped and outcomes once; each creator sees only theirs", async () => {
  await using t = await testApi();
  const a = await t.signup("a@example.test");
  const b = await t.signup("b@example.test");
  const { endUserId } = await seedEndUser(t, a.creatorId);
  const nudgeId = crypto.randomUUID();
  const at = Date.parse("2026-03-21T17:00:00Z");
  const sent = {
    nudgeId,
    creatorId: a.creatorId,
    endUserId,
    trigger: "inactivity" as const,
    step: 0,
    at,
    channel: "telegram",
    identityId: crypto.randomUUID(),
    kind: "text" as const,
    deliveryId: crypto.randomUUID(),
    localHour: 18,
    usualHour: 18,
  };
  await applyNudgeSent(t.db.pool, sent);
  await applyNudgeSent(t.db.pool, sent); // redelivered
  await applyNudgeSkipped(t.db.pool, {
    nudgeId: crypto.randomUUID(),
    creatorId: a.creatorId,
    endUserId,
    trigger: "streak_at_risk",
    at: at + 1000,
    reason: "quiet_hours",
    retryAt: at + 3600_000,
  });
  await assert.rejects(
    applyNudgeOutcome(t.db.pool, {
      nudgeId: crypto.randomUUID(),
      creatorId: a.creatorId,
      endUserId,
      outcome: "replied",
      at,
    }),
    /not recorded yet/,
  );
  const outcome = {
    nudgeId,
    creatorId: a.creatorId,
    endUserId,
    outcome: "replied" as const,
    at: at + 600_000,
  };
  await applyNudgeOutcome(t.db.pool, outcome);
  await applyNudgeOutcome(t.db.pool, { ...outcome, at: at + 900_000 });

  const page = await (await t.call("GET", "/nudges", { token: a.token })).json();
  assert.equal(page.data.length, 2);
  const [skip, nudge] = page.data;
  assert.equal(skip.status, "skipped");
  assert.equal(skip.reason, "quiet_hours");
  assert.equal(nudge.status, "sent");
  assert.equal(nudge.replied_at, new Date(at + 600_000).toISOString());
  assert.equal(nudge.local_hour, 18);
  const onlySkipped = await (await t.call("GET", "/nudges?status=skipped", { token: a.token }))
    .json();
  assert.equal(onlySkipped.data.length, 1);
  const other = await (await t.call("GET", "/nudges", { token: b.token })).json();
  assert.equal(other.data.length, 0);
});
