import assert from "node:assert/strict";
import { NatsConfigError, natsConnectOptions, redactNatsUrl } from "./nats_connect.ts";

Deno.test("natsConnectOptions() takes credentials out of the URL, which the client would ignore", async () => {
  assert.deepEqual(
    await natsConnectOptions("nats://node:p%40ss@a:4222, nats://node:p%40ss@b:4222"),
    {
      servers: ["nats://a:4222", "nats://b:4222"],
      user: "node",
      pass: "p@ss",
    },
  );
  assert.deepEqual(await natsConnectOptions("nats://s3cret@127.0.0.1:4222"), {
    servers: ["nats://127.0.0.1:4222"],
    token: "s3cret",
  });
  assert.deepEqual(
    await natsConnectOptions("127.0.0.1:4222", { user: "node", password: "pw" }),
    { servers: ["nats://127.0.0.1:4222"], user: "node", pass: "pw" },
  );
  await assert.rejects(
    () => natsConnectOptions("nats://a:b@h:4222", { user: "node", password: "pw" }),
    (err: Error) => err instanceof NatsConfigError && /given twice/.test(err.message),
  );
  assert.equal(
    redactNatsUrl("nats://node:pw@a:4222,nats://t@b:4222"),
    "nats://a:4222,nats://b:4222",
  );
});
