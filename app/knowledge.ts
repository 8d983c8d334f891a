/**
 * Wires the knowledge features into a node: services, actors, the ingestion and vector index
 * workers, routes.
 */
import { resolve } from "node:path";
import type { Config } from "./config.ts";
import type { NodeExtensionFactory } from "./node.ts";
import { coachingActors } from "../actors/mod.ts";
import {
  chromaClient,
  createIngestionQueue,
  createKnowledge,
  type ExtractorPoolOptions,
  type IngestionQueue,
  type Knowledge,
  startIngestionWorker,
  startVectorIndexWorker,
} from "../knowledge/mod.ts";
import { knowledgeRoutes } from "../api/routes/knowledge.ts";

/** Handles the admin API needs: the queue for uploads and deletes, and the services. */
export interface KnowledgeHandle {
  knowledge?: Knowledge;
  queue?: IngestionQueue;
}

/**
 * The node extension of the knowledge features. `handle` is filled in when the node starts, so
 * the admin API (mounted by the caller) can reach the queue and the services.
 */
export function knowledgeExtension(
  { chromaUrl, handle = {} }: { chromaUrl: string; handle?: KnowledgeHandle },
): NodeExtensionFactory {
  return async ({ pool, nc, config, log, breakers }) => {
    const knowledge = await createKnowledge({
      pool,
      chroma: chromaClient(chromaUrl),
      prefix: config.NATS_PREFIX,
      vectorCacheDir: resolve(config.DATA_DIR, "vectors"),
      ollama: ollamaOf(config),
      openai: config.OPENAI_BASE_URL
        ? {
          baseUrl: config.OPENAI_BASE_URL,
          apiKey: config.OPENAI_API_KEY,
          chatModel: config.OPENAI_CHAT_MODEL,
          embedModel: config.OPENAI_EMBED_MODEL,
        }
        : undefined,
      log,
      breakers,
    });
    log.info("knowledge models", {
      embedder: knowledge.embedder.id,
      responder: knowledge.responder.id,
    });
    handle.knowledge = knowledge;
    handle.queue = createIngestionQueue({
      nc,
      prefix: config.NATS_PREFIX,
      pool,
      store: knowledge.store,
    });
    return {
      actors: coachingActors({ knowledge, debounceMs: config.INBOUND_DEBOUNCE_MS }),
      api: {
        ingestion: handle.queue,
        onDocumentDeleted: (creatorId, documentId) =>
          handle.queue!.onDocumentDeleted(creatorId, documentId),
        extensions: [knowledgeRoutes({ knowledge })],
      },
      start: async (system) => {
        const workers = new AsyncDisposableStack();
        try {
          workers.use(
            await startIngestionWorker(
              { ...knowledge, nc, prefix: config.NATS_PREFIX, log },
              { extraction: extractionOf(config) },
            ),
          );
          workers.use(
            await startVectorIndexWorker({
              ...knowledge,
              nc,
              prefix: config.NATS_PREFIX,
              log,
              deadLetters: system.deadLetters,
            }),
          );
          return workers.move();
        } catch (err) {
          await workers.disposeAsync();
          throw err;
        }
      },
    };
  };
}

function extractionOf(config: Config): ExtractorPoolOptions {
  return {
    size: config.INGEST_EXTRACTORS,
    memoryMb: config.INGEST_EXTRACTOR_MEMORY_MB,
    timeoutMs: config.INGEST_EXTRACTOR_TIMEOUT_MS,
    limits: {
      maxUnpackedBytes: config.INGEST_MAX_UNPACKED_BYTES,
      maxCompressionRatio: config.INGEST_MAX_COMPRESSION_RATIO,
      maxZipEntries: config.INGEST_MAX_ZIP_ENTRIES,
      maxPages: config.INGEST_MAX_PAGES,
      maxParagraphs: config.INGEST_MAX_PARAGRAPHS,
      maxTextChars: config.INGEST_MAX_TEXT_CHARS,
      maxChunks: config.INGEST_MAX_CHUNKS,
    },
  };
}

function ollamaOf(config: Config) {
  return config.OLLAMA_HOST
    ? {
      host: config.OLLAMA_HOST,
      chatModel: config.OLLAMA_CHAT_MODEL,
      embedModel: config.OLLAMA_EMBED_MODEL,
    }
    : undefined;
}
