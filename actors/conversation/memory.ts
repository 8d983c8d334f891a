import type { StoredTurn } from "../contracts/conversation.ts";

/** Turns kept word for word; older ones are folded into the running summary. */
export const RECENT_TURNS = 10;
const SUMMARY_CHARS = 1200;

/** Keeps the last RECENT_TURNS turns and folds the rest into the summary, oldest lines first out. */
export function foldTurns(
  turns: StoredTurn[],
  summary: string,
): { turns: StoredTurn[]; summary: string } {
  if (turns.length <= RECENT_TURNS) return { turns, summary };
  const old = turns.slice(0, turns.length - RECENT_TURNS);
  const lines = summary ? summary.split("\n") : [];
  for (const t of old) lines.push(summaryLine(t));
  let text = lines.join("\n");
  while (text.length > SUMMARY_CHARS && lines.length > 1) {
    lines.shift();
    text = lines.join("\n");
  }
  return { turns: turns.slice(-RECENT_TURNS), summary: text };
}

function summaryLine(t: StoredTurn): string {
  const short = t.text.length > 140 ? `${t.text.slice(0, 137)}…` : t.text;
  if (t.role === "user") return `User asked: "${short}"`;
  if (t.role === "creator") return `Coach replied personally: "${short}"`;
  if (t.qa?.refused) return "Assistant found nothing in the material.";
  const sources = [...new Set(t.citations?.map((c) => c.documentTitle) ?? [])];
  return `Assistant answered${sources.length ? ` from ${sources.join(", ")}` : ""}.`;
}
