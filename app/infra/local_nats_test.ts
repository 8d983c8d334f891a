import assert from "node:assert/strict";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { jetstreamManager } from "@nats-io/jetstream";
import { startLocalNats } from "./local_nats.ts";
import { natsConnectOptions } from "../nats_connect.ts";
import { freePort, testDb } from "../../tests/harness.ts";
import { anonymousConnect } from "../../tests/nats_probe.ts";
import { startTestSystem } from "../../tests/runtime_harness.ts";
import { counter } from "../../runtime/testdata/actors.ts";

async function withLocalNats(
  prefix: string,
  fn: (nats: { url: string; port: number; operatorPassword: string }) => Promise<void>,
) {
  const dataDir = await Deno.makeTempDir({ prefix: "coachd-nats-" });
  try {
    await using nats = await startLocalNats({ dataDir, port: freePort(), prefix, log: () => {} });
    const operatorPassword = (await Deno.readTextFile(nats.operator.passwordFile)).trim();
    await fn({ url: nats.url, port: nats.port, operatorPassword });
  } finally {
    await Deno.remove(dataDir, { recursive: true });
  }
}

Deno.test("startLocalNats() refuses a client without credentials, or with the wrong password", async () => {
  await withLocalNats("coachd", async ({ url, port }) => {
    assert.equal(await anonymousConnect(port), "refused");
    assert.equal(await anonymousConnect(port, { user: "node", pass: "wrong" }), "refused");
    assert.equal(await anonymousConnect(port, { user: "operator" }), "refused");
    // The node's own URL carries its credentials and connects.
    const nc = await connect(await natsConnectOptions(url));
    await nc.flush();
    await nc.close();
  });
});

Deno.test("startLocalNats() - the operator calls the admin service and lists streams, but cannot publish to a mailbox", async () => {
  const prefix = "opa";
  await withLocalNats(prefix, async ({ url, port, operatorPassword }) => {
    await using db = await testDb();
    const node = await connect(await natsConnectOptions(url));
    const sys = await startTestSystem(db, { nc: node, prefix });
    await sys.ref(counter, "k").ask("add", { by: 2 });
    const operator = await connect({
      servers: `nats://127.0.0.1:${port}`,
      user: "operator",
      pass: operatorPassword,
    });
    try {
      // The admin service and its discovery answer the operator.
      const nodes = await request(operator, `${prefix}.admin.nodes`);
      assert.equal(nodes.nodes.length, 1);
      assert.equal((await request(operator, `$SRV.PING.${prefix}-admin`)).name, `${prefix}-admin`);
      const actor = await request(operator, `${prefix}.admin.actor`, { type: "counter", id: "k" });
      assert.equal(actor.state.state.n, 2);
      // Read-only JetStream information is allowed (`nats stream ls`, `nats stream info`).
      const names = await request(operator, "$JS.API.STREAM.NAMES", {});
      assert.ok(names.streams.includes(`${prefix}_mailbox`), JSON.stringify(names));

      // A mailbox message from the operator is refused by the server and never stored.
      const jsm = await jetstreamManager(node);
      const before = (await jsm.streams.info(`${prefix}_mailbox`)).state.messages;
      const violations: string[] = [];
      (async () => {
        for await (const s of operator.status()) {
          if (s.type === "error") violations.push(String(s.error));
        }
      })();
      operator.publish(`${prefix}.mbx.0.counter.k`, JSON.stringify({ kind: "add" }));
      await operator.flush();
      await waitFor(() => violations.length > 0);
      assert.match(violations[0]!, /permissions violation for publish/i);
      assert.equal((await jsm.streams.info(`${prefix}_mailbox`)).state.messages, before);
      // Nor may it create or delete streams, or read their messages.
      await assert.rejects(() => operator.request(`$JS.API.STREAM.DELETE.${prefix}_mailbox`, ""));
      await assert.rejects(() => operator.request(`$JS.API.STREAM.MSG.GET.${prefix}_mailbox`, ""));
    } finally {
      await operator.close();
      await sys.stop();
      await node.close();
    }
  });
});

async function request(nc: NatsConnection, subject: string, body?: unknown) {
  const m = await nc.request(subject, body === undefined ? "" : JSON.stringify(body), {
    timeout: 3000,
  });
  return JSON.parse(new TextDecoder().decode(m.data));
}

async function waitFor(ok: () => boolean, timeoutMs = 3000) {
  const deadline = Date.now() + timeoutMs;
  while (!ok() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
}
