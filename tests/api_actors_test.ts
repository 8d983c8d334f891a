/**
 * Changes made through the admin API reach the running actors: channel connections, published
 * programs and the erasure of an end user (actor state, reminders and embedded profile gone, and
 * the same for each of their conversations and its answerer).
 */
import assert from "node:assert/strict";
import type { Context } from "hono";
import type pg from "pg";
import { withSystem } from "../db/tenant.ts";
import { seedEndUser, testApi } from "./api_harness.ts";
import {
  answererActor,
  conversationActor,
  conversationAddress,
  creatorActor,
  userActor,
} from "../actors/mod.ts";
import { startVectorIndexWorker } from "../knowledge/mod.ts";
import { jsonLogger } from "../runtime/mod.ts";
import type { ApiEnv } from "../api/env.ts";
import { tellActor } from "../api/lib/tenant.ts";
import { creatorAddress, userAddress } from "../api/lib/actors.ts";
import { eventually } from "./harness.ts";
import { testKnowledge } from "./knowledge_env.ts";

const FLOW = { start: "a", steps: [{ id: "a", type: "message", text: "Welcome" }] };

// The API's tells are typed by the actors' contracts: each line under a `@ts-expect-error` must
// fail to type-check, or `deno check` (and so this test) fails.
function _typedTells(client: pg.PoolClient, c: Context<ApiEnv>, creatorId: string) {
  const msgId = "x";
  // @ts-expect-error -- the UserActor has no such kind
  void tellActor(client, c, userAddress(creatorId, "u"), "programRetired", {}, { msgId });
  // @ts-expect-error -- a program id is required
  void tellActor(client, c, userAddress(creatorId, "u"), "programUnpublished", {}, { msgId });
  const channel = { channelId: crypto.randomUUID(), kind: "mobile" };
  // @ts-expect-error -- "mobile" is not a channel
  void tellActor(client, c, creatorAddress(creatorId), "channelConnected", channel, { msgId });
}

Deno.test("admin API changes reach the actors: channels, published programs, erasure", async () => {
  const user = userActor();
  await using env = await testKnowledge();
  // The answerer searches the API's schema (set below), where this creator has no knowledge yet.
  const brain = { ...env.knowledge };
  const answerer = answererActor({ brain });
  await using t = await testApi({}, {
    hostActors: [user, creatorActor, conversationActor(), answerer],
  });
  brain.pool = t.db.pool;
  await using _index = await startVectorIndexWorker({
    pool: t.db.pool,
    store: env.knowledge.store,
    embedder: env.knowledge.embedder,
    nc: t.nats.nc,
    prefix: t.nats.prefix,
    log: jsonLogger("error"),
    deadLetters: t.actors.deadLetters,
  });
  const s = await t.signup();
  const u = await seedEndUser(t, s.creatorId);
  const userRef = t.actors.ref(user, `${s.creatorId}:${u.endUserId}`);

  const ch = await (await t.call("POST", "/channels", {
    token: s.token,
    json: { kind: "web_widget", name: "site", allowed_origins: ["https://example.com"] },
  })).json();
  await eventually(async () => {
    const channels = await t.actors.ref(creatorActor, s.creatorId).ask("channels", null);
    return channels[ch.id]?.kind === "web_widget";
  }, { what: "creator actor knows the channel" });

  const p = await (await t.call("POST", "/programs", {
    token: s.token,
    json: { name: "Sleep", flow_definition: FLOW },
  })).json();
  await withSystem(t.db.pool, (c) =>
    c.query(
      `insert into program_progress (creator_id, end_user_id, program_id, program_version)
       values ($1, $2, $3, 0)`,
      [s.creatorId, u.endUserId, p.id],
    ));
  await t.call("POST", `/programs/${p.id}/publish`, { token: s.token });
  await eventually(async () => (await userRef.ask("getPrograms", null))[p.id]?.version === 1, {
    what: "user actor knows version 1",
  });
  await userRef.ask("updateProfile", { goals: ["sleep 8 hours"] });
  const profiles = () => env.knowledge.store.count("profiles", s.creatorId);
  await eventually(async () => (await profiles()) === 1, { what: "profile embedded" });
  const convo = conversationAddress(s.creatorId, u.conversationId);
  const reply = await t.actors.client.ask(convo, "message", {
    userId: u.endUserId,
    channel: "telegram",
    text: "How long should naps be?",
  });
  assert.equal(reply.type === "answer" && reply.refused, true);
  const stored = async (type: string, id: string) =>
    (await t.db.pool.query(
      "select 1 from rt_actor_state where actor_type = $1 and actor_id = $2",
      [type, id],
    )).rowCount;
  assert.equal(await stored("conversation", convo.id), 1);
  assert.equal(await stored("answerer", convo.id), 1);

  const del = await t.call("DELETE", `/end-users/${u.endUserId}`, { token: s.token });
  assert.equal(del.status, 204);
  await eventually(async () => {
    const { rows } = await t.db.pool.query(
      "select 1 from rt_actor_state where actor_type = 'user' and actor_id = $1",
      [`${s.creatorId}:${u.endUserId}`],
    );
    return rows.length === 0;
  }, { what: "user actor state erased" });
  await eventually(async () => (await profiles()) === 0, { what: "embedded profile erased" });
  await eventually(
    async () =>
      (await stored("conversation", convo.id)) === 0 && (await stored("answerer", convo.id)) === 0,
    { what: "conversation and its answerer erased" },
  );
  // A fresh actor answers afterwards: nothing of the erased profile is left.
  const profile = await userRef.ask("getProfile", null);
  assert.deepEqual(profile.goals, []);
  assert.deepEqual(await userRef.ask("getPrograms", null), {});
});
