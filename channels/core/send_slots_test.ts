import assert from "node:assert/strict";
import fc from "fast-check";
import { emptySchedule, reserve, type Schedule } from "./send_slots.ts";

const telegram = { perSecond: 30, chatIntervalMs: 1000 };

Deno.test("reserve() spaces one connection's sends so no one-second window holds more than perSecond", () => {
  fc.assert(
    fc.property(
      fc.array(
        fc.record({
          chat: fc.integer({ min: 0, max: 40 }),
          parts: fc.integer({ min: 1, max: 3 }),
          delay: fc.integer({ min: 0, max: 3000 }),
          step: fc.integer({ min: 0, max: 200 }),
        }),
        { minLength: 1, maxLength: 150 },
      ),
      (requests) => {
        let schedule: Schedule = emptySchedule();
        let now = 1_000_000;
        const all: number[] = [];
        const byChat = new Map<number, number[]>();
        for (const r of requests) {
          now += r.step;
          const out = reserve(schedule, {
            chat: String(r.chat),
            parts: r.parts,
            notBefore: now + r.delay,
            now,
            limits: telegram,
          });
          schedule = out.schedule;
          for (const t of out.at) assert.ok(t >= now + r.delay, "never before notBefore");
          all.push(...out.at);
          byChat.set(r.chat, [...(byChat.get(r.chat) ?? []), ...out.at]);
        }
        all.sort((a, b) => a - b);
        for (let i = 0; i + 30 < all.length; i++) {
          assert.ok(all[i + 30]! - all[i]! > 1000, `31 sends within 1 s from ${all[i]}`);
        }
        for (const times of byChat.values()) {
          times.sort((a, b) => a - b);
          for (let i = 1; i < times.length; i++) {
            assert.ok(times[i]! - times[i - 1]! >= 1000, "one chat gets one message per second");
          }
        }
      },
    ),
  );
});

Deno.test("reserve() - a chat waiting for its own slot does not hold up other chats", () => {
  let s = emptySchedule();
  const now = 10_000;
  s = reserve(s, { chat: "a", parts: 1, notBefore: now, now, limits: telegram }).schedule;
  const second = reserve(s, { chat: "a", parts: 1, notBefore: now, now, limits: telegram });
  assert.equal(second.at[0], now + 1000);
  const other = reserve(second.schedule, {
    chat: "b",
    parts: 1,
    notBefore: now,
    now,
    limits: telegram,
  });
  assert.ok(other.at[0]! < now + 100, `chat b went at +${other.at[0]! - now} ms`);
});

Deno.test("reserve() - a pause from the provider moves every new slot past it and old entries are pruned", () => {
  const s: Schedule = { slots: [1, 2, 3], chats: { old: 5 }, pausedUntil: 50_000 };
  const out = reserve(s, { chat: "x", parts: 2, notBefore: 0, now: 40_000, limits: telegram });
  assert.deepEqual(out.at, [50_000, 51_000]);
  assert.deepEqual(out.schedule.slots, [50_000, 51_000]);
  assert.deepEqual(Object.keys(out.schedule.chats), ["x"]);
});
