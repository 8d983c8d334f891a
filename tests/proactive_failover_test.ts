/**
 * A nudge waiting in a durable reminder survives a SIGKILL of the node that holds it: two real
 * node processes, a program step deferred while the conversation is live, the owner of the
 * person's partition killed; the other node takes the partition over and the step still comes,
 * once.
 */
import assert from "node:assert/strict";
import { dirname } from "node:path";
import { jetstream } from "@nats-io/jetstream";
import { encodeBase64 } from "../runtime/base64.ts";
import { ActorClient } from "../runtime/mod.ts";
import { partitionOf } from "../runtime/address.ts";
import { userAddress } from "../actors/mod.ts";
import { startFakeTelegram } from "./fakes/telegram.ts";
import { signUpCreator, startNodeProcess } from "./node_process.ts";
import {
  CHROMA_URL,
  eventually,
  NATS_URL,
  sleep,
  testChroma,
  testDb,
  testNats,
  VECTOR_CACHE_DIR,
} from "./harness.ts";

Deno.test("proactive failover - SIGKILL of the node holding a pending nudge: it still comes, once", async () => {
  await using db = await testDb();
  await using nats = await testNats();
  await using _chroma = testChroma(nats.prefix);
  await using tg = startFakeTelegram();
  const mailDir = await Deno.makeTempDir({ prefix: "coachd-mail-" });
  const env = {
    DATABASE_URL: db.url,
    NATS_URL,
    CHROMA_URL,
    NATS_PREFIX: nats.prefix,
    PARTITIONS: "8",
    DATA_DIR: dirname(VECTOR_CACHE_DIR),
    JWT_SECRET: encodeBase64(crypto.getRandomValues(new Uint8Array(48))),
    SECRETS_KEY: encodeBase64(crypto.getRandomValues(new Uint8Array(32))),
    MAIL_DROP_DIR: mailDir,
    TELEGRAM_API_URL: tg.url,
    LOG_LEVEL: "error",
    PUBLIC_URL: "https://coach.example",
  };
  const nodes = {
    a: await startNodeProcess({ ...env, NODE_ID: "a" }),
    b: await startNodeProcess({ ...env, NODE_ID: "b" }),
  };
  try {
    const creator = await signUpCreator(nodes.a.url, mailDir);
    await creator.call("PUT", "/proactive-settings", { liveMinutes: 1 });
    const channel = await creator.call("POST", "/channels", {
      kind: "telegram",
      name: "Coach bot",
      bot_token: tg.bot.token,
    });
    const ada = tg.addUser({ first_name: "Ada" });
    const res = await fetch(`${nodes.a.url}/hooks/telegram/${channel.id}`, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        "x-telegram-bot-api-secret-token": tg.bot.webhook!.secretToken!,
      },
      body: JSON.stringify(tg.bot.updates.start(ada)),
    });
    assert.equal(res.status, 200);
    await res.body?.cancel();
    await eventually(() => tg.bot.sentMessages(ada.id).length === 1, { what: "the welcome" });
    const { rows: [person] } = await db.pool.query(
      "select id, creator_id from end_users where external_id = $1",
      [String(ada.id)],
    );
    const actorId = `${person.creator_id}:${person.id}`;

    // The step is due now, but Ada just wrote: it waits a minute in a durable reminder.
    const client = new ActorClient(nats.nc, jetstream(nats.nc), {
      prefix: nats.prefix,
      partitions: 8,
    });
    await client.tell(userAddress(person.creator_id, person.id), "programStepDue", {
      programId: "walk",
      stepId: "s1",
      text: "Step 1: ten minutes of walking",
    });
    const due = await eventually(async () =>
      (await db.pool.query(
        "select due_at from rt_reminders where actor_id = $1 and name = 'proactive.program.walk'",
        [actorId],
      )).rows[0]?.due_at as Date | undefined, { what: "the deferred step's reminder" });
    const { rows: [owner] } = await db.pool.query(
      `select n.node_id from rt_partitions p join rt_nodes n on n.instance = p.owner
        where p.partition = $1`,
      [partitionOf("user", actorId, 8)],
    );
    const victim = owner.node_id as "a" | "b";
    assert.ok(due.getTime() - Date.now() > 20_000, "killed well before the step is due");
    nodes[victim].kill();
    await nodes[victim].exited;

    const steps = () =>
      tg.bot.sentMessages(ada.id).filter((m) => m.text === "Step 1: ten minutes of walking");
    await eventually(() => steps().length >= 1, {
      timeoutMs: 120_000,
      intervalMs: 250,
      what: "the step from the surviving node",
    });
    assert.ok(Date.now() >= due.getTime() - 1000, "not before it was due");
    await sleep(3000);
    assert.equal(steps().length, 1, "exactly once");
    const nudges = await eventually(async () => {
      const { rows } = await db.pool.query(
        "select status, trigger, reason from nudges where end_user_id = $1 order by at",
        [person.id],
      );
      return rows.length === 2 ? rows : null;
    }, { what: "the nudge records" });
    assert.deepEqual(nudges.map((n) => [n.status, n.trigger, n.reason]), [
      ["skipped", "program_step", "live_conversation"],
      ["sent", "program_step", null],
    ]);
  } finally {
    nodes.a.kill();
    nodes.b.kill();
    await Promise.all([nodes.a.exited, nodes.b.exited]);
    await Deno.remove(mailDir, { recursive: true });
  }
});
