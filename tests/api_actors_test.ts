/**
 * Changes made through the admin API reach the running actors: channel connections, published
 * programs and the erasure of an end user (actor state, reminders and embedded profile gone).
 */
import assert from "node:assert/strict";
import { withSystem } from "../db/tenant.ts";
import { seedEndUser, testApi } from "./api_harness.ts";
import { creatorActor } from "../actors/creator/creator_actor.ts";
import { userActor } from "../actors/user/user_actor.ts";
import { startVectorIndexWorker } from "../knowledge/store/vector_index.ts";
import { jsonLogger } from "../runtime/mod.ts";
import { eventually } from "./harness.ts";
import { testKnowledge } from "./knowledge_env.ts";

const FLOW = { start: "a", steps: [{ id: "a", type: "message", text: "Welcome" }] };

Deno.test("admin API changes reach the actors: channels, published programs, erasure", async () => {
  const user = userActor();
  await using env = await testKnowledge();
  await using t = await testApi({}, { hostActors: [user, creatorActor] });
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
  // A fresh actor answers afterwards: nothing of the erased profile is left.
  const profile = await userRef.ask("getProfile", null);
  assert.deepEqual(profile.goals, []);
  assert.deepEqual(await userRef.ask("getPrograms", null), {});
});
