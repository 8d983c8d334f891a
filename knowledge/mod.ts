/**
 * Coachd's knowledge features: ingestion of creators' documents, hybrid retrieval on Chroma and
 * Postgres, the models behind answers, and the conversation pipeline with its quality checks.
 *
 * The one door into the knowledge layer: actors, the admin API and the node import from here, never
 * from the rooms inside (`ingest/`, `store/`, `language/`, `models/`, `retrieval/`, `answer/`). A
 * conversation needs {@link runTurn} (retrieve, answer, check in one call) with the
 * {@link Knowledge} services a node builds with {@link createKnowledge}; the admin API needs
 * {@link createIngestionQueue} (on upload, update and delete of a document), {@link retrieve},
 * {@link converse} and {@link generateDrafts}.
 *
 * @example
 * ```ts ignore
 * import { createIngestionQueue, createKnowledge } from "./knowledge/mod.ts";
 * const knowledge = await createKnowledge({ pool, chroma });
 * const queue = createIngestionQueue({ nc, prefix: "coachd", pool, store: knowledge.store });
 * await queue.enqueue(creatorId, documentId); // after inserting the document row
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
} from "./ingest/ingest_queue.ts";
export {
  embeddingText,
  ingestDocument,
  type IngestOutcome,
  removeDocument,
} from "./ingest/ingest.ts";
export { chunkId } from "./store/chunk_rows.ts";
export {
  applyIndexEvent,
  IndexErase,
  IndexPut,
  indexSubject,
  startVectorIndexWorker,
  vectorIndexNames,
  type VectorIndexWorker,
} from "./store/vector_index.ts";
export { type Passage, retrieve, type RetrieveOptions } from "./retrieval/retrieve.ts";
export {
  asksForHuman,
  type BrainDeps,
  BrainError,
  type BrainEvent,
  type Citation,
  converse,
  runTurn,
  type SafetyFlag,
  type TurnInput,
  type TurnResult,
} from "./answer/brain.ts";
export { type AnswerFormat, checkAnswer, formatAnswer, type QaVerdict } from "./answer/qa.ts";
export { type AnswerJudge, ChatModelJudge, type Judgement } from "./answer/llm_judge.ts";
export { type HealthConcern, type HealthReading, readHealth } from "./answer/health.ts";
export {
  type ChatMessage,
  type ChatModel,
  type ChatOptions,
  complete,
  type Embedder,
  ModelError,
} from "./models/models.ts";
export { OllamaChatModel, OllamaEmbedder } from "./models/ollama.ts";
export {
  type BreakerOptions,
  type BreakerState,
  ProviderBreaker,
  ProviderBreakers,
  ProviderTimeoutError,
  ProviderUnavailableError,
} from "./models/breaker.ts";
export { guardChatModel, guardEmbedder } from "./models/guarded.ts";
export { OpenAIChatModel, OpenAIEmbedder, type OpenAIOptions } from "./models/openai.ts";
export { ChatModelResponder, ExtractiveResponder, type Responder } from "./answer/responder.ts";
export { SifEmbedder } from "./language/sif_embedder.ts";
export { loadWordVectors, type WordVectors, WordVectorsError } from "./language/word_vectors.ts";
export { chromaClient, VectorStore } from "./store/vector_store.ts";
export { ExtractionError, extractText } from "./ingest/extract.ts";
export { ExtractorCrashedError } from "./ingest/errors.ts";
export { DEFAULT_LIMITS, type ExtractionLimits, LimitExceededError } from "./ingest/limits.ts";
export { type Extractor, inProcessExtractor, type ReadDocument } from "./ingest/extractor.ts";
export { ExtractorPool, type ExtractorPoolOptions } from "./ingest/extractor_pool.ts";
export { type Draft, generateDrafts } from "./answer/generate.ts";
