import assert from "node:assert/strict";
import { eventually, sleep, testDb, testNats } from "../tests/harness.ts";
import { startTestSystem } from "../tests/runtime_harness.ts";
import { counter } from "./testdata/actors.ts";

Deno.test("ctx.setTimer() delivers an in-memory message to the same activation; setting a name again replaces its timer", async () => {
  await using db = await testDb();
  await using nats = await testNats();
  await using sys = await startTestSystem(db, nats);
  const ref = sys.ref(counter, "t");
  await ref.ask("timer", 300);
  await ref.ask("timer", 100); // replaces the 300 ms timer of the same name
  await eventually(async () => (await ref.ask("get", null)).n === 100);
  await sleep(500);
  const state = await ref.ask("get", null);
  assert.equal(state.n, 100, "the replaced timer fired too");
  // The one firing ran as a turn of its own, with a message id naming the timer.
  assert.equal(state.seen.filter((id) => id.startsWith("timer:t:")).length, 1);
});
