import assert from "node:assert/strict";
import {
  checkAddress,
  decodeToken,
  encodeToken,
  mailboxSubject,
  messageKey,
  parseMailboxSubject,
  partitionOf,
  preferredOwner,
} from "./address.ts";
import { InvalidActorAddressError } from "./errors.ts";

Deno.test("encodeToken() makes any id one subject token and decodes back", () => {
  for (const id of ["alice", "a.b.c", "x y*>", "émilie@exemple.fr", "c1:u42", "100%", "日本"]) {
    const token = encodeToken(id);
    assert.match(token, /^[A-Za-z0-9_\-=+@:~%]+$/);
    assert.equal(decodeToken(token), id);
  }
});

Deno.test("parseMailboxSubject() inverts mailboxSubject() and rejects foreign subjects", () => {
  const s = mailboxSubject("coachd", 12, "user", "c1:a.b");
  assert.deepEqual(parseMailboxSubject("coachd", s), { partition: 12, type: "user", id: "c1:a.b" });
  assert.equal(parseMailboxSubject("other", s), null);
  assert.equal(parseMailboxSubject("coachd", "coachd.mbx.x.user.a"), null);
  assert.equal(parseMailboxSubject("coachd", "coachd.mbx.1.user"), null);
});

Deno.test("partitionOf() spreads keys evenly over partitions", () => {
  const counts = new Array(64).fill(0);
  for (let i = 0; i < 64_000; i++) counts[partitionOf("user", `u${i}`, 64)]++;
  assert.ok(Math.min(...counts) > 800 && Math.max(...counts) < 1200, `counts ${counts}`);
});

Deno.test("preferredOwner() balances partitions and moves only the joining node's share", () => {
  const two = ["a", "b"];
  const three = ["a", "b", "c"];
  let moved = 0;
  const share: Record<string, number> = { a: 0, b: 0, c: 0 };
  for (let p = 0; p < 256; p++) {
    const before = preferredOwner(p, two)!;
    const after = preferredOwner(p, three)!;
    share[after]!++;
    if (before !== after) {
      moved++;
      assert.equal(after, "c", "a partition moved between two old nodes");
    }
  }
  assert.ok(moved > 50 && moved < 120, `moved ${moved}`);
  for (const n of three) assert.ok(share[n]! > 55, `share ${JSON.stringify(share)}`);
  assert.equal(preferredOwner(3, []), undefined);
});

Deno.test("checkAddress() rejects bad types and ids with InvalidActorAddressError", () => {
  assert.throws(() => checkAddress("User", "x"), InvalidActorAddressError);
  assert.throws(() => checkAddress("user", ""), /id is empty/);
  assert.throws(() => checkAddress("user", "x".repeat(300)), /longer than 256/);
  checkAddress("user", "c1:u42");
});

Deno.test("messageKey() gives distinct ids distinct 52-bit keys above every stream sequence", () => {
  const keys = new Set<number>();
  for (let i = 0; i < 200_000; i++) {
    const key = messageKey(i % 2 ? crypto.randomUUID() : `user-${i}:${i % 7}`);
    assert.ok(Number.isSafeInteger(key) && key >= 2 ** 51 && key < 2 ** 52, String(key));
    keys.add(key);
  }
  assert.equal(keys.size, 200_000);
  assert.equal(messageKey("n0:210"), messageKey("n0:210"));
});
