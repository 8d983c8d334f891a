import assert from "node:assert/strict";
import { ConfigError, loadConfig } from "./config.ts";

Deno.test("loadConfig() applies defaults for an empty environment", () => {
  const c = loadConfig({});
  assert.equal(c.PORT, 8080);
  assert.equal(c.PARTITIONS, 64);
  assert.equal(c.DATABASE_URL, undefined);
});

Deno.test("loadConfig() names every invalid variable", () => {
  assert.throws(
    () => loadConfig({ PORT: "http", PARTITIONS: "0", NODE_ID: "a b" }),
    (err: Error) =>
      err instanceof ConfigError && /PORT/.test(err.message) && /PARTITIONS/.test(err.message) &&
      /NODE_ID: letters, digits/.test(err.message),
  );
});
