import assert from "node:assert/strict";
import { eventually, testDb, testNats } from "../tests/harness.ts";
import { startTestSystem } from "../tests/runtime_harness.ts";
import { counter } from "./testdata/actors.ts";

Deno.test("idle actors passivate and the number of resident actors stays bounded", async () => {
  await using db = await testDb();
  await using nats = await testNats();
  await using sys = await startTestSystem(db, nats, { maxResident: 20, idleMs: 1000 });
  for (let i = 0; i < 60; i++) await sys.ref(counter, `m${i}`).ask("add", { by: 1 });
  assert.ok(sys.residentActors <= 21, `resident: ${sys.residentActors}`);
  // State survives passivation: it is reloaded from Postgres.
  assert.equal(await sys.ref(counter, "m0").ask("add", { by: 1 }), 2);
  await eventually(() => sys.residentActors === 0, { timeoutMs: 5000, what: "passivation" });
});
