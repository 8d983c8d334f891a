import assert from "node:assert/strict";
import { CriteriaSyntaxError, evaluateCriteria, parseCriteria } from "./badge_criteria.ts";

Deno.test("parseCriteria() builds a tree with and binding tighter than or", () => {
  assert.deepEqual(parseCriteria("streak_days >= 7 and sessions > 2 or not messages_sent < 10"), {
    any: [
      {
        all: [{ metric: "streak_days", op: ">=", value: 7 }, {
          metric: "sessions",
          op: ">",
          value: 2,
        }],
      },
      { not: { metric: "messages_sent", op: "<", value: 10 } },
    ],
  });
  assert.deepEqual(parseCriteria("(days_active == 3)"), {
    metric: "days_active",
    op: "==",
    value: 3,
  });
});

Deno.test("parseCriteria() names the position of the first error", () => {
  assert.throws(
    () => parseCriteria("streak_days >= "),
    (e) => e instanceof CriteriaSyntaxError && /Expected a number at character 16/.test(e.message),
  );
  assert.throws(
    () => parseCriteria("karma > 3"),
    /Unknown metric karma \(known: .*\) at character 1$/,
  );
  assert.throws(() => parseCriteria("sessions > 1 sessions"), /Unexpected sessions/);
  assert.throws(() => parseCriteria("(sessions > 1"), /Expected \)/);
  assert.throws(() => parseCriteria("sessions ! 1"), CriteriaSyntaxError);
});

Deno.test("evaluateCriteria() evaluates against metrics, missing ones as 0", () => {
  const c = parseCriteria("streak_days >= 7 and not programs_completed > 0");
  assert.equal(evaluateCriteria(c, { streak_days: 7 }), true);
  assert.equal(evaluateCriteria(c, { streak_days: 7, programs_completed: 1 }), false);
});
