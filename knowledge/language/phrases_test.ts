import assert from "node:assert/strict";
import { loadPhraseLexicon, phraseLexicon, segment } from "./phrases.ts";
import type { WordVectors } from "./word_vectors.ts";
import { loadDefaultModels } from "../services.ts";
import { VECTOR_CACHE_DIR } from "../../tests/harness.ts";

/** Three-dimensional vectors: sleep-like words on axis 0, head-like on 1, travel-like on 2. */
function tinyVectors(): WordVectors {
  const table: Record<string, number[]> = {
    asleep: [1, 0, 0],
    doze: [0.9, 0.1, 0],
    sleeping: [1, 0, 0.1],
    waking: [0.8, 0, 0.2],
    state: [0.3, 0.3, 0.3],
    change: [0.2, 0.2, 0.4],
    fall: [0.5, 0, 0.5],
    nod: [0, 1, 0],
    head: [0, 1, 0],
    go: [0, 0, 1],
  };
  const words = Object.keys(table);
  return {
    dims: 3,
    words,
    index: new Map(words.map((w, i) => [w, i])),
    vectors: Float32Array.from(words.flatMap((w) => table[w]!)),
    common: new Float32Array(3),
  };
}

/** A WordNet dict folder with the given index and data lines (other files empty). */
async function tinyDict(lines: { index?: string[]; data?: string[] }) {
  const dir = await Deno.makeTempDir();
  for (const pos of ["noun", "adj", "adv"]) {
    await Deno.writeTextFile(`${dir}/index.${pos}`, "");
    await Deno.writeTextFile(`${dir}/data.${pos}`, "");
  }
  await Deno.writeTextFile(`${dir}/index.verb`, (lines.index ?? []).join("\n") + "\n");
  await Deno.writeTextFile(`${dir}/data.verb`, (lines.data ?? []).join("\n") + "\n");
  return dir;
}

Deno.test("loadPhraseLexicon() builds phrase vectors from WordNet synonyms and glosses, once", async () => {
  const dict = await tinyDict({
    index: [
      "  1 This software and database is being provided (license header lines start with spaces)",
      "nod_off v 1 1 ~ 1 0 00017275  ",
      "go_to v 1 0 1 0 00000001  ",
      "at_all v 1 0 1 0 00000002  ",
    ],
    data: [
      "00017275 29 v 03 fall_asleep 0 doze_off 0 nod_off 0 000 | change from a waking to a " +
      'sleeping state; "he always falls asleep"  ',
      "00000001 29 v 01 go_to 0 000 | go somewhere  ",
      "00000002 29 v 01 at_all 0 000 | in any way  ",
    ],
  });
  const cache = await Deno.makeTempDir();
  try {
    const wordVectors = tinyVectors();
    const weightOf = (row: number) => 1 + row / 100;
    const lexicon = await loadPhraseLexicon({
      cacheDir: cache,
      wordVectors,
      weightOf,
      dict: new URL(`file://${dict}/`),
    });
    // "go to" ends with a preposition and "at all" starts with a function word: left literal.
    assert.deepEqual(lexicon.phrases, ["nod off"]);
    const v = Array.from(lexicon.vectors.subarray(0, 3));
    assert.ok(Math.abs(Math.hypot(...v) - 1) < 1e-6);
    // Its meaning comes from "fall asleep", "doze" and the gloss, not from "nod" (a head move).
    assert.ok(v[0]! > 0.8 && v[1]! < 0.3, `${v}`);
    // Weighs as much as its content words ("off" is a function word).
    assert.equal(lexicon.weights[0], Math.fround(weightOf(wordVectors.index.get("nod")!)));

    await Deno.remove(dict, { recursive: true });
    const again = await loadPhraseLexicon({
      cacheDir: cache,
      wordVectors,
      weightOf,
      dict: new URL(`file://${dict}/`),
    });
    assert.deepEqual(again.phrases, lexicon.phrases);
    assert.deepEqual(Array.from(again.vectors), Array.from(lexicon.vectors));
    assert.deepEqual(Array.from(again.weights), Array.from(lexicon.weights));
  } finally {
    await Deno.remove(cache, { recursive: true });
    await Deno.remove(dict, { recursive: true }).catch(() => {});
  }
});

Deno.test("segment() reads inflected phrasal verbs and plural nouns as one unit, longest first", async () => {
  const { matcher } = await loadDefaultModels({ cacheDir: VECTOR_CACHE_DIR });
  const tokens = (text: string) => matcher.terms(text).map((t) => t.token);
  assert.deepEqual(tokens("I keep drifting off at my desk"), ["keep", "drift off", "desk"]);
  assert.deepEqual(tokens("I blew off my workout"), ["blow off", "workout"]);
  assert.deepEqual(tokens("how to fix flat tires"), ["fix", "flat tire"]);
  // A phrase that only means its words stays words.
  assert.deepEqual(tokens("when I go to the gym"), ["go", "gym"]);
});

Deno.test("segment() leaves text without phrases as single tokens", () => {
  const lexicon = phraseLexicon(["nod off"], 1, new Float32Array(1), new Float32Array(1));
  assert.deepEqual(segment(["i", "nod", "off", "now"], lexicon), [
    { text: "i", span: 1 },
    { text: "nod off", phrase: 0, span: 2 },
    { text: "now", span: 1 },
  ]);
  assert.deepEqual(segment(["nod"], lexicon), [{ text: "nod", span: 1 }]);
});

Deno.test("SoftMatcher with phrases: a phrasal verb matches its meaning, not its words", async () => {
  const { matcher: m } = await loadDefaultModels({ cacheDir: VECTOR_CACHE_DIR });
  const question = m.terms("I nod off in every meeting", { unknown: true });
  const sleep = m.score(question, "Feeling sleepy and falling asleep during the day", {
    hubCorrected: true,
  });
  const head = m.score(question, "Tilt your head forward and back slowly", { hubCorrected: true });
  assert.ok(sleep > head, `${sleep} vs ${head}`);
  // A passage offers its phrases too: the same phrase matches literally.
  const literal = m.score(m.terms("world cup"), "the world cup final", { hubCorrected: true });
  assert.equal(literal, 1);
});
