import assert from "node:assert/strict";
import { BackgroundTasks } from "./background.ts";
import { ManualClock, sleep } from "./clock.ts";
import { jsonLogger } from "./logger.ts";

Deno.test("ManualClock.advance() runs due timers in due order and nothing early", () => {
  const clock = new ManualClock(1000);
  const fired: string[] = [];
  clock.setTimeout(() => fired.push("b"), 200);
  clock.setTimeout(() => fired.push("a"), 100);
  const c = clock.setTimeout(() => fired.push("c"), 150);
  clock.clearTimeout(c);
  clock.advance(99);
  assert.deepEqual(fired, []);
  clock.advance(200);
  assert.deepEqual(fired, ["a", "b"]);
  assert.equal(clock.now(), 1299);
  assert.equal(clock.pending, 0);
});

Deno.test("ManualClock: a timer cleared by one firing in the same advance does not run", () => {
  const clock = new ManualClock(0);
  const fired: string[] = [];
  let second = 0;
  clock.setTimeout(() => {
    fired.push("first");
    clock.clearTimeout(second);
  }, 10);
  second = clock.setTimeout(() => fired.push("second"), 20);
  clock.advance(30);
  assert.deepEqual(fired, ["first"]);
});

Deno.test("sleep() waits on the given clock and ends early when its signal aborts", async () => {
  const clock = new ManualClock(0);
  let woke = false;
  const s = sleep(clock, 1000).then(() => woke = true);
  await new Promise((r) => setTimeout(r, 20));
  assert.equal(woke, false);
  clock.advance(1000);
  await s;
  assert.equal(woke, true);
  const halt = new AbortController();
  const aborted = sleep(clock, 60_000, halt.signal);
  halt.abort();
  await aborted;
  assert.equal(clock.pending, 0);
});

Deno.test("BackgroundTasks.every() runs once per period of its clock, skips a round while busy and stops", async () => {
  const clock = new ManualClock(0);
  const tasks = new BackgroundTasks(clock, jsonLogger("error"));
  let runs = 0;
  let release!: () => void;
  tasks.every(100, () => {
    runs++;
    return new Promise<void>((r) => release = r);
  });
  clock.advance(99);
  assert.equal(runs, 0);
  clock.advance(1);
  assert.equal(runs, 1);
  clock.advance(100); // still busy: skipped
  assert.equal(runs, 1);
  release();
  await new Promise((r) => setTimeout(r, 0));
  clock.advance(10_000); // a long jump runs the task once, like a process resuming
  assert.equal(runs, 2);
  tasks.stop();
  release();
  clock.advance(1000);
  assert.equal(runs, 2);
  assert.equal(clock.pending, 0);
});
