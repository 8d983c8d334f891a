import type pg from "pg";
import { withTenant } from "../../db/tenant.ts";
import { chunksById, lexicalSearch } from "../store/chunk_rows.ts";
import type { Embedder } from "../models/models.ts";
import { SoftMatcher } from "../language/soft_match.ts";
import type { VectorStore } from "../store/vector_store.ts";

/** A retrieved chunk with where it comes from and why it was ranked. */
export interface Passage {
  id: string;
  creatorId: string;
  knowledgeBaseId: string;
  documentId: string;
  documentTitle: string;
  heading: string;
  text: string;
  position: { ordinal: number; start: number; end: number; page: number | null };
  /** Reciprocal-rank-fusion score (rank based, comparable within one query only). */
  score: number;
  /** Absolute relevance in [0, 1] used for refusal: semantic word match, else cosine. */
  relevance: number;
  signals: { vector?: number; lexical?: number; soft?: number };
}

export interface RetrievalDeps {
  pool: pg.Pool;
  embedder: Embedder;
  store: VectorStore;
  matcher?: SoftMatcher;
}

export interface RetrieveOptions {
  creatorId: string;
  query: string;
  k?: number;
  knowledgeBaseIds?: string[];
  /** Earlier text that gives the query its meaning (a follow-up's previous question). */
  context?: string;
  /** The user's goals: a light tie-breaker toward what this user is working on. */
  goals?: string[];
}

const RRF_K = 60;
/**
 * Word-similarity floor of the semantic ranking. Relevance (for refusal) uses hub-corrected word
 * similarity instead, which separated off-topic questions better on the dev questions.
 */
const RANK_FLOOR = 0.2;
/** Fusion weights, chosen on tests/fixtures/coaching_dev.json (not on the eval questions). */
const SEMANTIC_WEIGHT = 4;
// With the word-vector default, Chroma hits are candidates and their sentence-vector similarity
// is part of the semantic score; a neural embedder's ranking votes with weight 1.
const VECTOR_WEIGHT = 0;
const LEXICAL_WEIGHT = 1;
const GOALS_WEIGHT = 0.15;

/** The text whose match decides relevance: a follow-up is read with the question it follows. */
export function relevanceQuery(query: string, context?: string): string {
  return context ? `${query} ${context}` : query;
}

function dot(a: number[], b: number[]): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]! * b[i]!;
  return s;
}

/**
 * Hybrid retrieval in one creator's knowledge: Chroma vector search and Postgres full-text search,
 * plus (with the word-vector embedder) a word-level semantic re-ranking of the candidates, fused
 * by reciprocal rank. Every source filters by creator; chunk text comes back from Postgres under
 * row-level security, so another creator's content cannot reach an answer.
 */
export async function retrieve(deps: RetrievalDeps, opts: RetrieveOptions): Promise<Passage[]> {
  const { creatorId, query, k = 5, knowledgeBaseIds, context, goals } = opts;
  const pool = Math.max(30, k * 4);
  // A follow-up is read with the question it follows; alone it counts for less.
  const queries = context ? [query, relevanceQuery(query, context)] : [query];
  const main = queries.length - 1;
  const weightOf = (qi: number) => (context ? (qi === 0 ? 0.5 : 1) : 1);
  const embeddings = await deps.embedder.embed(queries);
  const goalsVector = goals?.length && deps.matcher
    ? (await deps.embedder.embed([goals.join(". ")]))[0]
    : undefined;
  const vectorLists = await Promise.all(
    embeddings.map((e) => deps.store.query("chunks", e, { creatorId, k: pool, knowledgeBaseIds })),
  );
  const { lexicalLists, rows } = await withTenant(deps.pool, creatorId, async (client) => {
    const lexicalLists = [];
    for (const q of queries) {
      lexicalLists.push(await lexicalSearch(client, q, { k: pool, knowledgeBaseIds }));
    }
    const ids = new Set<string>();
    for (const list of [...vectorLists, ...lexicalLists]) for (const h of list) ids.add(h.id);
    return { lexicalLists, rows: await chunksById(client, [...ids]) };
  });
  const fused = new Map<string, number>();
  const signals = new Map<string, Passage["signals"]>();
  const add = (id: string, rank: number, weight: number) =>
    fused.set(id, (fused.get(id) ?? 0) + weight / (RRF_K + rank + 1));
  const sig = (id: string) => signals.get(id) ?? signals.set(id, {}).get(id)!;
  // The follow-up's combined query counts less than the question itself.
  vectorLists.forEach((list, qi) =>
    list.forEach((h, r) => {
      add(h.id, r, weightOf(qi) * (deps.matcher ? VECTOR_WEIGHT : 1));
      sig(h.id).vector = Math.max(sig(h.id).vector ?? 0, h.similarity);
    })
  );
  // Every candidate gets its lexical rank as a signal, but only chunks holding all the
  // question's words vote in the fusion: a chunk sharing one common word is no evidence.
  lexicalLists.forEach((list, qi) =>
    list.forEach((h, r) => {
      if (h.all) add(h.id, r, weightOf(qi) * LEXICAL_WEIGHT);
      sig(h.id).lexical = Math.max(sig(h.id).lexical ?? 0, h.rank);
    })
  );
  const byId = new Map(rows.map((r) => [r.id, r]));
  if (deps.matcher) {
    const m = deps.matcher;
    const texts = rows.map((r) => `${r.heading} ${r.text}`);
    const chunkVectors = await deps.embedder.embed(texts);
    queries.forEach((q, qi) => {
      const allTerms = m.terms(q, { unknown: true });
      // The ranking reads the known words only; relevance every word (names match literally).
      const known = allTerms.map((t, i) => ({ t, i })).filter((x) => x.t.row >= 0);
      const terms = known.map((x) => x.t);
      const qv = embeddings[qi]!;
      const scored = rows.map((r, i) => {
        const words = m.words(texts[i]!);
        const cos = dot(qv, chunkVectors[i]!);
        const best = m.bestMatchesBoth(allTerms, words);
        // Ranking: word-level match plus the sentence vectors; relevance: hub-corrected match.
        if (qi === queries.length - 1) {
          sig(r.id).soft = SoftMatcher.weighted(allTerms, best.hub);
        }
        const rank = SoftMatcher.weighted(terms, known.map((x) => best.plain[x.i]!), RANK_FLOOR);
        // The user's goals nudge near-equal passages toward what this user is working on.
        const nudge = goalsVector && qi === main
          ? GOALS_WEIGHT * dot(goalsVector, chunkVectors[i]!)
          : 0;
        return { id: r.id, s: rank + 0.5 * cos + nudge };
      }).sort((a, b) => b.s - a.s);
      scored.forEach((x, r) => add(x.id, r, weightOf(qi) * SEMANTIC_WEIGHT));
    });
  }
  const out: Passage[] = [];
  for (const [id, score] of fused) {
    const r = byId.get(id);
    if (!r) continue; // not visible to this tenant (or deleted since indexing)
    const s = sig(id);
    out.push({
      id,
      creatorId: r.creator_id,
      knowledgeBaseId: r.knowledge_base_id,
      documentId: r.document_id,
      documentTitle: r.title,
      heading: r.heading,
      text: r.text,
      position: { ordinal: r.ordinal, start: r.start_offset, end: r.end_offset, page: r.page },
      score,
      relevance: s.soft ?? Math.max(0, s.vector ?? 0),
      signals: s,
    });
  }
  out.sort((a, b) => b.score - a.score || a.id.localeCompare(b.id));
  return out.slice(0, k);
}
