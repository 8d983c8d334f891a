/**
 * A loopback server speaking the parts of the OpenAI API that Coachd uses, as llama.cpp server,
 * vLLM and LM Studio do: `POST /v1/chat/completions` (server-sent events with `stream: true`, one
 * JSON object otherwise) and `POST /v1/embeddings`. Replies are deterministic; every request is
 * recorded with its headers; `failNext` answers the next requests with an error (429 with
 * `retry-after`, 403, 5xx) the way the API does.
 */
import { fakeEmbedding } from "./ollama.ts";

export interface FakeOpenAI extends AsyncDisposable {
  /** Base URL to give the client (ends in `/v1`). */
  url: string;
  requests: { path: string; body: Record<string, unknown>; authorization: string | null }[];
  /** The chat answer, or a function of the request's messages. */
  chatReply: string | ((messages: { role: string; content: string }[]) => string);
  /** The next requests fail, in order, with these statuses (and `retry-after` seconds). */
  failNext: { status: number; message: string; retryAfter?: number }[];
}

export function startFakeOpenAI(): FakeOpenAI {
  const fake: FakeOpenAI = {
    url: "",
    requests: [],
    chatReply: "Drink water when you wake up [1].",
    failNext: [],
    async [Symbol.asyncDispose]() {
      await server.shutdown();
    },
  };
  const server = Deno.serve({ port: 0, hostname: "127.0.0.1", onListen: () => {} }, async (req) => {
    const path = new URL(req.url).pathname;
    const body = req.method === "POST" ? await req.json() : {};
    fake.requests.push({ path, body, authorization: req.headers.get("authorization") });
    const fail = fake.failNext.shift();
    if (fail) {
      return Response.json(
        { error: { message: fail.message, type: "fake_error", code: String(fail.status) } },
        {
          status: fail.status,
          headers: fail.retryAfter !== undefined ? { "retry-after": String(fail.retryAfter) } : {},
        },
      );
    }
    if (path === "/v1/embeddings") {
      const input: string[] = Array.isArray(body.input) ? body.input : [body.input];
      // Out of order on purpose: clients must sort by `index`.
      const data = input.map((t, index) => ({
        object: "embedding",
        index,
        embedding: fakeEmbedding(t),
      }))
        .reverse();
      return Response.json({
        object: "list",
        data,
        model: body.model,
        usage: { prompt_tokens: input.length, total_tokens: input.length },
      });
    }
    if (path === "/v1/chat/completions") {
      const reply = typeof fake.chatReply === "function"
        ? fake.chatReply(body.messages)
        : fake.chatReply;
      const base = {
        id: "chatcmpl-fake",
        created: Math.floor(Date.now() / 1000),
        model: body.model,
      };
      if (!body.stream) {
        return Response.json({
          ...base,
          object: "chat.completion",
          choices: [{
            index: 0,
            message: { role: "assistant", content: reply },
            finish_reason: "stop",
          }],
        });
      }
      const pieces = reply.split(/(?<= )/);
      const enc = new TextEncoder();
      const event = (delta: Record<string, unknown>, finish: string | null) =>
        enc.encode(
          `data: ${
            JSON.stringify({
              ...base,
              object: "chat.completion.chunk",
              choices: [{ index: 0, delta, finish_reason: finish }],
            })
          }\n\n`,
        );
      const stream = new ReadableStream({
        async start(controller) {
          controller.enqueue(event({ role: "assistant", content: "" }, null));
          for (const p of pieces) {
            controller.enqueue(event({ content: p }, null));
            await new Promise((r) => setTimeout(r, 1));
          }
          controller.enqueue(event({}, "stop"));
          controller.enqueue(enc.encode("data: [DONE]\n\n"));
          controller.close();
        },
      });
      return new Response(stream, { headers: { "content-type": "text/event-stream" } });
    }
    return Response.json({ error: { message: `fake openai: no route ${path}` } }, { status: 404 });
  });
  fake.url = `http://127.0.0.1:${server.addr.port}/v1`;
  return fake;
}
