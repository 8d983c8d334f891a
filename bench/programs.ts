// deno-lint-ignore-file no-console -- entry point: prints the figures
/**
 * Programs benchmark: N UserActors on one node (real Postgres and NATS, a manual clock) walk a
 * three-step program: a message, a choice question after the pause, the answer and a closing
 * message. Prints how long each phase took for all of them, in people per second.
 *
 *   deno task bench:programs [--users=500]
 */
import { parseArgs } from "node:util";
import { jsonLogger, ManualClock } from "../runtime/mod.ts";
import { type FlowDefinition, userActor, userAddress } from "../actors/mod.ts";
import { PACE_MS } from "../actors/user/program/engine.ts";
import { testDb, testNats } from "../tests/harness.ts";
import { startActorNode } from "../tests/actor_node.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: { users: { type: "string", default: "500" } },
});
const users = Number(values.users);

const FLOW: FlowDefinition = {
  start: "hi",
  steps: [
    { id: "hi", type: "message", text: "Welcome to the program", next: "q" },
    {
      id: "q",
      type: "question",
      text: "Mornings or evenings?",
      variable: "when",
      choices: ["Mornings", "Evenings"],
      next: "bye",
    },
    { id: "bye", type: "message", text: "Noted, see you tomorrow" },
  ],
};

await using db = await testDb({ max: 20 });
await using nats = await testNats();
const clock = new ManualClock(Date.parse("2026-03-02T08:00:00Z"));
await using node = await startActorNode({
  pool: db.pool,
  nats,
  actors: [userActor({ debounceMs: 0 })],
  clock,
  partitions: 16,
  log: jsonLogger("error"),
});
const creatorId = crypto.randomUUID();
const people = Array.from({ length: users }, () => crypto.randomUUID());
const programId = crypto.randomUUID();
const outcomes = (o: string) => node.eventsOn("program.step").filter((e) => e.outcome === o).length;

async function phase(name: string, start: () => Promise<void>, done: () => boolean) {
  const t0 = performance.now();
  await start();
  while (!done()) await new Promise((r) => setTimeout(r, 20));
  const s = (performance.now() - t0) / 1000;
  console.log(
    `${name.padEnd(34)} ${s.toFixed(2).padStart(7)} s ${
      (users / s).toFixed(0).padStart(7)
    } people/s`,
  );
  return { name, seconds: Math.round(s * 100) / 100, perSecond: Math.round(users / s) };
}

console.log(`${users} people, one node, 16 partitions`);
const results = [
  await phase("enrol + first message", async () => {
    await Promise.all(
      people.map((id) =>
        node.system.client.tell(userAddress(creatorId, id), "enroll", {
          programId,
          version: 1,
          name: "Bench",
          flow: FLOW,
          by: "creator",
        })
      ),
    );
  }, () => outcomes("sent") >= users),
  await phase("reminder after the pause + question", () => {
    clock.advance(PACE_MS);
    return Promise.resolve();
  }, () => outcomes("asked") >= users),
  await phase("answer + closing message", async () => {
    await Promise.all(
      people.map((id) =>
        node.system.client.tell(userAddress(creatorId, id), "inbound", {
          channel: "telegram",
          connectionId: crypto.randomUUID(),
          creatorId,
          externalUserId: id,
          externalMessageId: `a-${id}`,
          sentAt: clock.now(),
          content: { type: "button", payload: "a:q:1", text: "Evenings" },
          endUserId: id,
          identityId: crypto.randomUUID(),
          receivedAt: clock.now(),
        })
      ),
    );
  }, () => node.eventsOn("program.completed").length >= users),
];
console.log(JSON.stringify({ users, phases: results }));
