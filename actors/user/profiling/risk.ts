/**
 * Drop-off risk: a simple score (0–100) with the reasons that make it up, so a creator can see
 * why someone is at risk, not only that they are.
 */
import type { Gamification } from "../badges/progress.ts";
import type { ProgramsState } from "../program/state.ts";
import type { Profiling } from "./state.ts";
import { sentimentTrend } from "./sentiment.ts";

export interface Risk {
  score: number;
  level: "low" | "medium" | "high";
  reasons: { reason: string; points: number }[];
}

const DAY = 86_400_000;

export function dropOffRisk(
  s: { gamification: Gamification; profiling: Profiling; programRuns: ProgramsState },
  now: number,
): Risk {
  const reasons: Risk["reasons"] = [];
  const g = s.gamification;
  if (g.lastMessageAt !== null) {
    const idle = Math.floor((now - g.lastMessageAt) / DAY);
    if (idle >= 7) reasons.push({ reason: `inactive for ${idle} days`, points: 45 });
    else if (idle >= 3) reasons.push({ reason: `inactive for ${idle} days`, points: 25 });
  }
  const mood = s.profiling.sentiment;
  if (mood.samples >= 3 && mood.average < -0.2) {
    reasons.push({ reason: "mostly negative messages", points: 20 });
  } else if (sentimentTrend(mood.recent) === "falling") {
    reasons.push({ reason: "mood falling", points: 10 });
  }
  for (const e of Object.values(s.programRuns.enrollments)) {
    if (e.status === "active" && e.waiting?.kind === "answer") {
      const days = Math.floor((now - e.updatedAt) / DAY);
      if (days >= 2) {
        reasons.push({ reason: `"${e.name}" question unanswered for ${days} days`, points: 15 });
      }
    }
    if (e.status === "paused") reasons.push({ reason: `"${e.name}" paused`, points: 10 });
    if (e.status === "unenrolled") reasons.push({ reason: `left "${e.name}"`, points: 10 });
  }
  if (g.longestStreak >= 3 && g.streakDays < g.longestStreak && reasons.length) {
    reasons.push({ reason: `streak of ${g.longestStreak} days broken`, points: 10 });
  }
  const score = Math.min(100, reasons.reduce((a, r) => a + r.points, 0));
  return { score, level: score >= 60 ? "high" : score >= 30 ? "medium" : "low", reasons };
}
