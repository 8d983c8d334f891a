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

/** A chat model that streams its answer as text pieces. */
export interface ChatModel {
  readonly id: string;
  chat(messages: ChatMessage[], opts?: { signal?: AbortSignal }): AsyncIterable<string>;
}

export class ModelError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "ModelError";
  }
}
