/**
 * Coachd's knowledge features: ingestion of creators' documents, hybrid retrieval on Chroma and
 * Postgres, the models behind answers, and the conversation pipeline with its quality checks.
 *
 * The admin API uses three things: {@link createIngestionQueue} (on upload, update and delete of a
 * document), {@link knowledgeRoutes} (search, preview chat, drafts) and the {@link Knowledge}
 * services a node builds with {@link createKnowledge}.
 *
 * @example
 * ```ts ignore
 * import { createIngestionQueue, knowledgeRoutes } from "./knowledge/mod.ts";
 * const queue = createIngestionQueue({ nc, prefix: "coachd", pool, store: knowledge.store });
 * await queue.enqueue(creatorId, documentId); // after inserting the document row
 * const api = createApi({ extensions: [knowledgeRoutes({ knowledge })] });
 * ```
 * @module
 */
export {
  createKnowledge,
  type Knowledge,
  type KnowledgeOptions,
  MIN_RELEVANCE,
} from "./services.ts";
export {
  createIngestionQueue,
  ensureWorkStream,
  type IngestionQueue,
  type IngestionWorker,
  startIngestionWorker,
  workNames,
} from "./ingest_queue.ts";
export { ingestDocument, type IngestOutcome, removeDocument } from "./ingest.ts";
export {
  applyIndexEvent,
  IndexErase,
  IndexPut,
  indexSubject,
  startVectorIndexWorker,
  vectorIndexNames,
  type VectorIndexWorker,
} from "./vector_index.ts";
export { type AuthInfo, type KnowledgeEnv, knowledgeRoutes } from "./routes.ts";
export { type Passage, retrieve, type RetrieveOptions } from "./retrieve.ts";
export {
  asksForHuman,
  type BrainDeps,
  BrainError,
  type BrainEvent,
  type Citation,
  converse,
  runTurn,
  type TurnInput,
  type TurnResult,
} from "./brain.ts";
export { type Channel, CHANNEL_RULES, checkAnswer, type QaVerdict } from "./qa.ts";
export { type ChatMessage, type ChatModel, type Embedder, ModelError } from "./models.ts";
export { OllamaChatModel, OllamaEmbedder } from "./ollama.ts";
export { ChatModelResponder, ExtractiveResponder, type Responder } from "./responder.ts";
export { SifEmbedder } from "./sif_embedder.ts";
export { loadWordVectors, type WordVectors, WordVectorsError } from "./word_vectors.ts";
export { chromaClient, VectorStore } from "./vector_store.ts";
export { ExtractionError, extractText } from "./extract.ts";
export { type Draft, generateDrafts } from "./generate.ts";
