/**
 * Two real node processes behind a "load balancer" (this test, alternating webhooks between
 * them), one killed with SIGKILL while Telegram updates arrive: every update that got a 2xx is
 * answered exactly once, none is lost, none twice.
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

const GUIDE = `# Sleep guide

## Caffeine
Caffeine has a half-life of five to six hours. Stop drinking coffee by 2 pm so it does not keep
you awake at night.
`;

Deno.test("channels failover - SIGKILL of one of two nodes while webhooks arrive: every acknowledged update answered, a retried send the only duplicate", async () => {
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
    INBOUND_DEBOUNCE_MS: "200",
    LOG_LEVEL: "error",
  };
  const a = await startNodeProcess({ ...env, NODE_ID: "a", PUBLIC_URL: "https://coach.example" });
  let b = await startNodeProcess({ ...env, NODE_ID: "b", PUBLIC_URL: "https://coach.example" });
  try {
    const creator = await signUpCreator(a.url, mailDir);
    await creator.knowledge(GUIDE);
    const channel = await creator.call("POST", "/channels", {
      kind: "telegram",
      name: "Coach bot",
      bot_token: tg.bot.token,
    });
    const secret = tg.bot.webhook!.secretToken!;

    const users = Array.from({ length: 40 }, (_, i) => tg.addUser({ first_name: `U${i}` }));
    const acked = new Set<number>();
    let killed = false;
    for (const [i, user] of users.entries()) {
      const update = tg.bot.updates.text(user, "When should I stop drinking coffee?");
      // The balancer alternates; a node that does not answer is skipped, as Telegram retries.
      for (const node of i % 2 ? [b, a] : [a, b]) {
        try {
          const res = await fetch(`${node.url}/hooks/telegram/${channel.id}`, {
            method: "POST",
            headers: {
              "content-type": "application/json",
              "x-telegram-bot-api-secret-token": secret,
            },
            body: JSON.stringify(update),
            signal: AbortSignal.timeout(5000),
          });
          await res.body?.cancel();
          if (res.ok) {
            acked.add(user.id);
            break;
          }
        } catch {
          /* the killed node */
        }
      }
      if (i === 15 && !killed) {
        b.kill();
        await b.exited;
        killed = true;
      }
      await sleep(25);
    }
    assert.equal(acked.size, users.length, "the surviving node took every update");
    // Restarted, as an orchestrator would: the cluster goes on with both.
    b = await startNodeProcess({ ...env, NODE_ID: "b", PUBLIC_URL: "https://coach.example" });
    await eventually(
      () => users.every((u) => tg.bot.sentMessages(u.id).length >= 1),
      { timeoutMs: 90_000, intervalMs: 250, what: "an answer for every acknowledged update" },
    ).catch(async (err) => {
      // Say where the missing answers are stuck.
      const missing = users.filter((u) => tg.bot.sentMessages(u.id).length === 0).length;
      const rows = (sql: string) => db.pool.query(sql).then((r) => JSON.stringify(r.rows));
      throw new Error(
        `${missing} unanswered; deliveries ${await rows(
          "select status, reason, count(*) from deliveries group by 1, 2",
        )}; receipts ${await rows("select count(*) from inbound_receipts")}`,
        { cause: err },
      );
    });
    await sleep(3000);
    const counts = users.map((u) => tg.bot.sentMessages(u.id).length);
    // Telegram takes no idempotency key: a node killed after Telegram accepted a message and
    // before it recorded that, sends it again on the retry. That window (a few milliseconds) is
    // the only duplicate allowed: the same answer twice, from one delivery attempted again.
    const twice = users.filter((u) => tg.bot.sentMessages(u.id).length > 1);
    for (const u of twice) {
      const texts = tg.bot.sentMessages(u.id).map((m) => m.text);
      const { rows } = await db.pool.query(
        "select attempts, status from deliveries where external_id = $1 and purpose = 'answer'",
        [String(u.id)],
      );
      assert.ok(
        texts.length === 2 && texts[0] === texts[1] && rows.length === 1 &&
          rows[0].attempts >= 2,
        `answered more than once, not by a retried send: ${JSON.stringify({ texts, rows })}`,
      );
    }
    assert.ok(twice.length <= 1, `${twice.length} answers sent twice`);
    assert.ok(counts.every((n) => n >= 1), "every acknowledged update answered");
    assert.ok(
      users.every((u) => /2 pm/.test(tg.bot.sentMessages(u.id)[0]!.text ?? "")),
      "each answer is the grounded one",
    );
  } finally {
    a.kill();
    b.kill();
    await Promise.all([a.exited, b.exited]);
    await Deno.remove(mailDir, { recursive: true });
  }
});
