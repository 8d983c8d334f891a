/**
 * A served model behind its provider's breaker: embeddings and the start of a chat answer get a
 * deadline, and a model server that keeps failing is not called again until its breaker lets a
 * trial through. Callers already treat a model failure as "answer without it" or "retry later";
 * an open breaker makes that answer immediate instead of a wait for each call to time out.
 */
import type { ChatMessage, ChatModel, ChatOptions, Embedder } from "./models.ts";
import type { ProviderBreaker } from "./breaker.ts";

export function guardEmbedder(inner: Embedder, breaker: ProviderBreaker): Embedder {
  return {
    id: inner.id,
    get dimensions() {
      return inner.dimensions;
    },
    embed: (texts, opts = {}) =>
      breaker.execute((signal) =>
        inner.embed(texts, {
          signal: opts.signal ? AbortSignal.any([opts.signal, signal]) : signal,
        })
      ),
  };
}

/** The deadline covers the first piece of the answer; the rest streams as it comes. */
export function guardChatModel(inner: ChatModel, breaker: ProviderBreaker): ChatModel {
  return {
    id: inner.id,
    async *chat(messages: ChatMessage[], opts: ChatOptions = {}) {
      const ctl = new AbortController();
      const onCaller = () => ctl.abort(opts.signal?.reason);
      opts.signal?.addEventListener("abort", onCaller, { once: true });
      try {
        const { iter, first } = await breaker.execute(async (deadline) => {
          const onDeadline = () => ctl.abort(deadline.reason);
          deadline.addEventListener("abort", onDeadline, { once: true });
          try {
            const iter = inner.chat(messages, { ...opts, signal: ctl.signal })[
              Symbol.asyncIterator
            ]();
            return { iter, first: await iter.next() };
          } finally {
            deadline.removeEventListener("abort", onDeadline);
          }
        });
        if (first.done) return;
        yield first.value;
        for (let next = await iter.next(); !next.done; next = await iter.next()) yield next.value;
      } finally {
        opts.signal?.removeEventListener("abort", onCaller);
      }
    },
  };
}
