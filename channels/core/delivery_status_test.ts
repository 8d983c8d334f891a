import assert from "node:assert/strict";
import { canMove, DELIVERY_STATUSES, movableSql } from "./delivery_status.ts";

Deno.test("canMove() takes the happy path forward and never back", () => {
  const path = ["queued", "sending", "sent", "delivered", "read"] as const;
  for (let i = 0; i < path.length; i++) {
    for (let j = 0; j < path.length; j++) {
      assert.equal(canMove(path[i]!, path[j]!), j > i, `${path[i]} → ${path[j]}`);
    }
  }
});

Deno.test("canMove() - a read before its delivered keeps read; skipped is final", () => {
  assert.equal(canMove("read", "delivered"), false);
  assert.equal(canMove("delivered", "sent"), false);
  for (const s of DELIVERY_STATUSES) assert.equal(canMove("skipped", s), false, `skipped → ${s}`);
});

Deno.test("canMove() - failed can be retried or proven wrong by the provider, not undone otherwise", () => {
  assert.equal(canMove("failed", "sending"), true);
  assert.equal(canMove("failed", "delivered"), true);
  assert.equal(canMove("failed", "read"), true);
  assert.equal(canMove("failed", "queued"), false);
  assert.equal(canMove("sent", "failed"), false);
  assert.equal(canMove("sending", "failed"), true);
  assert.equal(canMove("queued", "skipped"), true);
  assert.equal(canMove("sent", "skipped"), false);
});

Deno.test("movableSql() lists exactly the statuses canMove() allows", () => {
  assert.equal(movableSql("delivered"), "status in ('queued', 'sending', 'sent', 'failed')");
  assert.equal(movableSql("queued"), "false");
});
