import assert from "node:assert/strict";
import { seedCoach, testKnowledge } from "../../tests/knowledge_env.ts";
import { startFakeOpenAI } from "../../tests/fakes/openai.ts";
import { startFakeOllama } from "../../tests/fakes/ollama.ts";
import { OpenAIChatModel, OpenAIEmbedder } from "../models/openai.ts";
import { OllamaChatModel } from "../models/ollama.ts";
import type { ChatModel } from "../models/models.ts";
import { VectorStore } from "../store/vector_store.ts";
import { ChatModelResponder } from "./responder.ts";
import { ChatModelJudge, parseJudgement } from "./llm_judge.ts";
import { runTurn } from "./brain.ts";
import type { Knowledge } from "../services.ts";

const SLEEP = `# Sleep
## Caffeine
Caffeine has a half-life of five to six hours. Stop drinking coffee by 2 pm.

## Naps
Keep naps short: 20 minutes at most, and before 3 pm.`;

/** The fake model's side: the judge names the passage holding "20 minutes"; answers cite [1]. */
function modelReply(messages: { role: string; content: string }[]): string {
  const system = messages[0]?.content ?? "";
  if (system.startsWith("You check whether passages")) {
    const user = messages.at(-1)!.content;
    if (/capital/i.test(user)) return '{"answering": [], "reason": "not covered"}';
    const n = user.split("\n").find((l) => /20 minutes/.test(l))?.match(/^\[(\d+)\]/)?.[1];
    return JSON.stringify({ answering: n ? [Number(n)] : [], reason: "states the length" });
  }
  return "Keep naps short: 20 minutes at most, and before 3 pm [1].";
}

function knowledgeWith(env: Awaited<ReturnType<typeof testKnowledge>>, chat: ChatModel) {
  const k: Knowledge = {
    ...env.knowledge,
    matcher: undefined,
    background: undefined,
    responder: new ChatModelResponder(chat),
    judge: new ChatModelJudge(chat),
    chat,
    minRelevance: 0.5,
  };
  return k;
}

Deno.test("runTurn() with an OpenAI-compatible model: the judge picks the passage, the answer cites only it", async () => {
  await using env = await testKnowledge();
  await using fake = startFakeOpenAI();
  fake.chatReply = modelReply;
  const embedder = await OpenAIEmbedder.create({ baseUrl: fake.url, model: "embed" });
  const chat = new OpenAIChatModel({ baseUrl: fake.url, model: "chat" });
  const k: Knowledge = {
    ...knowledgeWith(env, chat),
    embedder,
    store: new VectorStore(env.chroma.client, { prefix: env.chroma.prefix, embedder }),
  };
  const coach = await seedCoach(k, { Sleep: SLEEP });
  const r = await runTurn(k, {
    creatorId: coach.creatorId,
    message: "How long can I nap?",
    history: [],
    summary: "",
    format: { maxChars: 1200, markdown: true },
  });
  assert.equal(r.refused, false, r.answer);
  assert.match(r.answer, /20 minutes at most/);
  assert.equal(r.citations.length, 1);
  assert.equal(r.citations[0]!.heading, "Sleep > Naps");
  const chats = fake.requests.filter((q) => q.path === "/v1/chat/completions");
  assert.equal(chats.length, 2); // judge, then answer
  assert.deepEqual(chats[0]!.body.response_format, { type: "json_object" });
  const prompt = (chats[1]!.body.messages as { content: string }[])[0]!.content;
  assert.match(prompt, /\[1\] Sleep — Sleep > Naps: Keep naps short/);
  assert.doesNotMatch(prompt, /\[2\] Sleep/); // only the judged passage reaches the answer

  const off = await runTurn(k, {
    creatorId: coach.creatorId,
    message: "What's the capital of Australia?",
    history: [],
    summary: "",
    format: { maxChars: 1200, markdown: true },
  });
  assert.equal(off.refused, true);
  assert.equal(fake.requests.filter((q) => q.path === "/v1/chat/completions").length, 3);
});

Deno.test("runTurn() with Ollama: the same judge contract over /api/chat with format json", async () => {
  await using env = await testKnowledge();
  await using fake = startFakeOllama();
  fake.chatReply = modelReply;
  const k = knowledgeWith(env, new OllamaChatModel({ host: fake.url, model: "llama3.1:8b" }));
  const coach = await seedCoach(k, { Sleep: SLEEP });
  const r = await runTurn(k, {
    creatorId: coach.creatorId,
    message: "How long can I nap?",
    history: [],
    summary: "",
    format: { maxChars: 1200, markdown: true },
  });
  assert.equal(r.refused, false, r.answer);
  assert.equal(r.citations[0]?.heading, "Sleep > Naps");
  const judged = fake.requests.find((q) => q.path === "/api/chat")!;
  assert.equal(judged.body.format, "json");
});

Deno.test("parseJudgement() - keeps passage numbers in range, once, best first; rejects non-JSON", () => {
  assert.deepEqual(parseJudgement('Sure: {"answering": [3, 1, 3, 9, "2"], "reason": "x"}', 3), {
    answering: [2, 0, 1],
    reason: "x",
  });
  assert.throws(() => parseJudgement("no idea", 3), /did not reply with JSON/);
});
