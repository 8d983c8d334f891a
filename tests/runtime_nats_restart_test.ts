/**
 * A private nats-server is killed with SIGKILL and restarted under load: every tell that was
 * acknowledged must be applied exactly once, in order.
 */
import assert from "node:assert/strict";
import { connect } from "@nats-io/transport-node";
import { eventually, freePort, sleep, testDb, uniqueName } from "./harness.ts";
import { counter } from "../runtime/testdata/actors.ts";
import { startTestSystem } from "../runtime/test_system.ts";

function startNats(port: number, storeDir: string) {
  return new Deno.Command("nats-server", {
    args: ["-js", "-a", "127.0.0.1", "-p", String(port), "-sd", storeDir],
    stdout: "null",
    stderr: "null",
  }).spawn();
}

async function waitPort(port: number) {
  await eventually(async () => {
    try {
      (await Deno.connect({ hostname: "127.0.0.1", port })).close();
      return true;
    } catch {
      return false;
    }
  }, { what: `port ${port}` });
}

Deno.test("nats-server killed and restarted under load: every acknowledged tell is applied exactly once", async () => {
  await using db = await testDb();
  const port = freePort();
  const storeDir = await Deno.makeTempDir();
  let server = startNats(port, storeDir);
  await waitPort(port);
  const nc = await connect({
    servers: `nats://127.0.0.1:${port}`,
    maxReconnectAttempts: -1,
    reconnectTimeWait: 100,
  });
  const prefix = uniqueName("t");
  try {
    const sys = await startTestSystem(db, { nc, prefix });
    const actors = Array.from({ length: 8 }, (_, i) => `n${i}`);
    const acked = new Map<string, number[]>(actors.map((id) => [id, []]));
    let stop = false;
    const senders = actors.map(async (id) => {
      for (let i = 0; !stop; i++) {
        try {
          // The same id on a retry: a tell stored before its ack was lost is not stored twice.
          await sys.ref(counter, id).tell("add", { by: 1, tag: i }, { msgId: `${id}:${i}` });
          acked.get(id)!.push(i);
        } catch {
          // Not acknowledged: the sender retries the same tag, as a client would.
          i--;
          await sleep(50);
        }
      }
    });
    await sleep(700);
    server.kill("SIGKILL");
    await server.status;
    await sleep(500);
    server = startNats(port, storeDir);
    await waitPort(port);
    await sleep(1200);
    stop = true;
    await Promise.all(senders);
    for (const id of actors) {
      const tags = acked.get(id)!;
      assert.ok(tags.length > 5, `${id}: only ${tags.length} acknowledged`);
      const state = await eventually(async () => {
        const { rows } = await db.pool.query(
          "select state from rt_actor_state where actor_type = 'counter' and actor_id = $1",
          [id],
        );
        const s = rows[0]?.state;
        return s && s.log.length >= tags.length ? s : null;
      }, { timeoutMs: 30_000, what: `${id} caught up` });
      // Every acknowledged tell is there, once, in order.
      const applied = state.log as number[];
      const unique = [...new Set(applied)];
      assert.deepEqual(unique, applied, `${id}: a message was applied twice`);
      for (const t of tags) assert.ok(applied.includes(t), `${id}: acknowledged tag ${t} lost`);
      assert.deepEqual([...applied].sort((a, b) => a - b), applied, `${id}: out of order`);
    }
    await sys.stop();
  } finally {
    await nc.close().catch(() => {});
    server.kill("SIGKILL");
    await server.status;
    await Deno.remove(storeDir, { recursive: true });
  }
});
