/**
 * `deno task start` with its embedded Postgres, stopped with SIGTERM as a process manager would:
 * the node drains (releasing its leases) while Postgres still runs, then stops Postgres and exits.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { CHROMA_URL, eventually, NATS_URL, uniqueName, VECTOR_CACHE_DIR } from "./harness.ts";

const MAIN = new URL("../main.ts", import.meta.url).pathname;

Deno.test("start - SIGTERM drains the node before its embedded Postgres stops", async () => {
  const dataDir = await Deno.makeTempDir({ prefix: "coachd-start-" });
  await Deno.symlink(VECTOR_CACHE_DIR, join(dataDir, "vectors"));
  const port = 20_000 + Math.floor(Math.random() * 10_000);
  const pgPort = port + 1;
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", MAIN],
    env: {
      DATA_DIR: dataDir,
      PORT: String(port),
      HOST: "127.0.0.1",
      EMBEDDED_PG_PORT: String(pgPort),
      NATS_URL,
      NATS_PREFIX: uniqueName("start"),
      CHROMA_URL,
      PARTITIONS: "4",
    },
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const output = Promise.all([
    new Response(child.stdout).text(),
    new Response(child.stderr).text(),
  ]);
  try {
    await eventually(async () => {
      try {
        const res = await fetch(`http://127.0.0.1:${port}/readyz`);
        await res.body?.cancel();
        return res.ok;
      } catch {
        return false;
      }
    }, { what: "the node to be ready", timeoutMs: 60_000 });
    child.kill("SIGTERM");
    const status = await child.status;
    const log = (await output).join("\n");
    assert.equal(status.code, 0, log);
    // The node logs JSON lines (deno's own lines, if any, are not JSON).
    const messages = log.split("\n").filter((l) => l.startsWith("{")).map((l) =>
      (JSON.parse(l) as { msg: string }).msg
    );
    assert.ok(messages.includes("draining"), log);
    assert.equal(messages.at(-1), "stopped", log);
    // The leases were released while Postgres was still up.
    assert.ok(!messages.includes("leave failed"), log);
    // And Postgres did stop with the node.
    await assert.rejects(Deno.connect({ hostname: "127.0.0.1", port: pgPort }));
  } finally {
    try {
      child.kill("SIGKILL");
    } catch { /* already exited */ }
    await child.status;
    // As root the cluster lives outside dataDir, linked from it.
    const pgHome = await Deno.readLink(join(dataDir, "pg")).catch(() => undefined);
    if (pgHome) await Deno.remove(pgHome, { recursive: true });
    await Deno.remove(dataDir, { recursive: true });
  }
});
