import assert from "node:assert/strict";
import { currentStreak, emptyGamification, metricsOf, noteMessage } from "./progress.ts";

Deno.test("noteMessage() - streak days are counted in the person's local days, not UTC's", () => {
  const tokyo = emptyGamification();
  const utc = emptyGamification();
  // 23:30 UTC on three nights is 08:30 the next morning in Tokyo: days 2, 3, 4 there.
  for (const at of ["2026-05-01T23:30:00Z", "2026-05-02T23:30:00Z", "2026-05-03T23:30:00Z"]) {
    noteMessage(tokyo, Date.parse(at), "Asia/Tokyo");
    noteMessage(utc, Date.parse(at), "UTC");
  }
  // 00:30 UTC on the 4th: still the 4th in Tokyo (same day), a new day in UTC.
  const change = noteMessage(tokyo, Date.parse("2026-05-04T00:30:00Z"), "Asia/Tokyo");
  noteMessage(utc, Date.parse("2026-05-04T00:30:00Z"), "UTC");
  assert.equal(change.newDay, false);
  assert.equal(tokyo.streakDays, 3);
  assert.equal(tokyo.daysActive, 3);
  assert.equal(utc.streakDays, 4);
  assert.equal(tokyo.sessions, 4);
  assert.equal(tokyo.messagesSent, 4);
});

Deno.test("currentStreak() - holds through the next local day and breaks after a whole day without activity", () => {
  const g = emptyGamification();
  const zone = "America/New_York";
  noteMessage(g, Date.parse("2026-05-01T14:00:00Z"), zone);
  noteMessage(g, Date.parse("2026-05-02T14:00:00Z"), zone);
  assert.equal(currentStreak(g, Date.parse("2026-05-03T23:00:00Z"), zone), 2); // 19:00 on the 3rd
  assert.equal(currentStreak(g, Date.parse("2026-05-04T05:00:00Z"), zone), 0); // 01:00 on the 4th
  // A gap resets the streak to the new day.
  const change = noteMessage(g, Date.parse("2026-05-06T14:00:00Z"), zone);
  assert.equal(change.gapDays, 4);
  assert.equal(g.streakDays, 1);
  assert.equal(g.longestStreak, 2);
  assert.equal(metricsOf(g, Date.parse("2026-05-06T15:00:00Z"), zone).days_active, 3);
});
