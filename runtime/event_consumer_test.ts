import assert from "node:assert/strict";
import { z } from "zod";
import { jetstream } from "@nats-io/jetstream";
import { ActorSystem, jsonLogger, streamNames, TerminalError } from "./mod.ts";
import { parseEvent, startEventConsumer } from "./event_consumer.ts";
import { eventually, sleep, testDb, testNats } from "../tests/harness.ts";

const Ping = z.object({ n: z.number().int() });

async function setup() {
  const db = await testDb();
  const nats = await testNats();
  // The system creates the events and dead-letter streams.
  const system = await ActorSystem.start({
    pool: db.pool,
    nc: nats.nc,
    actors: [],
    nodeId: "n1",
    prefix: nats.prefix,
    partitions: 2,
    log: jsonLogger("error"),
  });
  const js = jetstream(nats.nc);
  const publish = (subject: string, body: unknown, id: string) =>
    js.publish(`${nats.prefix}.evt.${subject}`, JSON.stringify(body), { msgID: id });
  return {
    db,
    nats,
    system,
    publish,
    async [Symbol.asyncDispose]() {
      await system.stop();
      await nats[Symbol.asyncDispose]();
      await db[Symbol.asyncDispose]();
    },
  };
}

Deno.test("startEventConsumer() - each event once across two workers, with its id; malformed ones dead-lettered", async () => {
  await using env = await setup();
  const seen: { n: number; id: string; worker: string }[] = [];
  const worker = (name: string) =>
    startEventConsumer({
      nc: env.nats.nc,
      stream: streamNames(env.nats.prefix).events,
      durable: "test-pings",
      filter: `${env.nats.prefix}.evt.ping.>`,
      schema: Ping,
      handle: (e, meta) => {
        seen.push({ n: e.n, id: meta.id, worker: name });
        return Promise.resolve();
      },
      deadLetters: env.system.deadLetters,
      log: jsonLogger("error"),
    });
  await using a = await worker("a");
  await using b = await worker("b");
  for (let n = 0; n < 40; n++) await env.publish("ping.x", { n }, `ping-${n}`);
  await env.publish("ping.x", { n: "nope" }, "bad-1");
  await env.publish("other.x", { n: 99 }, "other-1");
  await eventually(() => seen.length === 40 && a.stats.deadLettered + b.stats.deadLettered === 1);
  await sleep(200);
  assert.deepEqual(seen.map((s) => s.n).sort((x, y) => x - y), [...Array(40).keys()]);
  assert.ok(seen.every((s) => s.id === `ping-${s.n}`));
  const dead = await env.system.deadLetters.list();
  assert.equal(dead.length, 1);
  assert.match(dead[0]!.reason, /^malformed event: n: /);
  assert.equal(dead[0]!.subject, `${env.nats.prefix}.evt.ping.x`);
});

Deno.test("startEventConsumer() - a failing event is retried with back-off, then dead-lettered; a TerminalError at once", async () => {
  await using env = await setup();
  const attempts = new Map<number, number[]>();
  await using worker = await startEventConsumer({
    nc: env.nats.nc,
    stream: streamNames(env.nats.prefix).events,
    durable: "test-flaky",
    filter: `${env.nats.prefix}.evt.flaky.>`,
    schema: Ping,
    maxDeliver: 3,
    retryDelayMs: 50,
    handle: (e, meta) => {
      attempts.set(e.n, [...(attempts.get(e.n) ?? []), meta.attempt]);
      if (e.n === 1 && meta.attempt < 2) return Promise.reject(new Error("flaky once"));
      if (e.n === 2) return Promise.reject(new Error("always broken"));
      if (e.n === 3) return Promise.reject(new TerminalError("cannot ever apply"));
      return Promise.resolve();
    },
    deadLetters: env.system.deadLetters,
    log: jsonLogger("error"),
  });
  for (const n of [1, 2, 3]) await env.publish("flaky.x", { n }, `flaky-${n}`);
  await eventually(() => worker.stats.deadLettered === 2 && worker.stats.handled === 1);
  assert.deepEqual(attempts.get(1), [1, 2]);
  assert.deepEqual(attempts.get(2), [1, 2, 3]);
  assert.deepEqual(attempts.get(3), [1]);
  const reasons = (await env.system.deadLetters.list()).map((d) => d.reason).sort();
  assert.deepEqual(reasons, ["cannot ever apply", "failed 3 times, last: Error: always broken"]);
});

Deno.test("startEventConsumer() - handles several events at once up to its concurrency", async () => {
  await using env = await setup();
  let running = 0;
  let peak = 0;
  await using worker = await startEventConsumer({
    nc: env.nats.nc,
    stream: streamNames(env.nats.prefix).events,
    durable: "test-slow",
    filter: `${env.nats.prefix}.evt.slow.>`,
    schema: Ping,
    concurrency: 4,
    handle: async () => {
      peak = Math.max(peak, ++running);
      await sleep(100);
      running--;
    },
    deadLetters: env.system.deadLetters,
    log: jsonLogger("error"),
  });
  for (let n = 0; n < 12; n++) await env.publish("slow.x", { n }, `slow-${n}`);
  await eventually(() => worker.stats.handled === 12);
  assert.equal(peak, 4);
});

Deno.test("parseEvent() - a body read with a schema of its subject that does not fit is dead-lettered at once, as the consumer's own schema would", async () => {
  await using env = await setup();
  const seen: number[] = [];
  await using worker = await startEventConsumer({
    nc: env.nats.nc,
    stream: streamNames(env.nats.prefix).events,
    durable: "test-parse",
    filter: `${env.nats.prefix}.evt.parsed.>`,
    schema: z.unknown(),
    handle: (body) => {
      seen.push(parseEvent(Ping, body).n);
      return Promise.resolve();
    },
    deadLetters: env.system.deadLetters,
    log: jsonLogger("error"),
  });
  await env.publish("parsed.x", { n: 1 }, "parsed-1");
  await env.publish("parsed.x", { n: "nope" }, "parsed-bad");
  await eventually(() => seen.length === 1 && worker.stats.deadLettered === 1);
  assert.deepEqual(seen, [1]);
  const dead = await env.system.deadLetters.list();
  assert.equal(dead.length, 1);
  assert.match(dead[0]!.reason, /^malformed event: n: /);
});
