/**
 * A rolling release runs two versions of an actor on one cluster: a partition can move from a new
 * node back to an old one mid-rollout. What docs/operations.md ("Mixed versions") promises, as
 * the runtime does it: the old version reads state the new one wrote (an added field is no
 * obstacle); on its next commit it drops the field it does not know, which the new version then
 * finds absent (not defaulted) and must handle; a field whose type changed
 * fails the old version's turns, which dead-letters them and counts in
 * `coachd_dead_letters_total`, the figure the canary analysis aborts a rollout on.
 */
import assert from "node:assert/strict";
import { z } from "zod";
import { ActorSystem, defineActor, jsonLogger } from "../runtime/mod.ts";
import { eventually, testDb, testNats } from "./harness.ts";

const v1 = defineActor({
  type: "card",
  state: z.object({ name: z.string() }),
  initial: () => ({ name: "" }),
  handlers: (h) => ({
    rename: h(z.string(), (ctx, name) => {
      ctx.state.name = name;
    }),
    get: h(z.null().optional(), (ctx) => ctx.state),
    shout: h(z.null().optional(), (ctx) => {
      ctx.state.name = ctx.state.name.toUpperCase();
    }),
  }),
});

// The next release adds a field. State is loaded as stored (the schema checks it after each
// turn), so the field is absent in state written before, or rewritten by an old node: handlers
// read it with `??=`, as the shipped actors do.
const v2 = defineActor({
  type: "card",
  state: z.object({ name: z.string(), badges: z.array(z.string()).default([]) }),
  initial: () => ({ name: "", badges: [] as string[] }),
  handlers: (h) => ({
    rename: h(z.string(), (ctx, name) => {
      ctx.state.name = name;
    }),
    award: h(z.string(), (ctx, badge) => {
      (ctx.state.badges ??= []).push(badge);
    }),
    get: h(z.null().optional(), (ctx) => ctx.state),
  }),
});

// A release that changes a field's type: what must not ship while old nodes run.
const v3 = defineActor({
  type: "card",
  state: z.object({ name: z.object({ first: z.string(), last: z.string() }) }),
  initial: () => ({ name: { first: "", last: "" } }),
  handlers: (h) => ({
    rename: h(z.object({ first: z.string(), last: z.string() }), (ctx, name) => {
      ctx.state.name = name;
    }),
  }),
});

Deno.test("mixed versions - the old version reads the new one's state, drops its new field on commit, and fails (dead-letters) on a retyped field", async () => {
  await using db = await testDb();
  await using nats = await testNats();
  const node = (actors: typeof v1[] | typeof v2[] | typeof v3[], nodeId: string) =>
    ActorSystem.start({
      pool: db.pool,
      nc: nats.nc,
      actors,
      nodeId,
      prefix: nats.prefix,
      partitions: 2,
      maxDeliver: 2,
      log: jsonLogger("error", {}, () => {}),
    });
  const state = async () =>
    (await db.pool.query("select state from rt_actor_state where actor_id = 'ada'")).rows[0]
      ?.state;

  {
    await using next = await node([v2], "new");
    await next.ref(v2, "ada").ask("rename", "Ada");
    await next.ref(v2, "ada").ask("award", "early-bird");
    assert.deepEqual(await state(), { name: "Ada", badges: ["early-bird"] });
  }
  {
    // The partition moves to an old node: it reads the state, and its commit drops `badges`.
    await using old = await node([v1], "old");
    assert.deepEqual(await old.ref(v1, "ada").ask("get", null), {
      name: "Ada",
      badges: ["early-bird"],
    });
    await old.ref(v1, "ada").ask("rename", "Ada L.");
    assert.deepEqual(await state(), { name: "Ada L." });
  }
  {
    // Back on a new node: the field is absent, and a handler that expects that goes on.
    await using next = await node([v2], "new");
    assert.deepEqual(await next.ref(v2, "ada").ask("get", null), { name: "Ada L." });
    await next.ref(v2, "ada").ask("award", "comeback");
    assert.deepEqual(await state(), { name: "Ada L.", badges: ["comeback"] });
  }
  {
    // A retyped field: the new version writes an object where the old one expects a string.
    await using breaking = await node([v3], "breaking");
    await breaking.ref(v3, "ada").ask("rename", { first: "Ada", last: "Lovelace" });
  }
  {
    await using old = await node([v1], "old");
    const before = await deadLetters(old);
    await old.ref(v1, "ada").tell("shout", null);
    await eventually(async () => (await deadLetters(old)) > before, {
      timeoutMs: 15_000,
      what: "the old version's turn dead-lettered",
    });
    assert.deepEqual(await state(), { name: { first: "Ada", last: "Lovelace" } }, "unchanged");
  }
});

async function deadLetters(system: ActorSystem): Promise<number> {
  const text = await system.metrics.registry.metrics();
  return [...text.matchAll(/^coachd_dead_letters_total\{[^}]*\} (\d+)/gm)]
    .reduce((n, m) => n + Number(m[1]), 0);
}
