import assert from "node:assert/strict";
import type pg from "pg";
import type { NatsConnection } from "@nats-io/transport-node";
import { ManualClock, realClock } from "./clock.ts";
import { resolveOptions } from "./options.ts";
import { counter } from "./testdata/actors.ts";

const required = {
  pool: {} as pg.Pool,
  nc: {} as NatsConnection,
  actors: [counter],
  nodeId: "n1",
};

Deno.test("resolveOptions() fills every default once and freezes the result", () => {
  const o = resolveOptions(required);
  assert.equal(o.prefix, "coachd");
  assert.equal(o.partitions, 64);
  assert.equal(o.leaseMs, 5000);
  assert.equal(o.heartbeatMs, 1000);
  assert.equal(o.nodeTtlMs, 3500);
  assert.equal(o.maxDeliver, 5);
  assert.equal(o.commitConcurrency, 1);
  assert.equal(o.host, true);
  assert.equal(o.clock, realClock);
  assert.deepEqual(o.faults, {});
  assert.ok(Object.isFrozen(o) && Object.isFrozen(o.actors) && Object.isFrozen(o.faults));
  assert.throws(() => {
    (o as { prefix: string }).prefix = "x";
  }, TypeError);
});

Deno.test("resolveOptions() keeps what the caller gave, including falsy values", () => {
  const clock = new ManualClock(0);
  const o = resolveOptions({
    ...required,
    host: false,
    adminService: false,
    heartbeatMs: 200,
    maxDeliver: 1,
    clock,
    faults: { replayTurns: true },
  });
  assert.equal(o.host, false);
  assert.equal(o.adminService, false);
  assert.equal(o.nodeTtlMs, 1100);
  assert.equal(o.maxDeliver, 1);
  assert.equal(o.clock, clock);
  assert.equal(o.faults.replayTurns, true);
});
