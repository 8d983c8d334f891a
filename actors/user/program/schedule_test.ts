import assert from "node:assert/strict";
import { daysBetween, localDayAndHour, waitEnds } from "./schedule.ts";

const iso = (ms: number) => new Date(ms).toISOString();

Deno.test("waitEnds() - next Monday 09:00 in Europe/Paris is 09:00 local after the spring-forward change", () => {
  // Friday 2026-03-27 20:00 in Paris (UTC+1); clocks go forward on Sunday 2026-03-29.
  const now = Date.parse("2026-03-27T19:00:00Z");
  const end = waitEnds({ weekday: "monday", at: "09:00" }, now, "Europe/Paris");
  // Monday 2026-03-30 09:00 CEST = 07:00 UTC (hand arithmetic from the old offset gives 08:00).
  assert.equal(iso(end), "2026-03-30T07:00:00.000Z");
  assert.deepEqual(localDayAndHour(end, "Europe/Paris"), { day: "2026-03-30", hour: 9 });
});

Deno.test("waitEnds() - next Monday 09:00 in America/New_York after the fall-back change", () => {
  // Saturday 2026-10-31 12:00 EDT; clocks go back on Sunday 2026-11-01.
  const now = Date.parse("2026-10-31T16:00:00Z");
  const end = waitEnds({ weekday: "monday", at: "09:00" }, now, "America/New_York");
  assert.equal(iso(end), "2026-11-02T14:00:00.000Z");
});

Deno.test("waitEnds() - on a Monday after 09:00 the next Monday is a week later; before 09:00 it is today", () => {
  const mondayNoon = Date.parse("2026-06-01T10:00:00Z"); // 12:00 in Paris
  assert.equal(
    iso(waitEnds({ weekday: "monday", at: "09:00" }, mondayNoon, "Europe/Paris")),
    "2026-06-08T07:00:00.000Z",
  );
  const mondayEarly = Date.parse("2026-06-01T05:00:00Z"); // 07:00 in Paris
  assert.equal(
    iso(waitEnds({ weekday: "monday", at: "09:00" }, mondayEarly, "Europe/Paris")),
    "2026-06-01T07:00:00.000Z",
  );
});

Deno.test("waitEnds() - hours alone is a duration; hours then at is the next local time after it", () => {
  const now = Date.parse("2026-03-28T12:00:00Z");
  assert.equal(iso(waitEnds({ hours: 36 }, now, "Europe/Paris")), "2026-03-30T00:00:00.000Z");
  // 24 h later is Sunday 13:00 UTC = 15:00 CEST: the next 08:00 is Monday's.
  assert.equal(
    iso(waitEnds({ hours: 24, at: "08:00" }, now, "Europe/Paris")),
    "2026-03-30T06:00:00.000Z",
  );
});

Deno.test("daysBetween() counts calendar days", () => {
  assert.equal(daysBetween("2026-03-28", "2026-03-30"), 2);
  assert.equal(daysBetween("2026-12-31", "2027-01-01"), 1);
});
