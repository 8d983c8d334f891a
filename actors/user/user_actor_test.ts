import assert from "node:assert/strict";
import { ManualClock, RemoteHandlerError } from "../../runtime/mod.ts";
import { eventually, testDb, testNats } from "../../tests/harness.ts";
import { startActorNode } from "../../tests/actor_node.ts";
import { turnUuid, userActor, userAddress } from "../mod.ts";

const T0 = Date.parse("2026-03-01T08:00:00Z");

async function setup() {
  const stack = new AsyncDisposableStack();
  const db = stack.use(await testDb());
  const nats = stack.use(await testNats());
  const clock = new ManualClock(T0);
  const node = stack.use(
    await startActorNode({ pool: db.pool, nats, actors: [userActor()], clock }),
  );
  const creatorId = crypto.randomUUID();
  const moved = stack.move();
  return {
    db,
    clock,
    node,
    client: node.system.client,
    creatorId,
    /** The stored state row of an end user's actor, or undefined once erased. */
    async stored(endUserId: string) {
      const { rows } = await db.pool.query(
        "select state from rt_actor_state where actor_type = 'user' and actor_id = $1",
        [`${creatorId}:${endUserId}`],
      );
      return rows[0]?.state;
    },
    [Symbol.asyncDispose]: () => moved.disposeAsync(),
  };
}

Deno.test("UserActor - updateProfile merges the profile, stamps it with the runtime clock and sends it to the vector index", async () => {
  await using t = await setup();
  const ada = userAddress(t.creatorId, "ada");
  const first = await t.client.ask(ada, "updateProfile", {
    goals: ["sleep 8 hours"],
    preferences: { tone: "warm" },
  }, { msgId: "update-1" });
  assert.deepEqual(first, {
    goals: ["sleep 8 hours"],
    preferences: { tone: "warm" },
    language: "en",
    topics: [],
  });
  t.clock.advance(60_000);
  const second = await t.client.ask(ada, "updateProfile", {
    name: "Ada",
    goals: ["run a 10k"],
    preferences: { time: "mornings" },
  });
  // Lists replace, preferences merge.
  assert.deepEqual(second.goals, ["run a 10k"]);
  assert.deepEqual(second.preferences, { tone: "warm", time: "mornings" });
  assert.equal(second.name, "Ada");
  assert.deepEqual(await t.client.ask(ada, "getProfile"), second);

  const state = await t.stored("ada");
  assert.equal(state.updatedAt, T0 + 60_000);
  assert.equal(state.indexVersion, 2);
  // The generation derives from the message that started this life, not from chance.
  const gen = turnUuid({ self: ada, messageId: "update-1" }, "index-gen");
  assert.equal(state.indexGen, gen);
  const puts = await eventually(() => {
    const p = t.node.eventsOn("index.profiles.put");
    return p.length === 2 ? p : null;
  }, { what: "two profile puts" });
  assert.deepEqual(puts.map((p) => [p.version, p.gen, p.id]), [
    [1, gen, `${ada.id}:${gen}`],
    [2, gen, `${ada.id}:${gen}`],
  ]);
  assert.equal(puts[0].creatorId, t.creatorId);
  assert.equal(puts[0].documentId, ada.id);
  assert.equal(puts[1].text, "Goals: run a 10k\nPreferences: tone: warm; time: mornings");

  // Nothing to embed (the name and language are not indexed): no event, no generation.
  const bo = userAddress(t.creatorId, "bo");
  await t.client.ask(bo, "updateProfile", { language: "fr" });
  assert.equal((await t.client.ask(bo, "getProfile")).language, "fr");
  assert.equal((await t.stored("bo")).indexGen, undefined);
  assert.equal(t.node.eventsOn("index.profiles.put").length, 2);
});

Deno.test("UserActor - noteTopics keeps the newest first; program versions never go back and unpublishing clears them", async () => {
  await using t = await setup();
  const ada = userAddress(t.creatorId, "ada");
  await t.client.tell(ada, "noteTopics", ["Sleep"]);
  t.clock.advance(1000);
  await t.client.tell(ada, "noteTopics", ["Running", "Sleep"]);
  await eventually(async () => (await t.client.ask(ada, "getProfile")).topics.length === 2);
  assert.deepEqual((await t.client.ask(ada, "getProfile")).topics, ["Running", "Sleep"]);
  assert.equal((await t.stored("ada")).updatedAt, T0 + 1000);

  const programId = crypto.randomUUID();
  await t.client.ask(ada, "programPublished", { programId, version: 2 });
  t.clock.advance(1000);
  // A late message about an older version changes nothing.
  await t.client.ask(ada, "programPublished", { programId, version: 1 });
  assert.deepEqual(await t.client.ask(ada, "getPrograms"), {
    [programId]: { version: 2, at: T0 + 1000 },
  });
  await t.client.ask(ada, "programUnpublished", { programId });
  assert.deepEqual(await t.client.ask(ada, "getPrograms"), {
    [programId]: { version: null, at: T0 + 2000 },
  });
  t.clock.advance(1000);
  await t.client.ask(ada, "programPublished", { programId, version: 3 });
  assert.deepEqual((await t.client.ask(ada, "getPrograms"))[programId], {
    version: 3,
    at: T0 + 3000,
  });
  // None of these touch the vector index.
  assert.deepEqual(t.node.events.map((e) => e.subject), []);
});

Deno.test("UserActor - preferences default to quiet hours 21:00-08:00, change field by field, and opting out is the STOP switch", async () => {
  await using t = await setup();
  const ada = userAddress(t.creatorId, "ada");
  assert.deepEqual(await t.client.ask(ada, "getPreferences"), {
    quietHours: { start: "21:00", end: "08:00" },
    proactive: true,
  });
  const set = await t.client.ask(ada, "updatePreferences", {
    timeZone: "America/New_York",
    nudgeChannel: "telegram",
    proactive: false,
  });
  assert.deepEqual(set, {
    timeZone: "America/New_York",
    quietHours: { start: "21:00", end: "08:00" },
    nudgeChannel: "telegram",
    proactive: false,
  });
  // The app's switch and the STOP command are one: the channel state says opted out.
  assert.equal((await t.stored("ada")).channels.optedOut, true);
  const back = await t.client.ask(ada, "updatePreferences", {
    quietHours: { start: "22:30", end: "07:00" },
    nudgeChannel: null,
    proactive: true,
  });
  assert.deepEqual(back, {
    timeZone: "America/New_York",
    quietHours: { start: "22:30", end: "07:00" },
    proactive: true,
  });
  assert.equal((await t.stored("ada")).channels.optedOut, false);
  await assert.rejects(
    t.client.ask(ada, "updatePreferences", { timeZone: "Mars/Olympus" }),
    /time zone/,
  );
  await assert.rejects(
    t.client.ask(ada, "updatePreferences", { quietHours: { start: "25:00", end: "07:00" } }),
    /HH:MM/,
  );
});

Deno.test("UserActor - erase forgets the profile and programs and retires the index generation", async () => {
  await using t = await setup();
  const ada = userAddress(t.creatorId, "ada");
  await t.client.ask(ada, "updateProfile", { goals: ["sleep better"] }, { msgId: "first" });
  await t.client.ask(ada, "programPublished", { programId: crypto.randomUUID(), version: 1 });
  const gen = (await t.stored("ada")).indexGen;
  await t.client.ask(ada, "erase", { reason: "deleted_by_creator" });
  assert.equal(await t.stored("ada"), undefined);
  const [erase] = await eventually(() => {
    const e = t.node.eventsOn("index.profiles.erase");
    return e.length ? e : null;
  }, { what: "profile erase event" });
  assert.deepEqual(erase, { creatorId: t.creatorId, documentId: ada.id, gen });

  // A fresh actor answers afterwards, and a new life gets a new generation.
  assert.deepEqual(await t.client.ask(ada, "getProfile"), {
    goals: [],
    preferences: {},
    language: "en",
    topics: [],
  });
  assert.deepEqual(await t.client.ask(ada, "getPrograms"), {});
  await t.client.ask(ada, "updateProfile", { goals: ["again"] });
  assert.notEqual((await t.stored("ada")).indexGen, gen);

  // Erasing a user who never had a profile indexed still retires a generation: one derived from
  // the erase message, so a redelivery of it names the same one.
  const bo = userAddress(t.creatorId, "bo");
  await t.client.ask(bo, "erase", { reason: "requested_by_user" }, { msgId: "erase-bo" });
  await eventually(() => t.node.eventsOn("index.profiles.erase").length === 2);
  assert.equal(
    t.node.eventsOn("index.profiles.erase")[1].gen,
    turnUuid({ self: bo, messageId: "erase-bo" }, "erase-gen"),
  );
});

Deno.test("UserActor - a message failing its contract is dead-lettered with the reason and changes nothing", async () => {
  await using t = await setup();
  const ada = userAddress(t.creatorId, "ada");
  const before = await t.client.ask(ada, "updateProfile", { goals: ["sleep better"] });
  // Senders outside TypeScript can send anything; `as never` stands in for them.
  const bad: [string, unknown, RegExp][] = [
    ["updateProfile", { goals: "sleep" }, /"updateProfile" .* "user": goals: /],
    ["noteTopics", Array.from({ length: 11 }, (_, i) => `t${i}`), /"noteTopics" .*: \(message\)/],
    ["programPublished", { programId: "p1", version: 0 }, /programId: .*; version: /],
    ["erase", { reason: "because" }, /"erase" .* reason: /],
    ["setGoals", ["x"], /Actor type "user" has no handler for message kind "setGoals"/],
  ];
  for (const [kind, data, reason] of bad) {
    await assert.rejects(
      () => t.client.ask(ada, kind as never, data as never),
      (err: Error) => err instanceof RemoteHandlerError && reason.test(err.message),
      kind,
    );
  }
  // The actor id must name a creator: the handler's TerminalError dead-letters the message.
  await assert.rejects(
    () => t.client.ask(userAddress("not-a-creator", "ada"), "updateProfile", { goals: ["x"] }),
    (err: Error) =>
      err instanceof RemoteHandlerError &&
      /TerminalError: Actor id "not-a-creator:ada" is not <creatorId uuid>:<id>/.test(err.message),
  );
  const dead = await t.node.system.deadLetters.list();
  assert.deepEqual(dead.map((d) => (d.body as { k: string }).k), [
    ...bad.map((b) => b[0]),
    "updateProfile",
  ]);
  assert.deepEqual(await t.client.ask(ada, "getProfile"), before);
  assert.equal(t.node.eventsOn("index.profiles.put").length, 1);
});
