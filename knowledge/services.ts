/** Builds the knowledge services a node uses from its configuration. */
import type pg from "pg";
import type { ChromaClient } from "chromadb";
import type { Logger } from "../runtime/mod.ts";
import type { BrainDeps } from "./answer/brain.ts";
import type { ChatModel, Embedder } from "./models/models.ts";
import { OllamaChatModel, OllamaEmbedder } from "./models/ollama.ts";
import type { ProviderBreakers } from "./models/breaker.ts";
import { guardChatModel, guardEmbedder } from "./models/guarded.ts";
import { OpenAIChatModel, OpenAIEmbedder } from "./models/openai.ts";
import { ChatModelJudge } from "./answer/llm_judge.ts";
import { ChatModelResponder, ExtractiveResponder, type Responder } from "./answer/responder.ts";
import { SifEmbedder } from "./language/sif_embedder.ts";
import { SoftMatcher } from "./language/soft_match.ts";
import { VectorStore } from "./store/vector_store.ts";
import { loadWordVectors } from "./language/word_vectors.ts";
import { loadPhraseLexicon } from "./language/phrases.ts";
import { Background } from "./language/background.ts";

/** Everything retrieval, ingestion and the conversation brain need. */
export interface Knowledge extends BrainDeps {
  pool: pg.Pool;
  embedder: Embedder;
  store: VectorStore;
  responder: Responder;
  /** The chat model behind the responder, when one is configured (content drafts use it). */
  chat?: ChatModel;
}

/**
 * Relevance thresholds: hub-corrected word match for the word-vector default (set just above the
 * most relevant-looking of the 43 off-topic dev questions, 0.491), cosine similarity for a neural
 * embedder.
 */
export const MIN_RELEVANCE = { soft: 0.5, cosine: 0.5 };

export interface KnowledgeOptions {
  pool: pg.Pool;
  chroma: ChromaClient;
  /** Prefix of the Chroma collections (the NATS prefix in a node). */
  prefix: string;
  /** Where the word-vector cache lives. */
  vectorCacheDir: string;
  ollama?: { host: string; chatModel: string; embedModel: string };
  /** An OpenAI-compatible server (llama.cpp server, vLLM, LM Studio); used when set. */
  openai?: { baseUrl: string; apiKey?: string; chatModel: string; embedModel: string };
  /** Overrides the default threshold. */
  minRelevance?: number;
  log?: Logger;
  /** The node's provider breakers: a served model's calls go through its own. */
  breakers?: ProviderBreakers;
}

/**
 * An OpenAI-compatible server or Ollama when configured (the chat model reranks, judges
 * answerability and writes the answer), otherwise the embedded default (word vectors,
 * extractive).
 */
export async function createKnowledge(o: KnowledgeOptions): Promise<Knowledge> {
  const served = o.openai
    ? {
      embedder: await OpenAIEmbedder.create({
        baseUrl: o.openai.baseUrl,
        apiKey: o.openai.apiKey,
        model: o.openai.embedModel,
      }),
      chat: new OpenAIChatModel({
        baseUrl: o.openai.baseUrl,
        apiKey: o.openai.apiKey,
        model: o.openai.chatModel,
      }),
    }
    : o.ollama
    ? {
      embedder: await OllamaEmbedder.create({ host: o.ollama.host, model: o.ollama.embedModel }),
      chat: new OllamaChatModel({ host: o.ollama.host, model: o.ollama.chatModel }),
    }
    : undefined;
  if (served) {
    const name = o.openai ? "openai" : "ollama";
    const breaker = o.breakers?.get(name);
    const embedder = breaker ? guardEmbedder(served.embedder, breaker) : served.embedder;
    const chat = breaker ? guardChatModel(served.chat, breaker) : served.chat;
    return {
      pool: o.pool,
      embedder,
      store: new VectorStore(o.chroma, { prefix: o.prefix, embedder }),
      responder: new ChatModelResponder(chat),
      judge: new ChatModelJudge(chat),
      chat,
      minRelevance: o.minRelevance ?? MIN_RELEVANCE.cosine,
    };
  }
  const { embedder, matcher, background } = await loadDefaultModels({
    cacheDir: o.vectorCacheDir,
    log: (line) => o.log?.info(line),
  });
  return {
    pool: o.pool,
    embedder,
    matcher,
    background,
    store: new VectorStore(o.chroma, { prefix: o.prefix, embedder }),
    responder: new ExtractiveResponder({ matcher }),
    minRelevance: o.minRelevance ?? MIN_RELEVANCE.soft,
  };
}

/**
 * The embedded default's models: the SIF word-vector embedder, the soft matcher that reads
 * questions word by word and WordNet phrase by phrase, and WordNet's definitions as the general
 * knowledge a question is weighed against (each built once into `cacheDir`).
 */
export async function loadDefaultModels(
  { cacheDir, log }: { cacheDir: string; log?: (line: string) => void },
): Promise<{ embedder: SifEmbedder; matcher: SoftMatcher; background: Background }> {
  const wordVectors = await loadWordVectors({ cacheDir, log });
  const embedder = new SifEmbedder(wordVectors);
  const phrases = await loadPhraseLexicon({
    cacheDir,
    wordVectors,
    weightOf: (row) => embedder.weightOf(row),
    log,
  });
  const matcher = new SoftMatcher(embedder, { phrases });
  await matcher.loadHubness({ cacheDir, log });
  const background = await Background.load({ cacheDir, embedder, matcher, log });
  return { embedder, matcher, background };
}
