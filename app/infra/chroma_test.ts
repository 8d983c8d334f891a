import assert from "node:assert/strict";
import { ChromaStartError, startLocalChroma, waitForHeartbeat } from "./chroma.ts";
import { chromaClient } from "../../knowledge/mod.ts";

Deno.test("startLocalChroma() runs the chromadb package's server with data under <dataDir>/chroma", async () => {
  const dataDir = await Deno.makeTempDir();
  try {
    const port = 19000 + Math.floor(Math.random() * 500);
    {
      await using chroma = await startLocalChroma({ dataDir, port, log: () => {} });
      assert.equal(chroma.url, `http://127.0.0.1:${port}`);
      const client = chromaClient(chroma.url);
      const c = await client.createCollection({ name: "probe", embeddingFunction: null });
      await c.add({ ids: ["a"], embeddings: [[1, 0, 0]] });
      assert.equal(await c.count(), 1);
    }
    assert.ok((await Deno.stat(`${dataDir}/chroma`)).isDirectory);
    await assert.rejects(() => waitForHeartbeat(`http://127.0.0.1:${port}`, 300), ChromaStartError);
  } finally {
    await Deno.remove(dataDir, { recursive: true });
  }
});

Deno.test("startLocalChroma() keeps every tenant's text private: folders 0700, chroma.sqlite3 and the index files 0600", async () => {
  const dataDir = await Deno.makeTempDir();
  await Deno.chmod(dataDir, 0o755); // as an earlier version left it
  try {
    const port = 19500 + Math.floor(Math.random() * 500);
    {
      await using chroma = await startLocalChroma({ dataDir, port, log: () => {} });
      const c = await chromaClient(chroma.url).createCollection({
        name: "private",
        embeddingFunction: null,
      });
      await c.add({ ids: ["a"], embeddings: [[1, 0, 0]], documents: ["a tenant's text"] });
    }
    const modes = await treeModes(dataDir);
    assert.equal(modes.get(dataDir), 0o700);
    assert.equal(modes.get(`${dataDir}/chroma/chroma.sqlite3`), 0o600);
    const loose = [...modes].filter(([, m]) => (m & 0o077) !== 0).map(([p, m]) =>
      `${p} ${m.toString(8)}`
    );
    assert.deepEqual(loose, []);

    // Data written before this version (0644 / 0755) is tightened on the next start.
    await Deno.chmod(`${dataDir}/chroma/chroma.sqlite3`, 0o644);
    await Deno.chmod(`${dataDir}/chroma`, 0o755);
    {
      await using _chroma = await startLocalChroma({ dataDir, port, log: () => {} });
    }
    assert.equal((await Deno.stat(`${dataDir}/chroma`)).mode! & 0o777, 0o700);
    assert.equal((await Deno.stat(`${dataDir}/chroma/chroma.sqlite3`)).mode! & 0o777, 0o600);
  } finally {
    await Deno.remove(dataDir, { recursive: true });
  }
});

/** Every file and folder under `root` (itself included) with its permission bits. */
async function treeModes(root: string): Promise<Map<string, number>> {
  const modes = new Map<string, number>([[root, (await Deno.stat(root)).mode! & 0o777]]);
  for await (const entry of Deno.readDir(root)) {
    const path = `${root}/${entry.name}`;
    if (entry.isDirectory) { for (const [p, m] of await treeModes(path)) modes.set(p, m); }
    else if (entry.isFile) modes.set(path, (await Deno.stat(path)).mode! & 0o777);
  }
  return modes;
}
