import assert from "node:assert/strict";
import { OpenAPIHono } from "@hono/zod-openapi";
import { HTTPException } from "hono/http-exception";
import { seedCoach, testKnowledge } from "../../tests/knowledge_env.ts";
import { type KnowledgeEnv, knowledgeRoutes } from "./knowledge.ts";
import { type Knowledge } from "../../knowledge/mod.ts";

const SLEEP = `# Sleep
## Naps
Keep naps short: 20 minutes at most, and before 3 pm.

## Caffeine
Caffeine has a half-life of five to six hours. Stop drinking coffee by 2 pm.`;

/** The routes on a bare app, with a stand-in for the admin API's auth middleware. */
function app(knowledge: Knowledge, creatorId: string) {
  const a = new OpenAPIHono<KnowledgeEnv>();
  a.use(async (c, next) => {
    c.set("auth", { creatorId, role: "owner", subject: "test", kind: "user" });
    await next();
  });
  a.onError((err, c) =>
    err instanceof HTTPException
      ? c.json({ title: err.message }, err.status)
      : c.json({ title: String(err) }, 500)
  );
  knowledgeRoutes({ knowledge })(a);
  // Mounted like the admin API mounts its extensions.
  return new OpenAPIHono().route("/v1", a);
}

const post = (body: unknown) => ({
  method: "POST",
  headers: { "content-type": "application/json" },
  body: JSON.stringify(body),
});

Deno.test("POST /v1/knowledge-bases/{id}/search returns chunks with document, position and score", async () => {
  await using env = await testKnowledge();
  const coach = await seedCoach(env.knowledge, { Sleep: SLEEP });
  const res = await app(env.knowledge, coach.creatorId).request(
    `/v1/knowledge-bases/${coach.knowledgeBaseId}/search`,
    post({ query: "coffee cut-off time", k: 2 }),
  );
  assert.equal(res.status, 200);
  const { results } = await res.json();
  assert.equal(results.length, 2);
  assert.equal(results[0].documentId, coach.documentIds.Sleep);
  assert.equal(results[0].heading, "Sleep > Caffeine");
  assert.equal(typeof results[0].score, "number");
  assert.deepEqual(Object.keys(results[0].position).sort(), ["end", "ordinal", "page", "start"]);
});

Deno.test("POST /v1/knowledge-bases/{id}/search is 404 for another creator's knowledge base", async () => {
  await using env = await testKnowledge();
  const a = await seedCoach(env.knowledge, { Sleep: SLEEP }, "A");
  const b = await seedCoach(env.knowledge, { Other: "# Other\nSomething else." }, "B");
  const res = await app(env.knowledge, b.creatorId).request(
    `/v1/knowledge-bases/${a.knowledgeBaseId}/search`,
    post({ query: "naps" }),
  );
  assert.equal(res.status, 404);
  const bad = await app(env.knowledge, b.creatorId).request(
    `/v1/knowledge-bases/${b.knowledgeBaseId}/search`,
    post({ query: "" }),
  );
  assert.equal(bad.status, 400);
});

Deno.test("POST /v1/preview/chat streams retrieval, answer and a final event with citations and QA", async () => {
  await using env = await testKnowledge();
  const coach = await seedCoach(env.knowledge, { Sleep: SLEEP });
  const res = await app(env.knowledge, coach.creatorId).request(
    "/v1/preview/chat",
    post({
      message: "And after that?",
      history: [{ role: "user", text: "How long should naps be?" }, {
        role: "assistant",
        text: "Short.",
      }],
    }),
  );
  assert.equal(res.status, 200);
  assert.equal(res.headers.get("content-type"), "application/x-ndjson");
  const events = (await res.text()).trim().split("\n").map((l) => JSON.parse(l));
  assert.equal(events[0].type, "retrieval");
  assert.ok(events[0].passages.length > 0 && typeof events[0].passages[0].score === "number");
  assert.ok(events.some((e) => e.type === "token"));
  const final = events.at(-1);
  assert.equal(final.type, "final");
  assert.equal(final.result.refused, false);
  assert.equal(final.result.citations[0].documentTitle, "Sleep");
  assert.equal(final.result.qa.ok, true);

  const oos = await app(env.knowledge, coach.creatorId).request(
    "/v1/preview/chat",
    post({ message: "What is the capital of Peru?" }),
  );
  const last = (await oos.text()).trim().split("\n").map((l) => JSON.parse(l)).at(-1);
  assert.equal(last.result.refused, true);
});

Deno.test("POST /v1/knowledge-bases/{id}/drafts drafts nudges and program steps with their sources", async () => {
  await using env = await testKnowledge();
  const coach = await seedCoach(env.knowledge, { Sleep: SLEEP });
  const a = app(env.knowledge, coach.creatorId);
  const nudges = await a.request(
    `/v1/knowledge-bases/${coach.knowledgeBaseId}/drafts`,
    post({ kind: "nudges", topic: "coffee and sleep", count: 2 }),
  );
  assert.equal(nudges.status, 200);
  const { drafts } = await nudges.json();
  assert.ok(drafts.length >= 1);
  assert.ok(drafts.every((d: { text: string }) => d.text.length <= 200));
  assert.equal(drafts[0].sources[0].documentId, coach.documentIds.Sleep);
  const steps = await a.request(
    `/v1/knowledge-bases/${coach.knowledgeBaseId}/drafts`,
    post({ kind: "program_steps", topic: "better sleep habits", count: 2 }),
  );
  const body = await steps.json();
  assert.match(body.drafts[0].title, /^Step 1: /);
});
