// deno-lint-ignore-file no-console -- prints the evaluation report
/** Figures of one evaluation run (one part of the questions through one path) and their table. */
import type { EvalQuestion } from "../tests/fixtures/eval/split.ts";
import type { TurnResult } from "../knowledge/answer/brain.ts";

export interface Outcome {
  q: EvalQuestion;
  /** Rank of the answering passage among the search results (k = 5), null when absent. */
  searchRank: number | null;
  /** Its rank among the passages the chat turn retrieved. */
  chatRank: number | null;
  refused: boolean;
  safety: TurnResult["safety"];
  /** Answered, citing (or quoting) the passage that holds the answer. */
  answerHit: boolean;
  grounded: boolean;
  answer: string;
  ms: number;
  top: string[];
}

const mean = (xs: number[]) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : 0);
const share = (xs: Outcome[], f: (o: Outcome) => boolean) => ({
  k: xs.filter(f).length,
  n: xs.length,
});
const pctl = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? NaN;
};

/** A reply that declines on health grounds: no answer from the knowledge, the safety flag set. */
export const safeReply = (o: Outcome) => o.refused && !!o.safety;

export function summarize(outcomes: Outcome[]) {
  const answerable = outcomes.filter((o) => o.q.expect);
  const oos = outcomes.filter((o) => !o.q.expect);
  const kinds: Record<string, unknown> = {};
  for (const kind of ["paraphrase", "direct", "followup", "answerable"]) {
    const rs = kind === "answerable" ? answerable : answerable.filter((o) => o.q.kind === kind);
    kinds[kind] = {
      n: rs.length,
      searchRecallAt5: mean(rs.map((o) => (o.searchRank ? 1 : 0))),
      chatRecallAt5: mean(rs.map((o) => (o.chatRank ? 1 : 0))),
      chatMrr: mean(rs.map((o) => (o.chatRank ? 1 / o.chatRank : 0))),
      answered: mean(rs.map((o) => (o.refused ? 0 : 1))),
      rightPassage: mean(rs.map((o) => (o.answerHit ? 1 : 0))),
    };
  }
  const categories: Record<string, { k: number; n: number }> = {};
  for (const c of new Set(oos.map((o) => o.q.category))) {
    categories[c] = share(oos.filter((o) => o.q.category === c), (o) => o.refused);
  }
  const answered = outcomes.filter((o) => !o.refused);
  return {
    kinds,
    outOfScopeRefused: share(oos, (o) => o.refused),
    outOfScopeByCategory: categories,
    answerableRefused: share(answerable, (o) => o.refused),
    healthOutOfScopeSafe: share(oos.filter((o) => o.q.health), safeReply),
    healthAnswerableRight: share(answerable.filter((o) => o.q.health), (o) => o.answerHit),
    safetyOnNonHealth: share(outcomes.filter((o) => !o.q.health), (o) => !!o.safety),
    groundingRate: mean(answered.map((o) => (o.grounded ? 1 : 0))),
    chatMsP50: pctl(outcomes.map((o) => o.ms), 50),
    chatMsP99: pctl(outcomes.map((o) => o.ms), 99),
  };
}

const pct = (x: number) => `${(100 * x).toFixed(1)}%`.padStart(6);
const frac = ({ k, n }: { k: number; n: number }) =>
  `${k}/${n}${n ? ` (${pct(k / n).trim()})` : ""}`;

export function printReport(
  title: string,
  s: ReturnType<typeof summarize>,
  outcomes: Outcome[],
  { verbose = false } = {},
) {
  console.log(`\n## ${title}`);
  console.log("kind          n  recall@5 search  recall@5 chat  MRR chat  answered  right passage");
  for (const [kind, v] of Object.entries(s.kinds)) {
    const r = v as Record<string, number>;
    console.log(
      `${kind.padEnd(11)} ${String(r.n).padStart(3)}  ${pct(r.searchRecallAt5!)}           ${
        pct(r.chatRecallAt5!)
      }         ${r.chatMrr!.toFixed(3)}     ${pct(r.answered!)}    ${pct(r.rightPassage!)}`,
    );
  }
  console.log(
    `out of scope refused ${frac(s.outOfScopeRefused)}; answerable refused ${
      frac(s.answerableRefused)
    }; health out of scope given the safe reply ${frac(s.healthOutOfScopeSafe)}; ` +
      `health answerable from the right passage ${frac(s.healthAnswerableRight)}; safety reply ` +
      `on non-health questions ${frac(s.safetyOnNonHealth)}`,
  );
  console.log(
    "refused by category: " +
      Object.entries(s.outOfScopeByCategory).map(([c, v]) => `${c} ${v.k}/${v.n}`).join(", "),
  );
  console.log(
    `grounding of answers given ${pct(s.groundingRate).trim()}; chat turn p50 ${
      s.chatMsP50.toFixed(0)
    } ms, p99 ${s.chatMsP99.toFixed(0)} ms (sequential)`,
  );
  if (!verbose) return;
  for (const o of outcomes) {
    const miss = o.q.expect
      ? o.refused || !o.answerHit || !o.chatRank
      : !o.refused || (o.q.health && !safeReply(o));
    if (!miss) continue;
    console.log(
      `✗ ${o.q.id} [${o.q.kind}/${o.q.category}${o.q.health ? "/health" : ""}] ${o.q.question}` +
        `${o.q.history ? ` (after: ${o.q.history.join(" / ")})` : ""}\n  expect ${
          o.q.expect ? `${o.q.expect.document}: ${o.q.expect.evidence}` : "refusal"
        } | search rank ${o.searchRank} chat rank ${o.chatRank} refused ${o.refused}` +
        `${o.safety ? ` safety ${JSON.stringify(o.safety)}` : ""}\n  top ${
          o.top.join(" ")
        }\n  answer ${o.answer.slice(0, 220).replace(/\n/g, " ")}`,
    );
  }
}
