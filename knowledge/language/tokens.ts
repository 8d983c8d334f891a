/** Lower-cased word tokens, the unit shared by the word-vector embedder and the soft matcher. */
export function tokenize(text: string): string[] {
  return text.toLowerCase().normalize("NFKC").match(/[\p{L}\p{N}]+(?:'[\p{L}]+)?/gu) ?? [];
}

/** Words too common to carry meaning on their own in a question. */
export const STOPWORDS = new Set(
  ("a an the and or but if then else of to in on at by for with from as is are was were be been " +
    "being am do does did doing have has had having i me my mine we us our you your yours he him " +
    "his she her it its they them their this that these those what which who whom whose when where " +
    "why how there here not no nor so too very can could should would will shall may might must " +
    "just about into over under again further once all any both each few more most other some such " +
    "only own same than s t don't isn't aren't i'm it's that's what's there's let's also get got " +
    "up down out off")
    .split(" "),
);
