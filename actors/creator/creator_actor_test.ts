import assert from "node:assert/strict";
import { ManualClock, RemoteHandlerError } from "../../runtime/mod.ts";
import { testDb, testNats } from "../../tests/harness.ts";
import { startActorNode } from "../../tests/actor_node.ts";
import { creatorActor, creatorAddress } from "../mod.ts";

const T0 = Date.parse("2026-03-01T08:00:00Z");

Deno.test("CreatorActor - keeps the live channels by connection id, from when they connected", async () => {
  await using db = await testDb();
  await using nats = await testNats();
  const clock = new ManualClock(T0);
  await using node = await startActorNode({ pool: db.pool, nats, actors: [creatorActor], clock });
  const creator = creatorAddress(crypto.randomUUID());
  const bot = crypto.randomUUID();
  const widget = crypto.randomUUID();
  const client = node.system.client;

  assert.deepEqual(await client.ask(creator, "channels"), {});
  await client.ask(creator, "channelConnected", { channelId: bot, kind: "telegram" });
  clock.advance(5000);
  await client.ask(creator, "channelConnected", { channelId: widget, kind: "web_widget" });
  assert.deepEqual(await client.ask(creator, "channels"), {
    [bot]: { kind: "telegram", since: T0 },
    [widget]: { kind: "web_widget", since: T0 + 5000 },
  });
  await client.ask(creator, "channelDisconnected", { channelId: bot, kind: "telegram" });
  // Disconnecting what is not connected changes nothing.
  await client.ask(creator, "channelDisconnected", {
    channelId: crypto.randomUUID(),
    kind: "whatsapp",
  });
  clock.advance(5000);
  // Connected again (re-enabled): live from now.
  await client.ask(creator, "channelConnected", { channelId: widget, kind: "web_widget" });
  assert.deepEqual(await client.ask(creator, "channels"), {
    [widget]: { kind: "web_widget", since: T0 + 10_000 },
  });
  const { rows } = await db.pool.query(
    "select state from rt_actor_state where actor_type = 'creator' and actor_id = $1",
    [creator.id],
  );
  assert.deepEqual(rows[0].state, {
    channels: { [widget]: { kind: "web_widget", since: T0 + 10_000 } },
  });
  assert.deepEqual(node.events, []);
});

Deno.test("CreatorActor - a channel change failing its contract is dead-lettered and changes nothing", async () => {
  await using db = await testDb();
  await using nats = await testNats();
  await using node = await startActorNode({ pool: db.pool, nats, actors: [creatorActor] });
  const creator = creatorAddress(crypto.randomUUID());
  const client = node.system.client;
  const bad: [string, unknown, RegExp][] = [
    // Not a channel of the product (the old names are gone too).
    ["channelConnected", { channelId: crypto.randomUUID(), kind: "sms" }, /kind: Invalid option/],
    ["channelConnected", { channelId: crypto.randomUUID(), kind: "mobile" }, /kind: /],
    ["channelDisconnected", { channelId: "bot-1", kind: "telegram" }, /channelId: /],
    ["channelConnected", null, /"channelConnected" .* \(message\): /],
  ];
  for (const [kind, data, reason] of bad) {
    await assert.rejects(
      () => client.ask(creator, kind as never, data as never),
      (err: Error) => err instanceof RemoteHandlerError && reason.test(err.message),
      `${kind} ${JSON.stringify(data)}`,
    );
  }
  assert.equal((await node.system.deadLetters.list()).length, bad.length);
  assert.deepEqual(await client.ask(creator, "channels"), {});
});
