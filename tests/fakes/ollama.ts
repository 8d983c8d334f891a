/**
 * A loopback server speaking the parts of Ollama's HTTP API that Coachd uses: `POST /api/chat`
 * (streaming NDJSON, or one JSON object with `stream: false`) and `POST /api/embed`. Replies are
 * deterministic so tests can assert them; every request is recorded.
 */
export interface FakeOllama extends AsyncDisposable {
  url: string;
  requests: { path: string; body: Record<string, unknown> }[];
  /** The chat answer, streamed word by word (or a function of the request's messages). */
  chatReply: string | ((messages: { role: string; content: string }[]) => string);
  /** Makes the next request fail with this HTTP status and message. */
  failNext?: { status: number; error: string };
}

export const FAKE_EMBED_DIMS = 8;

/** A deterministic embedding of a text: letter-frequency buckets, normalized. */
export function fakeEmbedding(text: string): number[] {
  const v = new Array(FAKE_EMBED_DIMS).fill(0);
  for (const ch of text.toLowerCase()) {
    const c = ch.charCodeAt(0);
    if (c >= 97 && c <= 122) v[c % FAKE_EMBED_DIMS] += 1;
  }
  const n = Math.hypot(...v) || 1;
  return v.map((x) => x / n);
}

export function startFakeOllama(): FakeOllama {
  const fake: FakeOllama = {
    url: "",
    requests: [],
    chatReply: "Drink water when you wake up [1].",
    async [Symbol.asyncDispose]() {
      await server.shutdown();
    },
  };
  const server = Deno.serve({ port: 0, hostname: "127.0.0.1", onListen: () => {} }, async (req) => {
    const path = new URL(req.url).pathname;
    const body = req.method === "POST" ? await req.json() : {};
    fake.requests.push({ path, body });
    if (fake.failNext) {
      const { status, error } = fake.failNext;
      fake.failNext = undefined;
      return Response.json({ error }, { status });
    }
    if (path === "/api/embed") {
      const input = Array.isArray(body.input) ? body.input : [body.input];
      return Response.json({
        model: body.model,
        embeddings: input.map((t: string) => fakeEmbedding(t)),
        total_duration: 1000,
        load_duration: 10,
        prompt_eval_count: input.length,
      });
    }
    if (path === "/api/chat") {
      const reply = typeof fake.chatReply === "function"
        ? fake.chatReply(body.messages)
        : fake.chatReply;
      const words = reply.split(/(?<= )/);
      const base = { model: body.model, created_at: new Date().toISOString() };
      if (body.stream === false) {
        return Response.json({
          ...base,
          message: { role: "assistant", content: reply },
          done: true,
          done_reason: "stop",
        });
      }
      const lines = [
        ...words.map((w) => ({ ...base, message: { role: "assistant", content: w }, done: false })),
        { ...base, message: { role: "assistant", content: "" }, done: true, done_reason: "stop" },
      ];
      const enc = new TextEncoder();
      const stream = new ReadableStream({
        async start(controller) {
          for (const line of lines) {
            controller.enqueue(enc.encode(JSON.stringify(line) + "\n"));
            await new Promise((r) => setTimeout(r, 1));
          }
          controller.close();
        },
      });
      return new Response(stream, { headers: { "content-type": "application/x-ndjson" } });
    }
    return Response.json({ error: `fake ollama: no route ${path}` }, { status: 404 });
  });
  fake.url = `http://127.0.0.1:${server.addr.port}`;
  return fake;
}
