// deno-lint-ignore-file no-console -- entry point: prints the evaluation report
/**
 * `deno task eval`: puts tests/fixtures/coaching_kb (eleven documents of one creator) behind the
 * configured models (the embedded default without OLLAMA_HOST) and asks the questions of
 * tests/fixtures/eval: the dev half (tuned on) and the test half (only reported), each through
 * the library and through the API (search and preview chat over HTTP on a real node). Follow-ups
 * are real conversations: their earlier messages are asked first and the coach's answers sent
 * back as history.
 *
 * Flags: `--part dev|test` (default both), `--path library|api` (default both), `--verbose`
 * (every miss), `--json` (one JSON line per part and path).
 */
import type { Turn } from "../knowledge/answer/responder.ts";
import type { EvalQuestion } from "../tests/fixtures/eval/split.ts";
import { apiPath, type EvalPath, libraryPath } from "./knowledge_eval_paths.ts";
import { type Outcome, printReport, summarize } from "./knowledge_eval_report.ts";

const arg = (name: string) => {
  const i = Deno.args.indexOf(name);
  return i >= 0 ? Deno.args[i + 1] : undefined;
};
const parts = arg("--part") ? [arg("--part")!] : ["dev", "test"];
const paths = arg("--path") ? [arg("--path")!] : ["library", "api"];
const verbose = Deno.args.includes("--verbose");
const norm = (s: string) => s.replace(/\s+/g, " ").toLowerCase();

async function questionsOf(part: string): Promise<EvalQuestion[]> {
  const file = new URL(`../tests/fixtures/eval/${part}.json`, import.meta.url);
  return (JSON.parse(await Deno.readTextFile(file)) as { questions: EvalQuestion[] }).questions;
}

async function ask(path: EvalPath, q: EvalQuestion): Promise<Outcome> {
  const history: Turn[] = [];
  for (const earlier of q.history ?? []) {
    const turn = await path.chat(earlier, history);
    history.push({ role: "user", text: earlier }, { role: "assistant", text: turn.result.answer });
  }
  const holds = (chunkId: string) => {
    const c = path.chunks.get(chunkId);
    return !!q.expect && c?.filename === q.expect.document &&
      norm(c.text).includes(norm(q.expect.evidence));
  };
  const rankIn = (hits: { chunkId: string }[]) => {
    const i = hits.findIndex((h) => holds(h.chunkId));
    return i >= 0 ? i + 1 : null;
  };
  const searched = await path.search(q.question);
  const turn = await path.chat(q.question, history);
  const r = turn.result;
  const cited = r.citations.some((c) => holds(c.chunkId)) ||
    (!!q.expect && norm(r.answer).includes(norm(q.expect.evidence)));
  return {
    q,
    searchRank: rankIn(searched),
    chatRank: rankIn(turn.retrieved),
    refused: r.refused,
    safety: r.safety,
    answerHit: !r.refused && cited,
    grounded: r.qa.grounded,
    answer: r.answer,
    ms: turn.ms,
    top: turn.retrieved.map((h) => {
      const c = path.chunks.get(h.chunkId);
      return `${c?.filename}#${h.chunkId.split(":").at(-1)}`;
    }),
  };
}

for (const pathName of paths) {
  await using path = pathName === "api" ? await apiPath() : await libraryPath();
  // Every expected passage must exist, or a miss would be the fixture's fault.
  for (const part of parts) {
    const questions = await questionsOf(part);
    for (const q of questions) {
      if (
        q.expect &&
        ![...path.chunks.values()].some((c) =>
          c.filename === q.expect!.document && norm(c.text).includes(norm(q.expect!.evidence))
        )
      ) throw new Error(`${q.id}: no chunk of ${q.expect.document} holds "${q.expect.evidence}"`);
    }
    const outcomes: Outcome[] = [];
    for (const q of questions) outcomes.push(await ask(path, q));
    const summary = summarize(outcomes);
    printReport(`${part} (${questions.length} questions), ${path.name} path`, summary, outcomes, {
      verbose,
    });
    if (Deno.args.includes("--json")) {
      console.log(JSON.stringify({ part, path: path.name, ...summary }));
    }
  }
}
