import assert from "node:assert/strict";
import { jetstream } from "@nats-io/jetstream";
import { jsonLogger } from "../../runtime/mod.ts";
import { type InboundContent, userActor, userAddress } from "../../actors/mod.ts";
import { eventually, sleep } from "../../tests/harness.ts";
import { seedEndUser, testApi } from "../../tests/api_harness.ts";
import { startCoachRecords } from "./coach_records.ts";
import { startCoachRequests } from "./coach_requests.ts";

async function setup() {
  const t = await testApi({}, { hostActors: [userActor({ debounceMs: 0 })] });
  const stack = new AsyncDisposableStack();
  stack.use(t);
  const common = {
    nc: t.nats.nc,
    pool: t.db.pool,
    prefix: t.nats.prefix,
    deadLetters: t.actors.deadLetters,
    log: jsonLogger("error"),
  };
  stack.use(await startCoachRecords(common));
  stack.use(await startCoachRequests({ ...common, system: t.actors, badgeCacheMs: 0 }));
  // deno-lint-ignore no-explicit-any
  const events: { subject: string; data: any }[] = [];
  const root = `${t.nats.prefix}.evt.`;
  const sub = t.nats.nc.subscribe(`${root}>`, {
    callback: (err, m) => {
      if (!err) events.push({ subject: m.subject.slice(root.length), data: m.json() });
    },
  });
  stack.defer(() => sub.unsubscribe());
  await t.nats.nc.flush();
  const moved = stack.move();
  return { t, events, root, [Symbol.asyncDispose]: () => moved.disposeAsync() };
}

Deno.test("badges - criteria met are awarded once: a message told twice counts once, a redelivered check or award event adds nothing", async () => {
  await using env = await setup();
  const { t, events } = env;
  const s = await t.signup();
  const badge = await (await t.call("POST", "/badges", {
    token: s.token,
    json: { name: "Chatty", criteria: "messages_sent >= 2", message: "Two messages, nice!" },
  })).json();
  const { endUserId } = await seedEndUser(t, s.creatorId);
  const user = userAddress(s.creatorId, endUserId);
  const identityId = crypto.randomUUID();
  const send = (externalMessageId: string, msgId: string, content: InboundContent) =>
    t.actors.client.tell(user, "inbound", {
      channel: "telegram",
      connectionId: crypto.randomUUID(),
      creatorId: s.creatorId,
      externalUserId: "42",
      externalMessageId,
      sentAt: Date.now(),
      content,
      endUserId,
      identityId,
      receivedAt: Date.now(),
    }, { msgId });
  const metrics = async () => (await t.actors.client.ask(user, "getBadges")).metrics;

  // The same message twice with one id, then again under another id: one message counted.
  await send("tg-1", "in:tg-1", { type: "text", text: "hello" });
  await send("tg-1", "in:tg-1", { type: "text", text: "hello" });
  await send("tg-1", "in:tg-1:again", { type: "text", text: "hello" });
  await eventually(async () => (await metrics()).messages_sent === 1);
  await sleep(300);
  assert.equal((await metrics()).messages_sent, 1);
  const announcements = () =>
    events.filter((e) => e.subject === "delivery.requested" && e.data.purpose === "badge");
  assert.equal(announcements().length, 0);

  await send("tg-2", "in:tg-2", { type: "text", text: "how do I sleep better?" });
  const rows = async () =>
    (await t.db.pool.query(
      "select badge_id from user_badges where end_user_id = $1",
      [endUserId],
    )).rows;
  await eventually(async () => (await rows()).length === 1, { what: "the badge row" });
  await eventually(() => announcements().length === 1);
  assert.equal(announcements()[0]!.data.text, "Two messages, nice!");
  assert.deepEqual((await t.actors.client.ask(user, "getBadges")).awarded, [badge.id]);

  // The check that found it, delivered again (as after a worker's crash) under a new id, and
  // the award event projected again: nothing more.
  const js = jetstream(t.nats.nc);
  const check = events.findLast((e) => e.subject === "badge.check")!.data;
  await js.publish(`${env.root}badge.check`, JSON.stringify({ ...check, awarded: [] }), {
    msgID: crypto.randomUUID(),
  });
  const awarded = events.find((e) => e.subject === "badge.awarded")!.data;
  await js.publish(`${env.root}badge.awarded`, JSON.stringify(awarded), {
    msgID: crypto.randomUUID(),
  });
  // And the award told straight to the actor under another id.
  const again = await t.actors.client.ask(user, "awardBadge", {
    badgeId: badge.id,
    name: "Chatty",
    message: "Two messages, nice!",
  });
  assert.deepEqual(again, { awarded: false });
  await sleep(1000);
  assert.equal((await rows()).length, 1);
  assert.equal(announcements().length, 1);
  // The actor's one award event and the copy published above; no other.
  assert.equal(events.filter((e) => e.subject === "badge.awarded").length, 2);
});

Deno.test("program catalog - 'start <name>' enrols the person in the published version; a draft or an unknown name is not found", async () => {
  await using env = await setup();
  const { t, events } = env;
  const s = await t.signup();
  const flow = (text: string) => ({
    start: "a",
    steps: [{ id: "a", type: "message", text }],
  });
  const program = await (await t.call("POST", "/programs", {
    token: s.token,
    json: { name: "Sleep Basics", flow_definition: flow("Welcome to version 1") },
  })).json();
  await t.call("POST", `/programs/${program.id}/publish`, { token: s.token });
  // The draft moves on; people who start it get the published version.
  await t.call("PATCH", `/programs/${program.id}`, {
    token: s.token,
    json: { flow_definition: flow("An unpublished draft") },
  });
  await (await t.call("POST", "/programs", {
    token: s.token,
    json: { name: "Draft only", flow_definition: flow("never") },
  })).json();
  const { endUserId } = await seedEndUser(t, s.creatorId);
  const user = userAddress(s.creatorId, endUserId);
  const say = (id: string, text: string) =>
    t.actors.client.tell(user, "inbound", {
      channel: "telegram",
      connectionId: crypto.randomUUID(),
      creatorId: s.creatorId,
      externalUserId: "42",
      externalMessageId: id,
      sentAt: Date.now(),
      content: { type: "text", text },
      endUserId,
      identityId: crypto.randomUUID(),
      receivedAt: Date.now(),
    });
  await say("1", "start sleep basics");
  const texts = (purpose: string) =>
    events.filter((e) => e.subject === "delivery.requested" && e.data.purpose === purpose)
      .map((e) => e.data.text);
  await eventually(() => texts("program").length === 1, { what: "the program's message" });
  assert.deepEqual(texts("program"), ["Welcome to version 1"]);
  const [p] = await t.actors.client.ask(user, "getEnrollments");
  assert.equal(p!.programId, program.id);
  assert.equal(p!.version, 1);
  await say("2", "start Draft only");
  await say("3", "start yoga");
  await eventually(() => texts("notice").length === 2);
  assert.deepEqual(texts("notice"), [
    `I couldn't find a program called "Draft only".`,
    `I couldn't find a program called "yoga".`,
  ]);
});
