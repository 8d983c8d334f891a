import assert from "node:assert/strict";
import { Background } from "./background.ts";
import { loadDefaultModels } from "../services.ts";
import { runTurn } from "../answer/brain.ts";
import { seedCoach, testKnowledge } from "../../tests/knowledge_env.ts";
import { VECTOR_CACHE_DIR } from "../../tests/harness.ts";

const KB = new URL("../../tests/fixtures/coaching_kb/", import.meta.url);
const fixture = (name: string) => Deno.readTextFile(new URL(name, KB));

Deno.test("Background.coverage() finds the general definition that covers a question", async () => {
  const { embedder, matcher, background } = await loadDefaultModels({
    cacheDir: VECTOR_CACHE_DIR,
  });
  assert.ok(background.size > 100_000, `${background.size} definitions`);
  const question = "Who won the football world cup in 2018?";
  const cover = background.coverage(
    matcher.terms(question, { unknown: true }),
    embedder.embedOne(question),
  );
  assert.ok(cover.text.length > 0);
  // A passage sharing only "cup" covers it far less than the definition does.
  const passage = "A palm-sized portion of chicken or a cup of lentils gives 25 to 30 grams.";
  const relevance = matcher.score(matcher.terms(question, { unknown: true }), passage, {
    hubCorrected: true,
  });
  assert.ok(cover.score > relevance + 0.2, `${cover.score} vs ${relevance}`);
});

Deno.test("Background.load() embeds WordNet's definitions once into a cache", async () => {
  const { embedder, matcher } = await loadDefaultModels({ cacheDir: VECTOR_CACHE_DIR });
  const dict = await Deno.makeTempDir();
  const cache = await Deno.makeTempDir();
  try {
    for (const pos of ["verb", "adj", "adv"]) await Deno.writeTextFile(`${dict}/data.${pos}`, "");
    await Deno.writeTextFile(
      `${dict}/data.noun`,
      [
        "  1 license header lines start with spaces",
        "07479525 11 n 01 World_Cup 0 001 @ 07479682 n 0000 | a soccer tournament held every " +
        "four years between national soccer teams  ",
        '07936462 13 n 01 latte 0 001 @ 07935152 n 0000 | strong espresso coffee; "a latte"  ',
      ].join("\n") + "\n",
    );
    const opts = { cacheDir: cache, embedder, matcher, dict: new URL(`file://${dict}/`) };
    const built = await Background.load(opts);
    assert.equal(built.size, 2);
    const terms = matcher.terms("a cup of espresso coffee");
    const first = built.coverage(terms, embedder.embedOne("a cup of espresso coffee"));
    assert.equal(first.text, "latte: strong espresso coffee");
    await Deno.remove(dict, { recursive: true });
    const cached = await Background.load(opts);
    assert.deepEqual(
      cached.coverage(terms, embedder.embedOne("a cup of espresso coffee")),
      first,
    );
  } finally {
    await Deno.remove(cache, { recursive: true });
    await Deno.remove(dict, { recursive: true }).catch(() => {});
  }
});

Deno.test("runTurn() - a paraphrase below the answer threshold is answered when the knowledge covers it better than general definitions; an off-topic question sharing its words is not", async () => {
  await using env = await testKnowledge();
  const k = env.knowledge;
  const coach = await seedCoach(k, {
    Stress: await fixture("stress.md"),
    Sleep: await fixture("sleep.md"),
    Nutrition: await fixture("nutrition.md"),
  });
  const turn = (message: string) =>
    runTurn(k, {
      creatorId: coach.creatorId,
      message,
      history: [],
      summary: "",
      format: { maxChars: 1200, markdown: true },
    });

  const paraphrase = await turn("What's a simple nightly practice to lift my spirits?");
  assert.ok(paraphrase.confidence < k.minRelevance, `confidence ${paraphrase.confidence}`);
  assert.ok(paraphrase.background !== undefined && paraphrase.background < paraphrase.confidence);
  assert.equal(paraphrase.refused, false);
  // Answered as an answer, not as "the closest I found".
  assert.match(paraphrase.answer, /^From "Stress \(The three good things exercise\)": /);
  assert.match(paraphrase.answer, /gratitude practice/);
  assert.equal(paraphrase.qa.ok, true);

  for (
    const q of ["Who won the football world cup in 2018?", "What's a good recipe for lasagna?"]
  ) {
    const r = await turn(q);
    assert.equal(r.refused, true, `${q}: ${r.answer}`);
    assert.ok(r.background! > r.confidence, `${q}: ${r.background} vs ${r.confidence}`);
  }
});
