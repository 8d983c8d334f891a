import assert from "node:assert/strict";
import type { ActorClient, TurnContext } from "../../runtime/mod.ts";
import {
  conversationAddress,
  ConversationMessage,
  type ConversationReply,
  creatorAddress,
  CreatorMessage,
  type Profile,
  userAddress,
  UserMessage,
} from "../mod.ts";

const creatorId = crypto.randomUUID();
const programId = crypto.randomUUID();

// Compile-time checks of the contracts as callers use them: every line under a
// `@ts-expect-error` must fail to type-check, or `deno check` (and so this test) fails.
function _callers(client: ActorClient, ctx: TurnContext<unknown>) {
  const user = userAddress(creatorId, "u1");
  const convo = conversationAddress(creatorId, "c1");
  // @ts-expect-error -- no such kind
  ctx.tell(user, "publishProgram", { programId, version: 2 });
  // @ts-expect-error -- the version is a number
  ctx.tell(user, "programPublished", { programId, version: "2" });
  // @ts-expect-error -- "web" is not a channel
  ctx.tell(convo, "message", { userId: "u1", channel: "web", text: "hi" });
  // @ts-expect-error -- nor is "sms", for a creator's connection
  void client.tell(creatorAddress(creatorId), "channelConnected", { channelId: "x", kind: "sms" });
  // @ts-expect-error -- erase needs a reason from the vocabulary
  void client.tell(user, "erase", { reason: "because" });
  const reply: Promise<ConversationReply> = client.ask(convo, "message", {
    userId: "u1",
    channel: "telegram",
    text: "hi",
  });
  const profile: Promise<Profile> = ctx.ask(user, "getProfile");
  return [reply, profile];
}

Deno.test("contracts - each actor's vocabulary is one union discriminated on kind", () => {
  assert.deepEqual(
    UserMessage.parse({ kind: "programPublished", data: { programId, version: 2 } }),
    { kind: "programPublished", data: { programId, version: 2 } },
  );
  assert.equal(
    UserMessage.safeParse({ kind: "programPublished", data: { programId } }).success,
    false,
  );
  assert.equal(UserMessage.safeParse({ kind: "message", data: {} }).success, false);
  const message = ConversationMessage.parse({
    kind: "message",
    data: { userId: "u1", channel: "whatsapp", text: "hi", messageId: "wamid.1" },
  });
  assert.equal(message.kind === "message" && message.data.channel, "whatsapp");
  assert.equal(
    ConversationMessage.safeParse({
      kind: "message",
      data: { userId: "u1", channel: "sms", text: "hi" },
    }).success,
    false,
  );
  assert.equal(CreatorMessage.parse({ kind: "channels" }).kind, "channels");
  assert.deepEqual(userAddress(creatorId, "u1"), { type: "user", id: `${creatorId}:u1` });
  assert.deepEqual(conversationAddress(creatorId, "c1"), {
    type: "conversation",
    id: `${creatorId}:c1`,
  });
  assert.deepEqual(creatorAddress(creatorId), { type: "creator", id: creatorId });
});
