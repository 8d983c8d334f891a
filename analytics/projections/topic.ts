/**
 * The topic of a question, as one word: the longest word that is not a common English word,
 * preferring nouns over verb and adverb forms (-ing, -ed, -ly), singular, lower case ("How do I treat shin splints?" → "splint"). Coarse on purpose: it groups
 * the questions the coach could not answer so a creator sees what to write next, and it is all
 * analytics keeps of a question's text.
 */
const STOP = new Set(
  ("a about above after again against all also am an and any are as at be because been before " +
    "being below between both but by can could did do does doing down during each few for from " +
    "further get got had has have having he her here hers herself him himself his how i if in " +
    "into is it its itself just know let like make me more most much my myself need no nor not " +
    "now of off on once only or other our ours ourselves out over own please really same she " +
    "should so some such than thank thanks that the their theirs them themselves then there " +
    "these they this those through to too under until up very want was we well were what when " +
    "where which while who whom why will with would you your yours yourself yourselves hello " +
    "hi hey coach tell help best good way ways thing things something anything every day days " +
    "time times start use using try trying feel think week weeks going").split(" "),
);

function singular(w: string): string {
  if (w.length > 4 && w.endsWith("ses")) return w.slice(0, -2);
  if (w.length > 3 && w.endsWith("s") && !w.endsWith("ss")) return w.slice(0, -1);
  return w;
}

/** The topic word of `text`, or "other" when it has none. */
export function topicOf(text: string): string {
  const words = text.toLowerCase().normalize("NFKC").match(/\p{L}[\p{L}'-]*/gu) ?? [];
  let best = "";
  let bestScore = -Infinity;
  for (const raw of words) {
    const w = raw.replace(/'s$/, "");
    if (w.length < 3 || STOP.has(w)) continue;
    const s = singular(w);
    const score = s.length - (/(ing|ed|ly)$/.test(s) ? 100 : 0);
    if (score > bestScore || (score === bestScore && s < best)) [best, bestScore] = [s, score];
  }
  return best ? best.slice(0, 40) : "other";
}
