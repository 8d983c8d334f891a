/**
 * Embedder and ChatModel for any server speaking the OpenAI API (llama.cpp server, vLLM, LM
 * Studio, OpenAI itself) through the `openai` npm client, pointed at `OPENAI_BASE_URL`. The
 * client retries 429 (honouring `retry-after`) and 5xx answers itself.
 */
import OpenAI from "openai";
import {
  type ChatMessage,
  type ChatModel,
  type ChatOptions,
  type Embedder,
  ModelError,
} from "./models.ts";

export interface OpenAIOptions {
  baseUrl: string;
  /** Local servers accept any key; the client requires one. */
  apiKey?: string;
  model: string;
  /** Retries of 429 and 5xx answers (the client's default is 2). */
  maxRetries?: number;
}

function client({ baseUrl, apiKey, maxRetries }: OpenAIOptions): OpenAI {
  return new OpenAI({ baseURL: baseUrl, apiKey: apiKey || "not-needed", maxRetries });
}

function failure(what: string, model: string, err: unknown): ModelError {
  const status = (err as { status?: number }).status;
  return new ModelError(
    `OpenAI-compatible ${what} with ${model} failed${status ? ` (HTTP ${status})` : ""}: ${
      (err as Error).message
    }`,
    { cause: err },
  );
}

export class OpenAIEmbedder implements Embedder {
  readonly id: string;
  readonly #client: OpenAI;
  readonly #model: string;
  dimensions = 0;

  private constructor(o: OpenAIOptions) {
    this.#client = client(o);
    this.#model = o.model;
    this.id = `openai-${o.model}`;
  }

  /** Connects and learns the model's dimensions with one probe embedding. */
  static async create(o: OpenAIOptions): Promise<OpenAIEmbedder> {
    const e = new OpenAIEmbedder(o);
    const [probe] = await e.embed(["dimension probe"]);
    e.dimensions = probe!.length;
    return e;
  }

  async embed(texts: string[], opts: { signal?: AbortSignal } = {}): Promise<number[][]> {
    if (!texts.length) return [];
    let res;
    try {
      res = await this.#client.embeddings.create({ model: this.#model, input: texts }, {
        signal: opts.signal,
      });
    } catch (err) {
      throw failure("embed", this.#model, err);
    }
    if (res.data.length !== texts.length) {
      throw new ModelError(
        `The server returned ${res.data.length} embeddings for ${texts.length} texts`,
      );
    }
    return [...res.data].sort((a, b) => a.index - b.index).map((d) => d.embedding);
  }
}

export class OpenAIChatModel implements ChatModel {
  readonly id: string;
  readonly #client: OpenAI;
  readonly #model: string;

  constructor(o: OpenAIOptions) {
    this.#client = client(o);
    this.#model = o.model;
    this.id = `openai-${o.model}`;
  }

  async *chat(messages: ChatMessage[], opts: ChatOptions = {}): AsyncIterable<string> {
    let stream;
    try {
      stream = await this.#client.chat.completions.create({
        model: this.#model,
        messages,
        stream: true,
        ...(opts.json ? { response_format: { type: "json_object" as const } } : {}),
      }, { signal: opts.signal });
    } catch (err) {
      throw failure("chat", this.#model, err);
    }
    try {
      for await (const chunk of stream) {
        const piece = chunk.choices[0]?.delta?.content;
        if (piece) yield piece;
      }
    } catch (err) {
      if (opts.signal?.aborted) return;
      throw failure("chat", this.#model, err);
    }
  }
}
