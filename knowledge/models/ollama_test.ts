import assert from "node:assert/strict";
import { FAKE_EMBED_DIMS, fakeEmbedding, startFakeOllama } from "../../tests/fakes/ollama.ts";
import { OllamaChatModel, OllamaEmbedder } from "./ollama.ts";
import { ModelError } from "./models.ts";
import { ChatModelResponder } from "../answer/responder.ts";

Deno.test("OllamaEmbedder.embed() posts the texts to /api/embed and returns their vectors", async () => {
  await using fake = startFakeOllama();
  const e = await OllamaEmbedder.create({ host: fake.url, model: "nomic-embed-text" });
  assert.equal(e.dimensions, FAKE_EMBED_DIMS);
  assert.equal(e.id, "ollama-nomic-embed-text");
  const out = await e.embed(["sleep well", "drink water"]);
  assert.deepEqual(out, [fakeEmbedding("sleep well"), fakeEmbedding("drink water")]);
  const last = fake.requests.at(-1)!;
  assert.equal(last.path, "/api/embed");
  assert.deepEqual(last.body.input, ["sleep well", "drink water"]);
  assert.equal(last.body.model, "nomic-embed-text");
});

Deno.test("OllamaEmbedder.embed() rejects with ModelError when the server fails", async () => {
  await using fake = startFakeOllama();
  const e = await OllamaEmbedder.create({ host: fake.url, model: "m" });
  fake.failNext = { status: 404, error: 'model "m" not found, try pulling it first' };
  await assert.rejects(() => e.embed(["x"]), (err: unknown) => {
    assert.ok(err instanceof ModelError);
    assert.match(err.message, /Ollama embed with m failed: .*not found/);
    return true;
  });
});

Deno.test("OllamaChatModel.chat() streams the answer piece by piece", async () => {
  await using fake = startFakeOllama();
  fake.chatReply = "Keep naps under twenty minutes [1].";
  const chat = new OllamaChatModel({ host: fake.url, model: "llama3.1:8b" });
  const pieces: string[] = [];
  for await (const p of chat.chat([{ role: "user", content: "naps?" }])) pieces.push(p);
  assert.ok(pieces.length > 3, `expected several streamed pieces, got ${pieces.length}`);
  assert.equal(pieces.join(""), fake.chatReply);
  const req = fake.requests.at(-1)!;
  assert.equal(req.path, "/api/chat");
  assert.equal(req.body.stream, true);
  assert.deepEqual(req.body.messages, [{ role: "user", content: "naps?" }]);
});

Deno.test("ChatModelResponder builds the prompt with @langchain/core: passages, history, question", async () => {
  await using fake = startFakeOllama();
  const responder = new ChatModelResponder(
    new OllamaChatModel({ host: fake.url, model: "llama3.1:8b" }),
    { coach: "Dana" },
  );
  let answer = "";
  for await (
    const p of responder.answer({
      question: "How long should naps be?",
      passages: [{
        id: "d:0",
        creatorId: "c",
        knowledgeBaseId: "k",
        documentId: "d",
        documentTitle: "Sleep",
        heading: "Naps",
        text: "Keep naps short: 20 minutes at most.",
        position: { ordinal: 0, start: 0, end: 10, page: null },
        score: 1,
        relevance: 1,
        signals: {},
      }],
      history: [{ role: "user", text: "Hi" }, { role: "assistant", text: "Hello!" }],
      summary: "",
      profile: { goals: ["sleep better"], preferences: {}, language: "en" },
      maxChars: 500,
    })
  ) answer += p;
  assert.equal(answer, fake.chatReply);
  const messages = fake.requests.at(-1)!.body.messages as { role: string; content: string }[];
  assert.deepEqual(messages.map((m) => m.role), ["system", "user", "assistant", "user"]);
  assert.match(messages[0]!.content, /Dana's coaching assistant/);
  assert.match(messages[0]!.content, /\[1\] Sleep — Naps: Keep naps short/);
  assert.match(messages[0]!.content, /sleep better/);
  assert.equal(messages[3]!.content, "How long should naps be?");
});
