import assert from "node:assert/strict";
import pg from "pg";
import { EmbeddedPostgresError, startEmbeddedPostgres } from "./embedded_postgres.ts";
import { freePort } from "../../tests/harness.ts";

/** A data folder, and (as root) the Postgres folder it links to outside it, removed after. */
async function withDataDir(fn: (dataDir: string) => Promise<void>) {
  const dataDir = await Deno.makeTempDir({ prefix: "coachd-pg-" });
  try {
    await fn(dataDir);
  } finally {
    const link = await Deno.readLink(`${dataDir}/pg`).catch(() => undefined);
    if (link) await Deno.remove(link, { recursive: true }).catch(() => {});
    await Deno.remove(dataDir, { recursive: true });
  }
}

Deno.test("startEmbeddedPostgres() says which port is busy instead of failing silently", async () => {
  const busy = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (busy.addr as Deno.NetAddr).port;
  try {
    await withDataDir(async (dataDir) => {
      await assert.rejects(
        () => startEmbeddedPostgres({ dataDir, port, log: () => {} }),
        (err: Error) =>
          err instanceof EmbeddedPostgresError && err.message.includes(`port ${port} is in use`),
      );
    });
  } finally {
    busy.close();
  }
});

Deno.test("startEmbeddedPostgres() keeps its data 0700 and a generated superuser password 0600, refusing the old fixed one", async () => {
  await withDataDir(async (dataDir) => {
    const port = freePort();
    {
      await using server = await startEmbeddedPostgres({ dataDir, port, log: () => {} });
      const password = (await Deno.readTextFile(`${dataDir}/pg_admin_password`)).trim();
      assert.match(password, /^[0-9a-f]{64}$/);
      assert.equal(new URL(server.url).password, password);
      assert.equal(mode(await Deno.stat(`${dataDir}/pg_admin_password`)), 0o600);
      assert.equal(mode(await Deno.stat(dataDir)), 0o700);
      assert.equal(mode(await Deno.stat(server.pgData)), 0o700);
      if (Deno.uid() === 0) {
        // Root runs it as `postgres`, its data outside the private folder, linked from it.
        assert.equal(server.runsAs, "postgres");
        assert.ok(!server.pgData.startsWith(dataDir), server.pgData);
        assert.equal(`${await Deno.readLink(`${dataDir}/pg`)}/data`, server.pgData);
      }
      const client = new pg.Client({ connectionString: server.url });
      await client.connect();
      assert.equal((await client.query("select current_database() db")).rows[0].db, "coachd");
      await client.end();
      const legacy = new pg.Client({
        connectionString: `postgres://coachd:coachd@127.0.0.1:${port}/coachd`,
      });
      await assert.rejects(() => legacy.connect(), /password authentication failed/);
    }
    // A restart finds the cluster and its password again.
    await using again = await startEmbeddedPostgres({ dataDir, port, log: () => {} });
    const client = new pg.Client({ connectionString: again.url });
    await client.connect();
    await client.end();
  });
});

function mode(info: Deno.FileInfo) {
  return info.mode! & 0o777;
}
