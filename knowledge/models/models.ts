/** The model interfaces the knowledge and conversation code depends on. */

/** Turns texts into vectors; `id` names the model so each model gets its own collections. */
export interface Embedder {
  readonly id: string;
  readonly dimensions: number;
  embed(texts: string[], opts?: { signal?: AbortSignal }): Promise<number[][]>;
}

export interface ChatMessage {
  role: "system" | "user" | "assistant";
  content: string;
}

export interface ChatOptions {
  signal?: AbortSignal;
  /** Ask the server for a JSON object (Ollama `format: "json"`, OpenAI `response_format`). */
  json?: boolean;
}

/** A chat model that streams its answer as text pieces. */
export interface ChatModel {
  readonly id: string;
  chat(messages: ChatMessage[], opts?: ChatOptions): AsyncIterable<string>;
}

/** The whole reply of a chat model as one string. */
export async function complete(
  model: ChatModel,
  messages: ChatMessage[],
  opts: ChatOptions = {},
): Promise<string> {
  let out = "";
  for await (const piece of model.chat(messages, opts)) out += piece;
  return out;
}

export class ModelError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "ModelError";
  }
}
