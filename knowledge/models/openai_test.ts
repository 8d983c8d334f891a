import assert from "node:assert/strict";
import { startFakeOpenAI } from "../../tests/fakes/openai.ts";
import { FAKE_EMBED_DIMS, fakeEmbedding } from "../../tests/fakes/ollama.ts";
import { OpenAIChatModel, OpenAIEmbedder } from "./openai.ts";
import { complete, ModelError } from "./models.ts";

Deno.test("OpenAIEmbedder.embed() posts to /v1/embeddings with the key and returns vectors in input order", async () => {
  await using fake = startFakeOpenAI();
  const e = await OpenAIEmbedder.create({
    baseUrl: fake.url,
    apiKey: "sk-local",
    model: "nomic-embed-text",
  });
  assert.equal(e.dimensions, FAKE_EMBED_DIMS);
  assert.equal(e.id, "openai-nomic-embed-text");
  // The fake answers in reverse order: the embedder must sort by index.
  assert.deepEqual(await e.embed(["sleep well", "drink water"]), [
    fakeEmbedding("sleep well"),
    fakeEmbedding("drink water"),
  ]);
  const last = fake.requests.at(-1)!;
  assert.equal(last.path, "/v1/embeddings");
  assert.equal(last.authorization, "Bearer sk-local");
  assert.deepEqual(last.body.input, ["sleep well", "drink water"]);
});

Deno.test("OpenAIChatModel.chat() streams server-sent pieces; json asks for a JSON object", async () => {
  await using fake = startFakeOpenAI();
  fake.chatReply = "Keep naps under twenty minutes [1].";
  const chat = new OpenAIChatModel({ baseUrl: fake.url, model: "llama-3.1-8b" });
  const pieces: string[] = [];
  for await (const p of chat.chat([{ role: "user", content: "naps?" }])) pieces.push(p);
  assert.ok(pieces.length > 3, `expected several streamed pieces, got ${pieces.length}`);
  assert.equal(pieces.join(""), fake.chatReply);
  const req = fake.requests.at(-1)!;
  assert.equal(req.path, "/v1/chat/completions");
  assert.equal(req.body.stream, true);
  assert.equal(req.body.model, "llama-3.1-8b");
  assert.equal(req.body.response_format, undefined);
  fake.chatReply = '{"answering": []}';
  assert.equal(
    await complete(chat, [{ role: "user", content: "x" }], { json: true }),
    fake.chatReply,
  );
  assert.deepEqual(fake.requests.at(-1)!.body.response_format, { type: "json_object" });
});

Deno.test("OpenAIChatModel - a 429 with retry-after is retried; a 403 is not and says so", async () => {
  await using fake = startFakeOpenAI();
  fake.chatReply = "ok";
  const chat = new OpenAIChatModel({ baseUrl: fake.url, model: "m" });
  fake.failNext = [{ status: 429, message: "Rate limit reached", retryAfter: 0 }];
  assert.equal(await complete(chat, [{ role: "user", content: "hi" }]), "ok");
  assert.equal(fake.requests.length, 2);

  fake.failNext = [{ status: 403, message: "model access denied" }];
  await assert.rejects(() => complete(chat, [{ role: "user", content: "hi" }]), (err) => {
    assert.ok(err instanceof ModelError);
    assert.match(err.message, /OpenAI-compatible chat with m failed \(HTTP 403\): .*access denied/);
    return true;
  });
  assert.equal(fake.requests.length, 3);
});

Deno.test("OpenAIEmbedder - 5xx answers are retried, then fail with ModelError", async () => {
  await using fake = startFakeOpenAI();
  const e = await OpenAIEmbedder.create({ baseUrl: fake.url, model: "m", maxRetries: 1 });
  const before = fake.requests.length;
  fake.failNext = [{ status: 503, message: "loading model" }, { status: 503, message: "loading" }];
  await assert.rejects(() => e.embed(["x"]), (err) => {
    assert.ok(err instanceof ModelError);
    assert.match(err.message, /\(HTTP 503\)/);
    return true;
  });
  assert.equal(fake.requests.length - before, 2);
});
