/**
 * A program's durable reminders survive the loss of the node that set them: a person is
 * enrolled through the admin API, the program's first message reaches them on Telegram, the node
 * is killed with SIGKILL during the wait that follows, and another node sends the next step, once.
 */
import assert from "node:assert/strict";
import { dirname } from "node:path";
import { encodeBase64 } from "../runtime/base64.ts";
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

Deno.test("programs failover - SIGKILL of the node mid-program: the next step still comes, once", async () => {
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
    PARTITIONS: "4",
    DATA_DIR: dirname(VECTOR_CACHE_DIR),
    JWT_SECRET: encodeBase64(crypto.getRandomValues(new Uint8Array(48))),
    SECRETS_KEY: encodeBase64(crypto.getRandomValues(new Uint8Array(32))),
    MAIL_DROP_DIR: mailDir,
    TELEGRAM_API_URL: tg.url,
    PUBLIC_URL: "https://coach.example",
    INBOUND_DEBOUNCE_MS: "0",
    LOG_LEVEL: "error",
  };
  const a = await startNodeProcess({ ...env, NODE_ID: "a" });
  let b: Awaited<ReturnType<typeof startNodeProcess>> | undefined;
  try {
    const creator = await signUpCreator(a.url, mailDir);
    const channel = await creator.call("POST", "/channels", {
      kind: "telegram",
      name: "Coach bot",
      bot_token: tg.bot.token,
    });
    // The person writes first: they become an end user with a Telegram identity.
    const person = tg.addUser({ first_name: "Ada" });
    const res = await fetch(`${a.url}/hooks/telegram/${channel.id}`, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        "x-telegram-bot-api-secret-token": tg.bot.webhook!.secretToken!,
      },
      body: JSON.stringify(tg.bot.updates.text(person, "hi")),
    });
    assert.equal(res.status, 200);
    await res.body?.cancel();
    await eventually(() => tg.bot.sentMessages(person.id).length >= 1, {
      timeoutMs: 30_000,
      what: "the coach's answer to hi",
    });
    const [endUser] = (await creator.call("GET", "/end-users")).data;

    const program = await creator.call("POST", "/programs", {
      name: "Morning routine",
      flow_definition: {
        start: "one",
        steps: [
          { id: "one", type: "message", text: "Step one: breathe", next: "pause" },
          // About 11 s: long enough to kill the node in the middle of it.
          { id: "pause", type: "wait", hours: 0.003, next: "two" },
          { id: "two", type: "message", text: "Step two: stretch" },
        ],
      },
    });
    await creator.call("POST", `/programs/${program.id}/publish`);
    await creator.call("POST", `/programs/${program.id}/enrollments`, {
      end_user_ids: [endUser.id],
    });
    const texts = () => tg.bot.sentMessages(person.id).map((m) => m.text ?? "");
    await eventually(() => texts().includes("Step one: breathe"), {
      timeoutMs: 30_000,
      what: "step one",
    });
    // Killed mid-program; another node takes over its partitions once the lease runs out.
    a.kill();
    await a.exited;
    b = await startNodeProcess({ ...env, NODE_ID: "b" });
    await eventually(() => texts().includes("Step two: stretch"), {
      timeoutMs: 90_000,
      intervalMs: 250,
      what: "step two after the failover",
    });
    await sleep(3000);
    const count = (t: string) => texts().filter((x) => x === t).length;
    assert.equal(count("Step one: breathe"), 1);
    assert.equal(count("Step two: stretch"), 1);
    const progress = await eventually(async () => {
      const { rows } = await db.pool.query(
        "select status, program_version from program_progress where program_id = $1",
        [program.id],
      );
      return rows[0]?.status === "completed" ? rows[0] : null;
    }, { what: "the progress row completed" });
    assert.equal(progress.program_version, 1);
  } finally {
    a.kill();
    b?.kill();
    await Promise.all([a.exited, b?.exited]);
    await Deno.remove(mailDir, { recursive: true });
  }
});
