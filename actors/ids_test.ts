import assert from "node:assert/strict";
import { z } from "zod";
import { parseTenantActorId, tenantActorId, turnUuid } from "./ids.ts";
import { TerminalError } from "../runtime/mod.ts";

Deno.test("turnUuid() - the same message and purpose give the same valid UUID; anything else another", () => {
  const turn = { self: { type: "user", id: "c:u" }, messageId: "m1" };
  const id = turnUuid(turn, "index-gen");
  assert.equal(turnUuid({ ...turn }, "index-gen"), id);
  assert.match(id, /^[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  assert.equal(z.string().uuid().safeParse(id).success, true);
  assert.equal(z.uuid().safeParse(id).success, true);
  const others = [
    turnUuid(turn, "erase-gen"),
    turnUuid({ ...turn, messageId: "m2" }, "index-gen"),
    turnUuid({ ...turn, self: { type: "conversation", id: "c:u" } }, "index-gen"),
  ];
  assert.equal(new Set([id, ...others]).size, 4);
});

Deno.test("parseTenantActorId() - splits <creatorId>:<localId>; a malformed id is a TerminalError", () => {
  const creatorId = crypto.randomUUID();
  assert.deepEqual(parseTenantActorId(tenantActorId(creatorId, "a:b")), {
    creatorId,
    localId: "a:b",
  });
  assert.throws(
    () => parseTenantActorId("not-a-creator:u1"),
    (err: Error) =>
      err instanceof TerminalError && err.message === 'Actor id "not-a-creator:u1" is not ' +
          "<creatorId uuid>:<id>",
  );
});
