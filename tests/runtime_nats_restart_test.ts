/**
 * A private nats-server is killed with SIGKILL and restarted under load: every tell that was
 * acknowledged must be applied exactly once, in order.
 */
import { connect } from "@nats-io/transport-node";
import { eventually, freePort, sleep, testDb, uniqueName } from "./harness.ts";
import { startTestSystem } from "./runtime_harness.ts";
import { assertAppliedExactlyOnce, startAckedLoad } from "./acked_load.ts";

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
    const load = startAckedLoad(sys.client, actors, { pauseMs: 0 });
    await sleep(700);
    server.kill("SIGKILL");
    await server.status;
    await sleep(500);
    server = startNats(port, storeDir);
    await waitPort(port);
    await sleep(1200);
    await assertAppliedExactlyOnce(db.pool, await load.stop(), { minPerActor: 5 });
    await sys.stop();
  } finally {
    await nc.close().catch(() => {});
    server.kill("SIGKILL");
    await server.status;
    await Deno.remove(storeDir, { recursive: true });
  }
});
