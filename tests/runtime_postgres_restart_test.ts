/**
 * A private embedded Postgres is killed with SIGKILL under load and started again: turns retry in
 * place, and every acknowledged tell is applied exactly once, in order.
 */
import pg from "pg";
import { dirname } from "node:path";
import { startEmbeddedPostgres } from "../app/infra/embedded_postgres.ts";
import { migrate } from "../db/migrate.ts";
import { eventually, freePort, sleep, testNats } from "./harness.ts";
import { startTestSystem } from "./runtime_harness.ts";
import { assertAppliedExactlyOnce, startAckedLoad } from "./acked_load.ts";

async function postmasterPid(pgData: string): Promise<number> {
  const text = await Deno.readTextFile(`${pgData}/postmaster.pid`);
  return Number(text.split("\n")[0]);
}

function alive(pid: number): boolean {
  try {
    Deno.kill(pid, "SIGCONT");
    return true;
  } catch {
    return false;
  }
}

Deno.test("Postgres killed and restarted under load: every acknowledged tell is applied exactly once", async () => {
  const dataDir = await Deno.makeTempDir();
  const port = freePort();
  const log = () => {};
  let pgHandle = await startEmbeddedPostgres({ dataDir, port, log });
  const pool = new pg.Pool({ connectionString: pgHandle.url, max: 8 });
  pool.on("error", () => {});
  await using nats = await testNats();
  try {
    await migrate(pool);
    const sys = await startTestSystem({ pool }, nats, { leaseMs: 3000, heartbeatMs: 300 });
    const actors = Array.from({ length: 6 }, (_, i) => `p${i}`);
    const load = startAckedLoad(sys.client, actors);
    await sleep(600);
    const pid = await postmasterPid(pgHandle.pgData);
    Deno.kill(pid, "SIGKILL");
    await eventually(() => !alive(pid), { what: "postmaster gone" });
    // Its backends notice the postmaster died and exit on their own.
    await sleep(1500);
    pgHandle = await startEmbeddedPostgres({ dataDir, port, log });
    await sleep(1000);
    await assertAppliedExactlyOnce(pool, await load.stop());
    await sys.stop();
  } finally {
    await pool.end().catch(() => {});
    await Promise.resolve(pgHandle[Symbol.asyncDispose]()).catch(() => {});
    // As root the cluster lives outside dataDir (see app/infra/postgres_binaries.ts).
    await Deno.remove(dirname(pgHandle.pgData), { recursive: true }).catch(() => {});
    await Deno.remove(dataDir, { recursive: true }).catch(() => {});
  }
});
