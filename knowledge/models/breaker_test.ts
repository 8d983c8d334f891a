import assert from "node:assert/strict";
import {
  ProviderBreaker,
  ProviderBreakers,
  ProviderTimeoutError,
  ProviderUnavailableError,
} from "./breaker.ts";
import { guardChatModel, guardEmbedder } from "./guarded.ts";
import { OpenAIChatModel, OpenAIEmbedder } from "./openai.ts";
import { complete, ModelError } from "./models.ts";
import { startFakeOpenAI } from "../../tests/fakes/openai.ts";

const fail = () => Promise.reject(new Error("boom"));

Deno.test("ProviderBreaker - opens after consecutive failures, refuses at once, closes after a good trial", async () => {
  const b = new ProviderBreaker("svc", { failures: 2, halfOpenAfterMs: 200, timeoutMs: 1000 });
  await assert.rejects(b.execute(fail), /boom/);
  assert.equal(b.state, "closed");
  await assert.rejects(b.execute(fail), /boom/);
  assert.equal(b.state, "open");
  let called = false;
  const refused = await b.execute(() => (called = true, Promise.resolve(1))).catch((e) => e);
  assert.ok(refused instanceof ProviderUnavailableError);
  assert.equal(refused.provider, "svc");
  assert.ok(refused.retryAfterMs > 0 && refused.retryAfterMs <= 200);
  assert.equal(called, false);
  assert.equal(b.describe().lastError, "boom");
  await new Promise((r) => setTimeout(r, 250));
  assert.equal(await b.execute(() => Promise.resolve(7)), 7);
  assert.equal(b.state, "closed");
});

Deno.test("ProviderBreaker - a call past its deadline fails with ProviderTimeoutError and counts", async () => {
  const b = new ProviderBreaker("slow", { failures: 1, timeoutMs: 50, halfOpenAfterMs: 10_000 });
  let timer: ReturnType<typeof setTimeout> | undefined;
  const err = await b.execute((signal) =>
    new Promise((resolve) => {
      timer = setTimeout(resolve, 2000);
      signal.addEventListener("abort", () => clearTimeout(timer));
    })
  ).catch((e) => e);
  clearTimeout(timer);
  assert.ok(err instanceof ProviderTimeoutError, String(err));
  assert.equal(b.state, "open");
});

Deno.test("ProviderBreaker - errors that are not the provider failing leave it closed", async () => {
  const b = new ProviderBreaker("picky", {
    failures: 1,
    isFailure: (e) => !(e instanceof RangeError),
  });
  await assert.rejects(b.execute(() => Promise.reject(new RangeError("bad request"))));
  assert.equal(b.state, "closed");
});

Deno.test("ProviderBreakers - one breaker per name, the open ones listed", async () => {
  const board = new ProviderBreakers({ failures: 1, halfOpenAfterMs: 10_000 });
  assert.equal(board.get("a"), board.get("a"));
  board.get("b");
  await assert.rejects(board.get("a").execute(fail));
  assert.deepEqual(board.open(), ["a"]);
  assert.equal(board.describe().b!.state, "closed");
  assert.equal(board.describe().a!.state, "open");
});

Deno.test("guardEmbedder / guardChatModel - a failing OpenAI-compatible server opens the breaker; it recovers", async () => {
  await using fake = startFakeOpenAI();
  const board = new ProviderBreakers({ failures: 2, halfOpenAfterMs: 300, timeoutMs: 5000 });
  const breaker = board.get("openai");
  const embedder = guardEmbedder(
    await OpenAIEmbedder.create({ baseUrl: fake.url, model: "e", maxRetries: 0 }),
    breaker,
  );
  const chat = guardChatModel(
    new OpenAIChatModel({ baseUrl: fake.url, model: "c", maxRetries: 0 }),
    breaker,
  );
  fake.failNext.push({ status: 503, message: "down" }, { status: 503, message: "down" });
  await assert.rejects(embedder.embed(["a"]), ModelError);
  await assert.rejects(complete(chat, [{ role: "user", content: "hi" }]), ModelError);
  assert.equal(breaker.state, "open");
  const before = fake.requests.length;
  await assert.rejects(embedder.embed(["a"]), ProviderUnavailableError);
  await assert.rejects(complete(chat, [{ role: "user", content: "hi" }]), ProviderUnavailableError);
  assert.equal(fake.requests.length, before, "nothing reached the server while open");
  await new Promise((r) => setTimeout(r, 350));
  assert.equal(await complete(chat, [{ role: "user", content: "hi" }]), fake.chatReply);
  assert.equal(breaker.state, "closed");
  assert.equal((await embedder.embed(["a", "b"])).length, 2);
});
