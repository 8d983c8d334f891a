import assert from "node:assert/strict";
import { z } from "zod";
import { defineActor } from "../../runtime/mod.ts";
import { withTenant } from "../../db/tenant.ts";
import { eventually } from "../../tests/harness.ts";
import { channelsEnv, seedChannel } from "../../tests/channels_env.ts";
import type { Inbound, NormalizedInbound } from "../../actors/mod.ts";
import { KnownPeople, takeIn } from "./intake.ts";

/** Stands in for the UserActor: keeps every inbound message it was told. */
const inbox = defineActor({
  type: "user",
  state: z.object({ got: z.array(z.unknown()) }),
  initial: () => ({ got: [] as unknown[] }),
  handlers: (h) => ({
    inbound: h(z.unknown(), (ctx, m) => void ctx.state.got.push(m)),
    got: h(z.null().optional(), (ctx) => ctx.state.got as Inbound[]),
  }),
});

const text = (over: Partial<NormalizedInbound> & { creatorId: string; connectionId: string }) =>
  ({
    channel: "telegram",
    externalUserId: "1001",
    externalMessageId: crypto.randomUUID(),
    displayName: "Ada",
    sentAt: Date.now(),
    content: { type: "text", text: "hi" },
    ...over,
  }) satisfies NormalizedInbound;

Deno.test("takeIn() - a first message creates the person and reaches their actor once; a repeat is dropped", async () => {
  await using env = await channelsEnv({ actors: [inbox] });
  const { creatorId, connectionId } = await seedChannel(env.db.pool);
  const deps = { pool: env.db.pool, system: env.system };
  const first = text({ creatorId, connectionId, externalMessageId: "m1" });
  const a = await takeIn(deps, first);
  assert.equal(a.status, "accepted");
  assert.ok(a.status === "accepted" && a.newPerson);
  assert.deepEqual(await takeIn(deps, first), { status: "duplicate" });
  const b = await takeIn(deps, text({ creatorId, connectionId, externalMessageId: "m2" }));
  assert.ok(b.status === "accepted" && !b.newPerson);
  assert.equal(b.endUserId, a.status === "accepted" ? a.endUserId : "");

  const ref = env.system.ref(inbox, `${creatorId}:${b.endUserId}`);
  const got: Inbound[] = await eventually(async () => {
    const g = await ref.ask("got", null);
    return g.length >= 2 ? g : undefined;
  });
  assert.deepEqual(got.map((m) => m.externalMessageId), ["m1", "m2"]);
  assert.equal(got[0]!.identityId, b.identityId);
  const rows = await withTenant(env.db.pool, creatorId, async (c) =>
    (await c.query(
      `select u.display_name, i.connection_id, i.last_inbound_at is not null as seen
         from end_users u join channel_identities i on i.end_user_id = u.id`,
    )).rows);
  assert.deepEqual(rows, [{ display_name: "Ada", connection_id: connectionId, seen: true }]);
});

Deno.test("takeIn() - two first messages racing create one person", async () => {
  await using env = await channelsEnv({ actors: [inbox] });
  const { creatorId, connectionId } = await seedChannel(env.db.pool);
  const deps = { pool: env.db.pool, system: env.system };
  const results = await Promise.all(
    Array.from({ length: 8 }, () => takeIn(deps, text({ creatorId, connectionId }))),
  );
  const users = new Set(results.map((r) => r.status === "accepted" ? r.endUserId : ""));
  assert.equal(users.size, 1);
  assert.equal(results.filter((r) => r.status === "accepted" && r.newPerson).length, 1);
  const count = await withTenant(
    env.db.pool,
    creatorId,
    async (c) => Number((await c.query("select count(*) n from end_users")).rows[0].n),
  );
  assert.equal(count, 1);
});

Deno.test("takeIn() - /stop opts the person out of proactive messages, /start back in", async () => {
  await using env = await channelsEnv({ actors: [inbox] });
  const { creatorId, connectionId } = await seedChannel(env.db.pool);
  const deps = { pool: env.db.pool, system: env.system };
  const status = async () =>
    await withTenant(
      env.db.pool,
      creatorId,
      async (c) => (await c.query("select status from end_users")).rows[0].status,
    );
  await takeIn(
    deps,
    text({ creatorId, connectionId, content: { type: "command", command: "stop", args: "" } }),
  );
  assert.equal(await status(), "opted_out");
  await takeIn(deps, text({ creatorId, connectionId, content: { type: "text", text: "hello" } }));
  assert.equal(await status(), "opted_out");
  await takeIn(
    deps,
    text({ creatorId, connectionId, content: { type: "command", command: "start", args: "" } }),
  );
  assert.equal(await status(), "active");
  await takeIn(deps, text({ creatorId, connectionId, content: { type: "text", text: " STOP " } }));
  assert.equal(await status(), "opted_out");
});

Deno.test("takeIn() - the same provider user id at two creators is two people", async () => {
  await using env = await channelsEnv({ actors: [inbox] });
  const one = await seedChannel(env.db.pool);
  const two = await seedChannel(env.db.pool);
  const deps = { pool: env.db.pool, system: env.system };
  const a = await takeIn(deps, text({ ...one, externalMessageId: "same" }));
  const b = await takeIn(deps, text({ ...two, externalMessageId: "same" }));
  assert.ok(a.status === "accepted" && b.status === "accepted");
  assert.notEqual(a.endUserId, b.endUserId);
});

Deno.test("takeIn() - a known person's message takes the one-statement path with the same result", async () => {
  await using env = await channelsEnv({ actors: [inbox] });
  const { creatorId, connectionId } = await seedChannel(env.db.pool);
  const known = new KnownPeople();
  const deps = { pool: env.db.pool, system: env.system, known };
  const first = await takeIn(deps, text({ creatorId, connectionId, externalMessageId: "k1" }));
  assert.ok(first.status === "accepted" && first.newPerson);
  const m2 = text({ creatorId, connectionId, externalMessageId: "k2" });
  assert.deepEqual(known.get(m2), { identityId: first.identityId, endUserId: first.endUserId });
  const second = await takeIn(deps, m2);
  assert.ok(second.status === "accepted" && !second.newPerson);
  assert.equal(second.endUserId, first.endUserId);
  assert.deepEqual(await takeIn(deps, m2), { status: "duplicate" });
  // The identity moved to another end user behind the node's back: the full path takes over.
  const other = await withTenant(env.db.pool, creatorId, async (c) =>
    (await c.query(
      `insert into end_users (creator_id, channel, external_id) values ($1, 'telegram', 'x')
       returning id`,
      [creatorId],
    )).rows[0].id);
  await env.db.pool.query("update channel_identities set end_user_id = $1", [other]);
  const third = await takeIn(deps, text({ creatorId, connectionId, externalMessageId: "k3" }));
  assert.ok(third.status === "accepted");
  assert.equal(third.endUserId, other);
  const got: Inbound[] = await eventually(async () => {
    const g = await env.system.ref(inbox, `${creatorId}:${first.endUserId}`).ask("got", null);
    return g.length >= 2 ? g : undefined;
  });
  assert.deepEqual(got.map((m) => m.externalMessageId), ["k1", "k2"]);
  const moved = await env.system.ref(inbox, `${creatorId}:${other}`).ask("got", null);
  await eventually(async () =>
    (await env.system.ref(inbox, `${creatorId}:${other}`).ask("got", null)).length === 1
  );
  assert.ok(moved.length <= 1);
});
