import assert from "node:assert/strict";
import { EmbeddedPostgresError, startEmbeddedPostgres } from "./embedded_postgres.ts";

Deno.test("startEmbeddedPostgres() says which port is busy instead of failing silently", async () => {
  const busy = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (busy.addr as Deno.NetAddr).port;
  const dataDir = await Deno.makeTempDir();
  await Deno.chmod(dataDir, 0o755);
  try {
    await assert.rejects(
      () => startEmbeddedPostgres({ dataDir, port, log: () => {} }),
      (err: Error) =>
        err instanceof EmbeddedPostgresError && err.message.includes(`port ${port} is in use`),
    );
  } finally {
    busy.close();
    await Deno.remove(dataDir, { recursive: true });
  }
});
