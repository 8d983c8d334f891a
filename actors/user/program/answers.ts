/**
 * Reading a person's reply to a program's question as the answer type it expects. A reply that
 * is not one (a word where a number is asked, a choice that is not offered) reads as nothing,
 * and the question is asked again once.
 */
import type { AnswerType, FlowStep } from "../../contracts/program.ts";

type Question = Extract<FlowStep, { type: "question" }>;

/** The payload of a choice's quick-reply button: `a:<step>:<index>`. */
export const choicePayload = (stepId: string, index: number) => `a:${stepId}:${index}`;

export function expectedType(q: Question): AnswerType {
  return q.expect ?? (q.choices?.length ? "choice" : "text");
}

/** The answer `reply` gives to `q`, or undefined when it is none. */
export function readAnswer(q: Question, reply: string): string | number | undefined {
  const text = reply.trim();
  if (!text) return undefined;
  switch (expectedType(q)) {
    case "choice":
      return readChoice(q, text);
    case "number":
      return readNumber(text, q.min, q.max, false);
    case "scale":
      return readNumber(text, q.min ?? 1, q.max ?? 5, true);
    case "time":
      return readTime(text);
    case "text":
      return text.slice(0, 300);
  }
}

function readChoice(q: Question, text: string): string | undefined {
  const choices = q.choices ?? [];
  const payload = /^a:([a-z0-9_-]+):(\d+)$/.exec(text);
  if (payload) return payload[1] === q.id ? choices[Number(payload[2])] : undefined;
  const lower = text.toLowerCase();
  const exact = choices.find((c) => c.toLowerCase() === lower);
  if (exact) return exact;
  // "2" picks the second choice, as the question lists them.
  if (/^\d{1,2}$/.test(text)) return choices[Number(text) - 1];
  const within = choices.filter((c) => lower.includes(c.toLowerCase()));
  return within.length === 1 ? within[0] : undefined;
}

function readNumber(
  text: string,
  min: number | undefined,
  max: number | undefined,
  integer: boolean,
): number | undefined {
  const m = /^[^\d-]*(-?\d+(?:[.,]\d+)?)\b/.exec(text);
  if (!m) return undefined;
  const n = Number(m[1]!.replace(",", "."));
  if (!Number.isFinite(n) || (integer && !Number.isInteger(n))) return undefined;
  if ((min !== undefined && n < min) || (max !== undefined && n > max)) return undefined;
  return n;
}

/** `7`, `7am`, `7:30 pm`, `19:30`, `19h30` → `HH:MM`. */
function readTime(text: string): string | undefined {
  const m = /^(\d{1,2})(?:[:.h](\d{2}))?\s*(am|pm|a\.m\.|p\.m\.)?$/i.exec(text.trim());
  if (!m) return undefined;
  let hour = Number(m[1]);
  const minute = Number(m[2] ?? 0);
  const half = m[3]?.toLowerCase().replaceAll(".", "");
  if (half) {
    if (hour < 1 || hour > 12) return undefined;
    hour = (hour % 12) + (half === "pm" ? 12 : 0);
  }
  if (hour > 23 || minute > 59) return undefined;
  return `${String(hour).padStart(2, "0")}:${String(minute).padStart(2, "0")}`;
}

/** How the question reads: its text, and for choices without buttons, the numbered list. */
export function questionText(q: Question, { again }: { again: boolean }): string {
  const hint = again ? `${hintFor(q)}\n\n` : "";
  return `${hint}${q.text}`;
}

function hintFor(q: Question): string {
  switch (expectedType(q)) {
    case "choice":
      return "Sorry, I didn't catch that. Please pick one of the options.";
    case "number":
      return "Sorry, I need a number for this one" + range(q.min, q.max) + ".";
    case "scale":
      return `Sorry, please answer with a number from ${q.min ?? 1} to ${q.max ?? 5}.`;
    case "time":
      return "Sorry, I need a time of day, like 07:30 or 7pm.";
    case "text":
      return "Sorry, I didn't get an answer there.";
  }
}

function range(min?: number, max?: number): string {
  if (min !== undefined && max !== undefined) return ` between ${min} and ${max}`;
  if (min !== undefined) return ` of at least ${min}`;
  if (max !== undefined) return ` of at most ${max}`;
  return "";
}
