import assert from "node:assert/strict";
import { headers } from "@nats-io/transport-node";
import { jetstream, jetstreamManager } from "@nats-io/jetstream";
import {
  InvalidActorAddressError,
  PayloadTooLargeError,
  RemoteHandlerError,
  UnknownActorTypeError,
} from "./mod.ts";
import { defineActor } from "./actor.ts";
import { z } from "zod";
import { eventually, testDb, testNats } from "../tests/harness.ts";
import { counter } from "./testdata/actors.ts";
import { startTestSystem } from "../tests/runtime_harness.ts";

Deno.test("a poison message is retried, then dead-lettered after max deliveries, and can be replayed", async () => {
  await using db = await testDb();
  await using nats = await testNats();
  await using sys = await startTestSystem(db, nats, { maxDeliver: 3 });
  await sys.ref(counter, "p").tell("poison", "boom");
  await sys.ref(counter, "p").tell("add", { by: 1 });
  const [dead] = await eventually(async () => {
    const list = await sys.deadLetters.list();
    return list.length ? list : null;
  });
  assert.match(dead!.reason, /handler failed 3 times, last: Error: poison: boom/);
  assert.equal(dead!.subject, sys.mailboxOf({ type: "counter", id: "p" }).subject);
  // The message behind it was not blocked for ever.
  await eventually(async () => (await sys.ref(counter, "p").ask("get", null)).n === 1);
  // Replay returns it to the mailbox; it fails again and is dead-lettered again.
  await sys.deadLetters.replay(dead!.seq);
  await eventually(async () => {
    const list = await sys.deadLetters.list();
    return list.length === 1 && list[0]!.seq !== dead!.seq;
  }, { what: "replayed message dead-lettered again" });
});

Deno.test("a replayed dead letter is processed once the actor can handle it", async () => {
  await using db = await testDb();
  await using nats = await testNats();
  // A node that does not know the `later` kind yet dead-letters it…
  const v1 = defineActor({
    type: "svc",
    state: z.object({ got: z.array(z.string()) }),
    initial: () => ({ got: [] as string[] }),
    handlers: (h) => ({ get: h(z.null(), (ctx) => ctx.state.got) }),
  });
  const v2 = defineActor({
    ...v1,
    handlers: (h) => ({
      get: h(z.null(), (ctx) => ctx.state.got),
      later: h(z.string(), (ctx, s) => void ctx.state.got.push(s)),
    }),
  });
  {
    await using sys1 = await startTestSystem(db, nats, { actors: [v1] });
    await sys1.client.tell({ type: "svc", id: "x" }, "later", "hello");
    await eventually(async () => (await sys1.deadLetters.list()).length === 1);
    const [dead] = await sys1.deadLetters.list();
    assert.match(dead!.reason, /no handler for message kind "later"/);
  }
  // …and after an upgrade an operator replays it.
  await using sys2 = await startTestSystem(db, nats, { actors: [v2] });
  const [dead] = await sys2.deadLetters.list();
  await sys2.deadLetters.replay(dead!.seq);
  await eventually(async () => (await sys2.ref(v2, "x").ask("get", null)).includes("hello"));
  assert.equal((await sys2.deadLetters.list()).length, 0);
});

Deno.test("bad input - malformed bodies, unknown kinds, invalid messages and unknown types get clear reasons", async () => {
  await using db = await testDb();
  await using nats = await testNats();
  await using sys = await startTestSystem(db, nats);
  const js = jetstream(nats.nc);
  const subject = sys.mailboxOf({ type: "counter", id: "bad" }).subject;
  await js.publish(subject, new TextEncoder().encode("{not json"));
  await js.publish(subject, new TextEncoder().encode(JSON.stringify({ k: "nope" })));
  await js.publish(subject, new TextEncoder().encode(JSON.stringify({ k: "add", d: { by: "x" } })));
  const ghost = sys.mailboxOf({ type: "counter", id: "bad" }).subject.replace(
    ".counter.",
    ".ghost.",
  );
  await js.publish(ghost, new TextEncoder().encode(JSON.stringify({ k: "add" })), {
    headers: headers(),
  });
  const list = await eventually(async () => {
    const l = await sys.deadLetters.list();
    return l.length === 4 ? l : null;
  });
  const reasons = list.map((d) => d.reason).sort();
  assert.match(reasons.join("\n"), /malformed message: body is not JSON/);
  assert.match(reasons.join("\n"), /Actor type "counter" has no handler for message kind "nope"/);
  assert.match(reasons.join("\n"), /Invalid "add" message for actor type "counter": by: /);
  assert.match(reasons.join("\n"), /Unknown actor type "ghost"/);
  // An ask gets the rejection at once instead of a timeout.
  await assert.rejects(
    () => sys.client.ask({ type: "counter", id: "bad" }, "add", { by: "x" }, { timeoutMs: 5000 }),
    (err: Error) =>
      err instanceof RemoteHandlerError &&
      /rejected the message: Invalid "add" message.*by:/.test(err.message),
  );
  // Caller-side checks.
  await assert.rejects(
    () =>
      sys.client.tell({ type: "counter", id: "big" }, "add", { by: 1, pad: "x".repeat(300_000) }),
    PayloadTooLargeError,
  );
  await assert.rejects(
    () => sys.client.tell({ type: "Bad Type", id: "x" }, "add", {}),
    InvalidActorAddressError,
  );
  await assert.rejects(
    () => sys.client.tell({ type: "counter", id: "" }, "add", {}),
    InvalidActorAddressError,
  );
  assert.throws(() => sys.ref({ ...counter, type: "ghost" }, "x"), UnknownActorTypeError);
  // The state was never touched by any of them.
  assert.equal((await sys.ref(counter, "bad").ask("get", null)).n, 0);
});

Deno.test("a handler that leaves an invalid state or throws a TerminalError is dead-lettered at once", async () => {
  await using db = await testDb();
  await using nats = await testNats();
  await using sys = await startTestSystem(db, nats, { maxDeliver: 5 });
  await sys.ref(counter, "s").ask("add", { by: 2 });
  await assert.rejects(
    () => sys.ref(counter, "s").ask("breakState", null),
    /invalid "counter" state: n:/,
  );
  const t0 = Date.now();
  await assert.rejects(
    () => sys.ref(counter, "s").ask("refuse", "no"),
    /TerminalError: refused: no/,
  );
  assert.ok(Date.now() - t0 < 1000, "a terminal error was retried");
  assert.equal((await sys.ref(counter, "s").ask("get", null)).n, 2);
});

Deno.test("an event a consumer rejects is kept under dlq.evt and replays to its event subject", async () => {
  await using db = await testDb();
  await using nats = await testNats();
  await using sys = await startTestSystem(db, nats);
  const subject = `${nats.prefix}.evt.thing.done`;
  const data = new TextEncoder().encode(JSON.stringify({ n: 1 }));
  await sys.deadLetters.put({
    subject,
    data,
    headers: { "Nats-Msg-Id": "row-1", "Coachd-Actor": "counter/a" },
    reason: "cannot apply",
  });
  // Two workers rejecting the same event leave one letter.
  await sys.deadLetters.put({
    subject,
    data,
    headers: { "Nats-Msg-Id": "row-1" },
    reason: "again",
  });
  const [dead, ...more] = await sys.deadLetters.list();
  assert.equal(more.length, 0);
  assert.equal(dead!.subject, subject);
  assert.equal(dead!.reason, "cannot apply");
  assert.deepEqual(dead!.body, { n: 1 });
  const jsm = await jetstreamManager(nats.nc);
  const stored = await jsm.streams.getMessage(`${nats.prefix}_dead`, { seq: dead!.seq });
  assert.equal(stored!.subject, `${nats.prefix}.dlq.evt.thing.done`);

  const seen: { subject: string; actor?: string; body: unknown }[] = [];
  const sub = nats.nc.subscribe(subject, {
    callback: (_e, m) =>
      void seen.push({ subject: m.subject, actor: m.headers?.get("Coachd-Actor"), body: m.json() }),
  });
  await nats.nc.flush();
  assert.deepEqual(await sys.deadLetters.replay(dead!.seq), { subject });
  await eventually(() => seen.length === 1, { what: "replayed event" });
  assert.deepEqual(seen[0], { subject, actor: "counter/a", body: { n: 1 } });
  assert.equal((await sys.deadLetters.list()).length, 0);
  sub.unsubscribe();
});
