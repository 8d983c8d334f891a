/**
 * A creator's first session against a real node over HTTP: sign up, create a knowledge base,
 * upload a document, watch it become ready, search it, and try the coach in the preview chat —
 * including a question the knowledge does not answer, and another creator trying to read it.
 */
import assert from "node:assert/strict";
import { eventually } from "./harness.ts";
import { nodeEnv } from "./node_env.ts";

const GUIDE = `# Sleep guide

## Caffeine
Caffeine has a half-life of five to six hours. Stop drinking coffee by 2 pm so it does not keep
you awake at night.

## Naps
Keep naps short: twenty minutes at most, and before 3 pm.
`;

Deno.test("creator flow - upload, ingestion, search and preview chat over HTTP on a real node", async () => {
  await using env = await nodeEnv();
  const call = async (method: string, path: string, token?: string, body?: unknown) => {
    const r = await env.call(method, `/v1${path}`, { token, body });
    return { status: r.status, text: r.text };
  };
  const json = (r: { text: string }) => JSON.parse(r.text);
  // Sign-up, then the confirmation from the mail drop folder (there is no e-mail sender).
  const signup = async (email: string) => (await env.signup(email)).token;

  const token = await signup("coach@example.test");
  const kb = json(await call("POST", "/knowledge-bases", token, { name: "Sleep" }));
  const form = new FormData();
  form.append("file", new File([GUIDE], "sleep.md", { type: "text/markdown" }));
  const doc = json(await call("POST", `/knowledge-bases/${kb.id}/documents`, token, form));
  assert.equal(doc.status, "queued");
  const ready = await eventually(async () => {
    const d = json(await call("GET", `/documents/${doc.id}`, token));
    if (d.status === "failed") throw new Error(`ingestion failed: ${d.error}`);
    return d.status === "ready" ? d : null;
  }, { timeoutMs: 30_000, what: "document ready" });
  assert.ok(ready.chunk_count >= 2);

  const search = json(
    await call("POST", `/knowledge-bases/${kb.id}/search`, token, {
      query: "until what time can I have an espresso?",
      k: 2,
    }),
  );
  assert.equal(search.results[0].documentId, doc.id);
  assert.match(search.results[0].text, /coffee by 2 pm/);

  const final = async (message: string, t = token) => {
    const last = (await call("POST", "/preview/chat", t, { message })).text.trim().split("\n")
      .map((l) => JSON.parse(l)).at(-1);
    assert.equal(last.type, "final");
    return last.result;
  };
  const answered = await final("When should I stop drinking coffee?");
  assert.equal(answered.refused, false);
  assert.match(answered.answer, /2 pm/);
  assert.equal(answered.citations[0].documentId, doc.id);
  assert.equal((await final("What is the capital of Australia?")).refused, true);

  // Roles hold on the knowledge routes too: a viewer's key may search but not draft content.
  const viewer = json(
    await call("POST", "/api-keys", token, { name: "dashboard", role: "viewer" }),
  ).key as string;
  assert.equal(
    (await call("POST", `/knowledge-bases/${kb.id}/search`, viewer, { query: "naps", k: 1 }))
      .status,
    200,
  );
  assert.equal(
    (await call("POST", `/knowledge-bases/${kb.id}/drafts`, viewer, {
      kind: "nudges",
      topic: "naps",
      count: 2,
    })).status,
    403,
  );
  const drafts = json(
    await call("POST", `/knowledge-bases/${kb.id}/drafts`, token, {
      kind: "nudges",
      topic: "naps",
      count: 2,
    }),
  );
  assert.ok(drafts.drafts.length > 0);

  // Another creator sees nothing of it.
  const other = await signup("other@example.test");
  assert.equal((await call("GET", `/documents/${doc.id}`, other)).status, 404);
  assert.equal(
    (await call("POST", `/knowledge-bases/${kb.id}/search`, other, { query: "coffee", k: 2 }))
      .status,
    404,
  );
  const otherChat = await final("When should I stop drinking coffee?", other);
  assert.equal(otherChat.refused, true, "another creator's coach must not answer from it");
  // And without credentials, nothing at all.
  assert.equal((await call("POST", "/preview/chat", undefined, { message: "hi" })).status, 401);
});
