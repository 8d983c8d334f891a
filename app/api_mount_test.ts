import assert from "node:assert/strict";
import { loadConfig } from "./config.ts";
import { startNode } from "./node.ts";
import { jsonLogger } from "../runtime/mod.ts";
import { NATS_URL, testDb, testNats } from "../tests/harness.ts";

Deno.test("startNode() serves the admin API at /v1 over HTTP, with secrets generated once per data dir", async () => {
  await using db = await testDb();
  await using nats = await testNats();
  const dataDir = await Deno.makeTempDir();
  const config = loadConfig({
    PORT: "0",
    HOST: "127.0.0.1",
    NATS_PREFIX: nats.prefix,
    PARTITIONS: "2",
    NODE_ID: "api1",
    DATA_DIR: dataDir,
    CORS_ORIGINS: "https://admin.example",
  });
  const start = () =>
    startNode({
      config,
      databaseUrl: db.url,
      natsUrl: NATS_URL,
      actors: [],
      log: jsonLogger("error"),
    });
  let node = await start();
  let base = `http://127.0.0.1:${(node.server.addr as Deno.NetAddr).port}`;
  const doc = await (await fetch(`${base}/v1/openapi.json`)).json();
  assert.equal(doc.servers[0].url, "/v1");
  assert.ok(doc.paths["/knowledge-bases"]);
  const docs = await fetch(`${base}/v1/docs`);
  assert.match(await docs.text(), /openapi\.json/);

  const signup = await fetch(`${base}/v1/auth/signup`, {
    method: "POST",
    headers: { "content-type": "application/json", origin: "https://admin.example" },
    body: JSON.stringify({ email: "n@example.test", password: "a long password", name: "N" }),
  });
  assert.equal(signup.status, 202);
  assert.equal(signup.headers.get("access-control-allow-origin"), "https://admin.example");
  assert.ok(signup.headers.get("x-request-id"));
  await signup.body?.cancel();
  // No e-mail sender: the confirmation lies in the mail drop folder, readable by the node only.
  const [dropped] = [...Deno.readDirSync(`${dataDir}/mail`)];
  const file = `${dataDir}/mail/${dropped!.name}`;
  assert.equal((await Deno.stat(file)).mode! & 0o777, 0o600);
  const notice = JSON.parse(await Deno.readTextFile(file));
  assert.equal(notice.kind, "signup_confirmation");
  const confirmed = await fetch(`${base}/v1/auth/signup/confirm`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ token: notice.token }),
  });
  assert.equal(confirmed.status, 201);
  const { access_token } = await confirmed.json();
  for (const name of ["jwt_secret", "secrets_key"]) {
    assert.equal((await Deno.stat(`${dataDir}/${name}`)).mode! & 0o777, 0o600);
  }
  await node.stop();

  // A restart on the same data dir keeps accepting the tokens it issued.
  node = await start();
  base = `http://127.0.0.1:${(node.server.addr as Deno.NetAddr).port}`;
  const me = await fetch(`${base}/v1/me`, { headers: { authorization: `Bearer ${access_token}` } });
  assert.equal(me.status, 200);
  await me.body?.cancel();
  await node.stop();
  await Deno.remove(dataDir, { recursive: true });
});
