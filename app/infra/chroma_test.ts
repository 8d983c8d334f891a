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
