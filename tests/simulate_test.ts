/**
 * A small run of the proactive simulation (bench/simulate/): real UserActors, Postgres, NATS,
 * the delivery worker and the providers' fakes under a ManualClock, over days that include the
 * US daylight-saving change. The independent checker must find no violation, and nudges must
 * actually have gone out and been recorded.
 */
import assert from "node:assert/strict";
import { runSimulation } from "../bench/simulate/run.ts";

Deno.test("simulate - 30 people over 5 days across a daylight-saving change: nudges go out, no guard is ever violated", async () => {
  const r = await runSimulation({ users: 30, days: 5, seed: 3, start: "2026-03-06T00:00:00Z" });
  assert.deepEqual(r.violations, {
    quiet_hours: 0,
    caps: 0,
    after_opt_out: 0,
    whatsapp_freeform_outside_window: 0,
    duplicate_badge: 0,
  }, r.violation_examples.join("\n"));
  assert.ok(r.nudges_sent > 0, "some nudges were sent");
  // Every nudge the engine recorded as sent arrived at a fake, and nothing else did.
  assert.equal(r.arrived_at_fakes, r.nudges_sent);
  assert.ok(r.messages_in > 30, "people wrote");
  assert.ok((r.by_trigger.inactivity ?? 0) > 0, "inactivity nudges");
});
