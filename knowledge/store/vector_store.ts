import { ChromaClient, type Collection, type Metadata, type Where } from "chromadb";
import type { Embedder } from "../models/models.ts";

/** Metadata every Chroma record carries; every query filters on `creator_id`. */
export interface RecordMeta {
  creator_id: string;
  knowledge_base_id: string;
  document_id: string;
  [key: string]: string | number | boolean;
}

export interface VectorHit {
  id: string;
  /** Cosine similarity (1 - cosine distance). */
  similarity: number;
  text: string;
  meta: RecordMeta;
}

export type CollectionKind = "chunks" | "memories" | "profiles";

/** A metadata condition: a value to equal, or a comparison. */
export type MetaCondition =
  | string
  | number
  | boolean
  | { $gt: number }
  | { $gte: number }
  | { $lt: number }
  | { $lte: number };

/** A Chroma client from a URL such as `http://127.0.0.1:8000`. */
export function chromaClient(url: string): ChromaClient {
  const u = new URL(url);
  return new ChromaClient({
    host: u.hostname,
    port: Number(u.port || (u.protocol === "https:" ? 443 : 80)),
    ssl: u.protocol === "https:",
  });
}

/**
 * Chroma collections of one embedding model: knowledge chunks, conversation memories and user
 * profiles, one collection of each per creator. A name carries the model id, so vectors of
 * different models never mix, and the creator id, so a query only ever searches that creator's
 * records (a metadata filter on a shared collection costs ~200 ms at 30,000 records, a collection
 * per creator ~10 ms); results are checked against their `creator_id` all the same.
 */
export class VectorStore {
  readonly #client: ChromaClient;
  readonly #prefix: string;
  readonly #model: string;
  readonly #collections = new Map<string, Promise<Collection>>();

  constructor(client: ChromaClient, { prefix, embedder }: { prefix: string; embedder: Embedder }) {
    this.#client = client;
    this.#prefix = prefix;
    this.#model = embedder.id.replace(/[^A-Za-z0-9_-]+/g, "-");
  }

  /** Prefix shared by every collection of this store (all kinds, all creators). */
  get namePrefix(): string {
    return `${this.#prefix}_`;
  }

  collectionName(kind: CollectionKind, creatorId: string): string {
    return `${this.#prefix}_${kind}_${this.#model}_${creatorId}`;
  }

  #collection(kind: CollectionKind, creatorId: string): Promise<Collection> {
    const name = this.collectionName(kind, creatorId);
    let c = this.#collections.get(name);
    if (!c) {
      c = this.#client.getOrCreateCollection({
        name,
        embeddingFunction: null,
        configuration: { hnsw: { space: "cosine" } },
        metadata: { creator_id: creatorId, kind },
      });
      c.catch(() => this.#collections.delete(name));
      this.#collections.set(name, c);
    }
    return c;
  }

  /** Inserts or replaces records (in batches Chroma accepts), each in its creator's collection. */
  async upsert(
    kind: CollectionKind,
    records: { id: string; embedding: number[]; text: string; meta: RecordMeta }[],
  ): Promise<void> {
    const byCreator = Map.groupBy(records, (r) => r.meta.creator_id);
    for (const [creatorId, list] of byCreator) await this.#upsertOwn(kind, creatorId, list);
  }

  async #upsertOwn(
    kind: CollectionKind,
    creatorId: string,
    records: { id: string; embedding: number[]; text: string; meta: RecordMeta }[],
  ): Promise<void> {
    const c = await this.#collection(kind, creatorId);
    for (let i = 0; i < records.length; i += 500) {
      const batch = records.slice(i, i + 500);
      await c.upsert({
        ids: batch.map((r) => r.id),
        embeddings: batch.map((r) => r.embedding),
        documents: batch.map((r) => r.text),
        metadatas: batch.map((r) => r.meta as Metadata),
      });
    }
  }

  /** Removes every record of a creator's document. */
  async deleteDocument(kind: CollectionKind, creatorId: string, documentId: string) {
    const c = await this.#collection(kind, creatorId);
    await c.delete({ where: { $and: [{ creator_id: creatorId }, { document_id: documentId }] } });
  }

  /**
   * Removes a document's records written in one generation `gen` (metadata `gen`) and those
   * written before records carried one; records of other generations stay. Returns how many.
   */
  async deleteGeneration(
    kind: CollectionKind,
    creatorId: string,
    documentId: string,
    gen: string,
  ): Promise<number> {
    const c = await this.#collection(kind, creatorId);
    const res = await c.get({
      where: { $and: [{ creator_id: creatorId }, { document_id: documentId }] },
      include: ["metadatas"],
    });
    const ids = res.ids.filter((_, i) => {
      const g = res.metadatas[i]?.gen;
      return g === gen || g === undefined || g === null;
    });
    if (ids.length) await c.delete({ ids, where: { creator_id: creatorId } });
    return ids.length;
  }

  /** Removes records by id, but only the creator's own. */
  async deleteIds(kind: CollectionKind, creatorId: string, ids: string[]) {
    if (!ids.length) return;
    const c = await this.#collection(kind, creatorId);
    await c.delete({ ids, where: { creator_id: creatorId } });
  }

  /** Nearest records of one creator, optionally within some knowledge bases or documents. */
  async query(
    kind: CollectionKind,
    embedding: number[],
    { creatorId, k, knowledgeBaseIds, where: extra }: {
      creatorId: string;
      k: number;
      knowledgeBaseIds?: string[];
      where?: Record<string, MetaCondition>;
    },
  ): Promise<VectorHit[]> {
    if (!embedding.some((x) => x !== 0)) return [];
    const c = await this.#collection(kind, creatorId);
    // The collection is the creator's own; a metadata filter is only added when narrowing further.
    const clauses: Where[] = [];
    if (knowledgeBaseIds?.length) clauses.push({ knowledge_base_id: { $in: knowledgeBaseIds } });
    for (const [key, value] of Object.entries(extra ?? {})) clauses.push({ [key]: value } as Where);
    const res = await c.query({
      queryEmbeddings: [embedding],
      nResults: k,
      where: clauses.length === 0
        ? undefined
        : clauses.length === 1
        ? clauses[0]
        : { $and: clauses },
      include: ["documents", "metadatas", "distances"],
    });
    const ids = res.ids[0] ?? [];
    return ids.map((id, i) => ({
      id,
      similarity: 1 - (res.distances[0]?.[i] ?? 1),
      text: res.documents[0]?.[i] ?? "",
      meta: res.metadatas[0]?.[i] as RecordMeta,
    })).filter((h) => h.meta?.creator_id === creatorId);
  }

  /** A creator's records of one document (or all of them), with their text and metadata. */
  async list(
    kind: CollectionKind,
    creatorId: string,
    documentId?: string,
  ): Promise<{ id: string; text: string; meta: RecordMeta }[]> {
    const c = await this.#collection(kind, creatorId);
    const where: Where = documentId
      ? { $and: [{ creator_id: creatorId }, { document_id: documentId }] }
      : { creator_id: creatorId };
    const res = await c.get({ where, include: ["documents", "metadatas"] });
    return res.ids.map((id, i) => ({
      id,
      text: res.documents[i] ?? "",
      meta: res.metadatas[i] as RecordMeta,
    })).filter((r) => r.meta?.creator_id === creatorId);
  }

  async count(kind: CollectionKind, creatorId: string, documentId?: string): Promise<number> {
    const c = await this.#collection(kind, creatorId);
    const where: Where = documentId
      ? { $and: [{ creator_id: creatorId }, { document_id: documentId }] }
      : { creator_id: creatorId };
    const res = await c.get({ where, include: [] });
    return res.ids.length;
  }
}
