/**
 * A branch's conditions, on what the program collected (answers, checkpoints), the profile
 * (`profile.name`, `profile.language`, `profile.goals`, or any preference key) and progress
 * metrics (`streak_days`, `messages_sent`, … and `checkpoints_reached` in this program).
 */
import type { Condition } from "../../contracts/program.ts";
import type { Profile } from "../../contracts/user.ts";
import type { Enrollment } from "./state.ts";

export interface BranchFacts {
  enrollment: Enrollment;
  profile: Profile;
  metrics: Record<string, number>;
}

type Value = string | number | boolean | string[] | undefined;

function lookup(variable: string, f: BranchFacts): Value {
  if (variable in f.enrollment.answers) return f.enrollment.answers[variable];
  if (variable === "checkpoints") return f.enrollment.checkpoints;
  if (variable === "program.checkpoints_reached") return f.enrollment.checkpoints.length;
  if (variable.startsWith("profile.")) {
    const field = variable.slice("profile.".length);
    if (field === "name" || field === "language") return f.profile[field];
    if (field === "goals" || field === "topics") return f.profile[field];
    return f.profile.preferences[field];
  }
  if (variable in f.metrics) return f.metrics[variable];
  return f.profile.preferences[variable];
}

export function holds(c: Condition, f: BranchFacts): boolean {
  const v = lookup(c.variable, f);
  if (c.op === "answered") return v !== undefined && v !== "";
  if (v === undefined) return c.op === "neq";
  switch (c.op) {
    case "eq":
      return same(v, c.value);
    case "neq":
      return !same(v, c.value);
    case "contains":
      return Array.isArray(v)
        ? v.some((x) => same(x, c.value))
        : String(v).toLowerCase().includes(String(c.value ?? "").toLowerCase());
    default: {
      const a = Number(v);
      const b = Number(c.value);
      if (!Number.isFinite(a) || !Number.isFinite(b)) return false;
      return c.op === "gt" ? a > b : c.op === "gte" ? a >= b : c.op === "lt" ? a < b : a <= b;
    }
  }
}

function same(v: Value, w: Condition["value"]): boolean {
  if (Array.isArray(v)) return v.some((x) => same(x, w));
  if (typeof v === "number" || typeof w === "number") return Number(v) === Number(w);
  return String(v).toLowerCase() === String(w).toLowerCase();
}
