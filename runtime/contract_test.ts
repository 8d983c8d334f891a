import assert from "node:assert/strict";
import { z } from "zod";
import { defineActor, defineContract, RemoteHandlerError } from "./mod.ts";
import { startTestSystem } from "../tests/runtime_harness.ts";
import { eventually, testDb, testNats } from "../tests/harness.ts";

const ledger = defineContract("ledger", {
  credit: { input: z.object({ amount: z.number().int().min(1) }), reply: z.number() },
  note: { input: z.string().max(20) },
  balance: { input: z.null().optional(), reply: z.object({ total: z.number() }) },
  forward: { input: z.object({ to: z.string(), amount: z.number() }) },
});

const ledgerActor = defineActor(ledger, {
  state: z.object({ total: z.number(), notes: z.array(z.string()) }),
  initial: () => ({ total: 0, notes: [] }),
  handlers: {
    credit: (ctx, m) => (ctx.state.total += m.amount),
    note: (ctx, text) => void ctx.state.notes.push(text),
    balance: (ctx) => ({ total: ctx.state.total }),
    forward: (ctx, m) => ctx.tell(ledger.address(m.to), "credit", { amount: m.amount }),
  },
});

// Compile-time checks: each line below must fail to type-check, or `deno check` fails here.
function _typeErrors(ctx: Parameters<typeof ledgerActor.handlers.forward.handle>[0]) {
  const to = ledger.address("b");
  // @ts-expect-error -- no such kind
  ctx.tell(to, "debit", { amount: 1 });
  // @ts-expect-error -- wrong data
  ctx.tell(to, "credit", { amount: "1" });
  // @ts-expect-error -- data is required
  ctx.tell(to, "note");
  ctx.tell(to, "balance");
  const reply: Promise<number> = ctx.ask(to, "credit", { amount: 1 });
  // @ts-expect-error -- the reply of balance is an object
  const wrong: Promise<number> = ctx.ask(to, "balance", null);
  return [reply, wrong];
}

Deno.test("defineContract() - schema is the vocabulary as a union discriminated on kind", () => {
  assert.deepEqual(ledger.schema.parse({ kind: "credit", data: { amount: 2 } }), {
    kind: "credit",
    data: { amount: 2 },
  });
  assert.equal(ledger.schema.safeParse({ kind: "debit", data: { amount: 2 } }).success, false);
  assert.equal(ledger.schema.safeParse({ kind: "note", data: 42 }).success, false);
  assert.deepEqual(ledger.address("a"), { type: "ledger", id: "a" });
  assert.equal(ledgerActor.type, "ledger");
  assert.deepEqual(Object.keys(ledgerActor.handlers), ["credit", "note", "balance", "forward"]);
  assert.throws(() => defineContract("Not A Type", {}), /type must match/);
});

Deno.test("defineActor(contract) - handlers run on parsed messages; a message failing its schema is dead-lettered", async () => {
  await using db = await testDb();
  await using nats = await testNats();
  await using sys = await startTestSystem(db, nats, { actors: [ledgerActor] });
  assert.equal(await sys.client.ask(ledger.address("a"), "credit", { amount: 5 }), 5);
  await sys.client.tell(ledger.address("a"), "forward", { to: "b", amount: 3 });
  await eventually(async () => (await sys.client.ask(ledger.address("b"), "balance")).total === 3);
  await assert.rejects(
    // A sender outside TypeScript (or a wrong cast) can still send bad data.
    () => sys.client.ask(ledger.address("a"), "credit", { amount: 0 } as never),
    (err: Error) =>
      err instanceof RemoteHandlerError &&
      /Invalid "credit" message for actor type "ledger": amount: Too small/.test(err.message),
  );
  const dead = await sys.deadLetters.list();
  assert.equal(dead.length, 1);
  assert.deepEqual(dead[0]!.body, { k: "credit", d: { amount: 0 } });
  assert.deepEqual(await sys.client.ask(ledger.address("a"), "balance"), { total: 5 });
});
