/**
 * Test environment of the knowledge features: a migrated schema, a Chroma collection prefix and
 * the default (word-vector, extractive) services on them.
 */
import { type TestChroma, testChroma, type TestDb, testDb, VECTOR_CACHE_DIR } from "./harness.ts";
import { type Knowledge, loadDefaultModels, MIN_RELEVANCE } from "../knowledge/services.ts";
import { ExtractiveResponder } from "../knowledge/answer/responder.ts";
import { VectorStore } from "../knowledge/store/vector_store.ts";
import { ingestDocument } from "../knowledge/ingest/ingest.ts";
import { seedCreator, seedDocument, seedKnowledgeBase } from "./knowledge_seed.ts";

let models: ReturnType<typeof loadDefaultModels> | undefined;

export interface TestKnowledge extends AsyncDisposable {
  db: TestDb;
  chroma: TestChroma;
  knowledge: Knowledge;
}

/** Fresh schema + Chroma prefix with the default models (loaded once per process). */
export async function testKnowledge(): Promise<TestKnowledge> {
  const db = await testDb();
  const chroma = testChroma();
  models ??= loadDefaultModels({ cacheDir: VECTOR_CACHE_DIR });
  const { embedder, matcher, background } = await models;
  // The same parts createKnowledge() assembles without Ollama, sharing one copy of the vectors.
  const knowledge: Knowledge = {
    pool: db.pool,
    embedder,
    matcher,
    background,
    store: new VectorStore(chroma.client, { prefix: chroma.prefix, embedder }),
    responder: new ExtractiveResponder({ matcher }),
    minRelevance: MIN_RELEVANCE.soft,
  };
  return {
    db,
    chroma,
    knowledge,
    async [Symbol.asyncDispose]() {
      await chroma[Symbol.asyncDispose]();
      await db[Symbol.asyncDispose]();
    },
  };
}

/** A creator with one knowledge base holding the given Markdown documents, ingested. */
export async function seedCoach(
  knowledge: Knowledge,
  docs: Record<string, string>,
  name = "Coach",
): Promise<{ creatorId: string; knowledgeBaseId: string; documentIds: Record<string, string> }> {
  const creatorId = await seedCreator(knowledge.pool, name);
  const knowledgeBaseId = await seedKnowledgeBase(knowledge.pool, creatorId);
  const documentIds: Record<string, string> = {};
  for (const [title, content] of Object.entries(docs)) {
    const id = await seedDocument(knowledge.pool, {
      creatorId,
      knowledgeBaseId,
      title,
      filename: `${title}.md`,
      mimeType: "text/markdown",
      content,
    });
    const outcome = await ingestDocument(knowledge, creatorId, id);
    if (outcome.status !== "ready") throw new Error(`${title}: ${JSON.stringify(outcome)}`);
    documentIds[title] = id;
  }
  return { creatorId, knowledgeBaseId, documentIds };
}
