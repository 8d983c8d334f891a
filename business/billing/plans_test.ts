import assert from "node:assert/strict";
import { type BillingState, effectivePlan, LIMIT_NAMES, PLAN_IDS, PLANS } from "./plans.ts";

const now = new Date("2026-06-15T12:00:00Z");
const later = new Date("2026-07-01T00:00:00Z");
const earlier = new Date("2026-06-01T00:00:00Z");
const sub = (s: Partial<BillingState>): BillingState => ({
  plan: "pro",
  status: "active",
  currentPeriodEnd: later,
  cancelAtPeriodEnd: false,
  graceUntil: null,
  ...s,
});

Deno.test("effectivePlan() is the paid plan only while the subscription entitles to it", () => {
  assert.equal(effectivePlan(undefined, now), "free");
  assert.equal(effectivePlan(sub({}), now), "pro");
  assert.equal(effectivePlan(sub({ status: "trialing", plan: "business" }), now), "business");
  assert.equal(effectivePlan(sub({ status: "canceled" }), now), "free");
  assert.equal(effectivePlan(sub({ status: "incomplete" }), now), "free");
  assert.equal(effectivePlan(sub({ plan: "gold" }), now), "free");
  // Grace after a failed payment.
  assert.equal(effectivePlan(sub({ status: "past_due", graceUntil: later }), now), "pro");
  assert.equal(effectivePlan(sub({ status: "past_due", graceUntil: earlier }), now), "free");
  assert.equal(effectivePlan(sub({ status: "unpaid", graceUntil: null }), now), "free");
  // Cancelled at period end: until then, not after.
  assert.equal(effectivePlan(sub({ cancelAtPeriodEnd: true }), now), "pro");
  assert.equal(
    effectivePlan(sub({ cancelAtPeriodEnd: true, currentPeriodEnd: earlier }), now),
    "free",
  );
});

Deno.test("PLANS grow from free to business on every limit", () => {
  for (const limit of LIMIT_NAMES) {
    const values = PLAN_IDS.map((p) => PLANS[p].limits[limit]);
    assert.ok(values[0]! < values[1]! && values[1]! < values[2]!, `${limit}: ${values}`);
  }
});
