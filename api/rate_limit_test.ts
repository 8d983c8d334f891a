import assert from "node:assert/strict";
import { sleep } from "../tests/harness.ts";
import { testApi } from "../tests/api_harness.ts";

/** Fixed windows: start a test well inside one so its requests are counted together. */
async function awayFromWindowEdge(windowMs = 60_000) {
  const left = windowMs - Date.now() % windowMs;
  if (left < 5_000) await sleep(left + 50);
}

Deno.test("rate limits - a key's limit holds across two app instances sharing Postgres", async () => {
  await using t = await testApi();
  const owner = await t.signup();
  const key = await t.apiKey(owner, "viewer");
  const limits = { rateLimit: { perKey: 5, perIp: 1000, windowMs: 60_000 } };
  const nodes = [t.instance(limits), t.instance(limits)];
  await awayFromWindowEdge();
  const statuses: number[] = [];
  let last: Response | undefined;
  for (let i = 0; i < 7; i++) {
    last = await t.call("GET", "/knowledge-bases", { token: key, app: nodes[i % 2] });
    statuses.push(last.status);
    if (i === 0) {
      assert.equal(last.headers.get("ratelimit-limit"), "5");
      assert.equal(last.headers.get("ratelimit-remaining"), "4");
      assert.ok(Number(last.headers.get("ratelimit-reset")) <= 60);
    }
    if (i < 6) await last.body?.cancel();
  }
  assert.deepEqual(statuses, [200, 200, 200, 200, 200, 429, 429]);
  assert.equal(last!.headers.get("ratelimit-remaining"), "0");
  assert.ok(Number(last!.headers.get("retry-after")) >= 1);
  assert.match(last!.headers.get("content-type")!, /problem\+json/);
  assert.equal((await last!.json()).status, 429);
  // Another key of the same creator has its own budget.
  const other = await t.apiKey(owner, "viewer");
  const res = await t.call("GET", "/knowledge-bases", { token: other, app: nodes[0] });
  assert.equal(res.status, 200);
  await res.body?.cancel();
});

Deno.test("rate limits - per IP, before authentication, across two instances", async () => {
  await using t = await testApi();
  const limits = { rateLimit: { perKey: 1000, perIp: 3, windowMs: 60_000 } };
  const nodes = [t.instance(limits), t.instance(limits)];
  await awayFromWindowEdge();
  const login = (ip: string, i: number) =>
    t.call("POST", "/auth/login", {
      app: nodes[i % 2],
      json: { email: "nobody@example.test", password: "wrong password" },
      headers: { "x-forwarded-for": `${ip}, 10.0.0.1` },
    });
  const statuses: number[] = [];
  for (let i = 0; i < 5; i++) {
    const res = await login("203.0.113.7", i);
    statuses.push(res.status);
    await res.body?.cancel();
  }
  assert.deepEqual(statuses, [401, 401, 401, 429, 429]);
  const elsewhere = await login("198.51.100.1", 0);
  assert.equal(elsewhere.status, 401);
  await elsewhere.body?.cancel();
});

Deno.test("rate limits - one key over its limit does not use up the address's budget others share", async () => {
  await using t = await testApi();
  const owner = await t.signup();
  const noisy = await t.apiKey(owner, "viewer");
  const quiet = await t.apiKey(owner, "viewer");
  const app = t.instance({ rateLimit: { perKey: 3, perIp: 5, windowMs: 60_000 } });
  await awayFromWindowEdge();
  const from = { "x-forwarded-for": "203.0.113.50" };
  const statuses: number[] = [];
  for (let i = 0; i < 12; i++) {
    const res = await t.call("GET", "/knowledge-bases", { token: noisy, app, headers: from });
    statuses.push(res.status);
    await res.body?.cancel();
  }
  assert.deepEqual(statuses, [200, 200, 200, ...Array(9).fill(429)]);
  // Another user behind the same address is served, and so is a login from it.
  const other = await t.call("GET", "/knowledge-bases", { token: quiet, app, headers: from });
  assert.equal(other.status, 200);
  await other.body?.cancel();
  const login = await t.call("POST", "/auth/login", {
    app,
    headers: from,
    json: { email: "nobody@example.test", password: "wrong password" },
  });
  assert.equal(login.status, 401);
  await login.body?.cancel();
  // Requests without valid credentials do count against the address.
  const forged: number[] = [];
  for (let i = 0; i < 6; i++) {
    const res = await t.call("GET", "/knowledge-bases", { token: "ck_forged", app, headers: from });
    forged.push(res.status);
    await res.body?.cancel();
  }
  assert.deepEqual(forged, [401, 401, 401, 401, 429, 429]);
});
