/**
 * `deno task reindex` rebuilds the vector index from Postgres: pointed at an empty set of Chroma
 * collections (a new prefix, as after losing Chroma), it writes every ready document's chunks
 * and every user profile back, with a progress line per document, and a second run changes
 * nothing.
 */
import assert from "node:assert/strict";
import { tenantActorId, userActor } from "../actors/mod.ts";
import { CHROMA_URL, testChroma, uniqueName } from "./harness.ts";
import { nodeEnv } from "./node_env.ts";

const GUIDE = `# Sleep guide

## Caffeine
Caffeine has a half-life of five to six hours. Stop drinking coffee by 2 pm.

## Naps
Keep naps short: twenty minutes at most, and before 3 pm.
`;

Deno.test("deno task reindex - rebuilds every creator's chunks and profiles into empty collections", async () => {
  await using env = await nodeEnv();
  const { token, creatorId } = await env.signup();
  const { docId } = await env.knowledge(token, GUIDE);
  const doc = await env.call("GET", `/v1/documents/${docId}`, { token });
  const endUserId = crypto.randomUUID();
  await env.node.system.ref(userActor(), tenantActorId(creatorId, endUserId)).ask(
    "updateProfile",
    { goals: ["sleep through the night"] },
  );

  const prefix = uniqueName("rx");
  await using chroma = testChroma(prefix);
  const run = async () => {
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["task", "--quiet", "reindex"],
      cwd: new URL("..", import.meta.url),
      env: {
        DATABASE_URL: env.db.url,
        CHROMA_URL,
        NATS_PREFIX: prefix,
        DATA_DIR: new URL("../.data", import.meta.url).pathname,
        LOG_LEVEL: "error",
      },
      stdout: "piped",
      stderr: "piped",
    }).output();
    const text = new TextDecoder().decode(out.stdout);
    assert.ok(out.success, text + new TextDecoder().decode(out.stderr));
    return text;
  };
  const first = await run();
  assert.match(first, new RegExp(`creator ${creatorId}: chunks 1/1`));
  assert.match(first, new RegExp(`creator ${creatorId}: profiles 1/1`));
  assert.match(
    first,
    /reindexed \d+ creator\(s\): 1 document\(s\), \d+ chunk\(s\), 1 profile\(s\)/,
  );

  // The collections of the new prefix, by kind (their names carry the embedding model's id).
  const collection = async (kind: string) => {
    const all = await chroma.client.listCollections({ limit: 1000 });
    const c = all.find((c) =>
      c.name.startsWith(`${prefix}_${kind}_`) && c.name.endsWith(creatorId)
    );
    assert.ok(c, `a ${kind} collection for the creator`);
    return c;
  };
  const chunks = await collection("chunks");
  assert.equal(await chunks.count(), doc.json.chunk_count);
  const ids = (await chunks.get({ include: [] })).ids.sort();
  assert.deepEqual(ids, [...Array(doc.json.chunk_count).keys()].map((i) => `${docId}:${i}`).sort());
  const profiles = await collection("profiles");
  const got = await profiles.get({ include: ["documents", "metadatas"] });
  assert.equal(got.ids.length, 1);
  assert.match(got.documents[0] ?? "", /Goals: sleep through the night/);
  assert.equal(got.metadatas[0]?.document_id, tenantActorId(creatorId, endUserId));

  await run();
  assert.equal(await chunks.count(), doc.json.chunk_count, "a second run changes nothing");
  assert.equal(await profiles.count(), 1);
});
