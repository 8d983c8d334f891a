/** Embedder and ChatModel backed by an Ollama server through the `ollama` npm client. */
import { Ollama } from "ollama";
import {
  type ChatMessage,
  type ChatModel,
  type ChatOptions,
  type Embedder,
  ModelError,
} from "./models.ts";

export class OllamaEmbedder implements Embedder {
  readonly id: string;
  readonly #client: Ollama;
  readonly #model: string;
  dimensions: number;

  private constructor(client: Ollama, model: string, dimensions: number) {
    this.#client = client;
    this.#model = model;
    this.id = `ollama-${model}`;
    this.dimensions = dimensions;
  }

  /** Connects and learns the model's dimensions with one probe embedding. */
  static async create({ host, model }: { host: string; model: string }): Promise<OllamaEmbedder> {
    const client = new Ollama({ host });
    const e = new OllamaEmbedder(client, model, 0);
    const [probe] = await e.embed(["dimension probe"]);
    e.dimensions = probe!.length;
    return e;
  }

  async embed(texts: string[]): Promise<number[][]> {
    if (!texts.length) return [];
    try {
      const res = await this.#client.embed({ model: this.#model, input: texts });
      if (res.embeddings.length !== texts.length) {
        throw new ModelError(
          `Ollama returned ${res.embeddings.length} embeddings for ${texts.length} texts`,
        );
      }
      return res.embeddings;
    } catch (err) {
      if (err instanceof ModelError) throw err;
      throw new ModelError(`Ollama embed with ${this.#model} failed: ${(err as Error).message}`, {
        cause: err,
      });
    }
  }
}

export class OllamaChatModel implements ChatModel {
  readonly id: string;
  readonly #client: Ollama;
  readonly #model: string;

  constructor({ host, model }: { host: string; model: string }) {
    this.#client = new Ollama({ host });
    this.#model = model;
    this.id = `ollama-${model}`;
  }

  async *chat(messages: ChatMessage[], opts: ChatOptions = {}): AsyncIterable<string> {
    let stream;
    try {
      stream = await this.#client.chat({
        model: this.#model,
        messages,
        stream: true,
        ...(opts.json ? { format: "json" } : {}),
      });
    } catch (err) {
      throw new ModelError(`Ollama chat with ${this.#model} failed: ${(err as Error).message}`, {
        cause: err,
      });
    }
    const onAbort = () => stream.abort();
    opts.signal?.addEventListener("abort", onAbort, { once: true });
    try {
      for await (const part of stream) {
        if (part.message?.content) yield part.message.content;
        if (part.done) break;
      }
    } finally {
      opts.signal?.removeEventListener("abort", onAbort);
    }
  }
}
