import assert from "node:assert/strict";
import { Hono } from "hono";
import { ActorSystem, jsonLogger } from "../runtime/mod.ts";
import { eventually, testDb, testNats } from "../tests/harness.ts";
import { userActor, type UserState } from "./user_actor.ts";
import { userRoutes } from "./user_routes.ts";

const log = jsonLogger("error");

async function bench() {
  const db = await testDb();
  const nats = await testNats();
  const system = await ActorSystem.start({
    pool: db.pool,
    nc: nats.nc,
    actors: [userActor],
    nodeId: "n1",
    prefix: nats.prefix,
    partitions: 4,
    adminService: false,
    log,
  });
  const app = new Hono().route("/user", userRoutes({ system, log }));
  const post = (path: string, body?: unknown) =>
    app.request(path, {
      method: "POST",
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  return {
    app,
    post,
    async [Symbol.asyncDispose]() {
      await system.stop();
      await nats[Symbol.asyncDispose]();
      await db[Symbol.asyncDispose]();
    },
  };
}

Deno.test("userRoutes POST /message replies with the count and keeps the last 20", async () => {
  await using b = await bench();
  for (let i = 1; i <= 22; i++) {
    const text = `message number ${i} with a long tail`;
    const res = await b.post("/user/alice/message", text);
    assert.equal(res.status, 200);
    assert.equal(await res.json(), `ok #${i}: ${text.slice(0, 16)}`);
  }
  const state = await (await b.app.request("/user/alice/state")).json() as UserState;
  assert.equal(state.count, 22);
  assert.equal(state.history.length, 20);
  assert.equal(state.history[0]!.text, "message number 3 with a long tail");
  assert.equal(state.lastSeen, state.history[19]!.at);
});

Deno.test("userRoutes rejects a body of the wrong shape with 400 problem+json", async () => {
  await using b = await bench();
  const res = await b.post("/user/alice/message", { text: "hi" });
  assert.equal(res.status, 400);
  assert.equal(res.headers.get("content-type"), "application/problem+json");
  const problem = await res.json();
  assert.equal(problem.title, "BadRequestError");
  assert.match(problem.detail, /expected string/);
  assert.equal((await b.post("/user/alice/scheduleNudges", { dueAts: ["soon"] })).status, 400);
});

Deno.test("userRoutes scheduleNudges fires each nudge once and records [dueAt, firedAt]", async () => {
  await using b = await bench();
  const now = Date.now();
  const dueAts = [now + 200, now + 300, now + 300];
  const res = await b.post("/user/bob/scheduleNudges", { dueAts });
  assert.equal(await res.json(), 3);
  const stats = await eventually(async () => {
    const s = await (await b.post("/user/bob/nudgeStats")).json();
    return s.nudges === 3 ? s : null;
  });
  assert.deepEqual(stats.fired.map(([due]: number[]) => due).sort(), dueAts);
  for (const [due, fired] of stats.fired) assert.ok(fired >= due);
});
