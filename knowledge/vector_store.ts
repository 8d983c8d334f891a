import { ChromaClient, type Collection, type Metadata, type Where } from "chromadb";
import type { Embedder } from "./models.ts";

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
 * profiles. A collection name carries the model id, so vectors of different models never mix.
 */
export class VectorStore {
  readonly #client: ChromaClient;
  readonly #prefix: string;
  readonly #model: string;
  readonly #collections = new Map<CollectionKind, Promise<Collection>>();

  constructor(client: ChromaClient, { prefix, embedder }: { prefix: string; embedder: Embedder }) {
    this.#client = client;
    this.#prefix = prefix;
    this.#model = embedder.id.replace(/[^A-Za-z0-9_-]+/g, "-");
  }

  collectionName(kind: CollectionKind): string {
    return `${this.#prefix}_${kind}_${this.#model}`;
  }

  #collection(kind: CollectionKind): Promise<Collection> {
    let c = this.#collections.get(kind);
    if (!c) {
      c = this.#client.getOrCreateCollection({
        name: this.collectionName(kind),
        embeddingFunction: null,
        configuration: { hnsw: { space: "cosine" } },
      });
      c.catch(() => this.#collections.delete(kind));
      this.#collections.set(kind, c);
    }
    return c;
  }

  /** Inserts or replaces records (in batches Chroma accepts). */
  async upsert(
    kind: CollectionKind,
    records: { id: string; embedding: number[]; text: string; meta: RecordMeta }[],
  ): Promise<void> {
    const c = await this.#collection(kind);
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
    const c = await this.#collection(kind);
    await c.delete({ where: { $and: [{ creator_id: creatorId }, { document_id: documentId }] } });
  }

  /** Removes records by id, but only the creator's own. */
  async deleteIds(kind: CollectionKind, creatorId: string, ids: string[]) {
    if (!ids.length) return;
    const c = await this.#collection(kind);
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
      where?: Record<string, string>;
    },
  ): Promise<VectorHit[]> {
    if (!embedding.some((x) => x !== 0)) return [];
    const c = await this.#collection(kind);
    const clauses: Where[] = [{ creator_id: creatorId }];
    if (knowledgeBaseIds?.length) clauses.push({ knowledge_base_id: { $in: knowledgeBaseIds } });
    for (const [key, value] of Object.entries(extra ?? {})) clauses.push({ [key]: value });
    const res = await c.query({
      queryEmbeddings: [embedding],
      nResults: k,
      where: clauses.length === 1 ? clauses[0] : { $and: clauses },
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

  async count(kind: CollectionKind, creatorId: string, documentId?: string): Promise<number> {
    const c = await this.#collection(kind);
    const where: Where = documentId
      ? { $and: [{ creator_id: creatorId }, { document_id: documentId }] }
      : { creator_id: creatorId };
    const res = await c.get({ where, include: [] });
    return res.ids.length;
  }
}
