/**
 * GA4: widget events reach the creator's property through the Measurement Protocol (a loopback
 * fake of `/mp/collect`) when the node enables it and the creator configured a measurement id;
 * only a pseudonymous client id and the event name leave the node.
 */
import assert from "node:assert/strict";
import { jetstream } from "@nats-io/jetstream";
import { eventually } from "./harness.ts";
import { businessEnv } from "./business_env.ts";

Deno.test("ga4 - widget messages and handoffs go to the configured property, pseudonymously; other channels do not", async () => {
  const hits: Array<{ query: URLSearchParams; body: Record<string, unknown> }> = [];
  const fake = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, async (req) => {
    const url = new URL(req.url);
    if (url.pathname !== "/mp/collect") return new Response("not found", { status: 404 });
    hits.push({ query: url.searchParams, body: await req.json() });
    return new Response(null, { status: 204 });
  });
  try {
    await using env = await businessEnv({
      GA4_ENABLED: "true",
      GA4_API_URL: `http://127.0.0.1:${fake.addr.port}`,
    });
    const me = await env.signup();
    const none = await env.call("GET", "/v1/analytics/ga4", { token: me.token });
    assert.equal(none.json.measurement_id, null);
    const bad = await env.call("PUT", "/v1/analytics/ga4", {
      token: me.token,
      body: { measurement_id: "UA-1", api_secret: "secret-123" },
    });
    assert.equal(bad.status, 422);
    const put = await env.call("PUT", "/v1/analytics/ga4", {
      token: me.token,
      body: { measurement_id: "G-TEST1234", api_secret: "mp-secret-123" },
    });
    assert.equal(put.status, 200, put.text);
    const got = await env.call("GET", "/v1/analytics/ga4", { token: me.token });
    assert.equal(got.json.measurement_id, "G-TEST1234");
    assert.ok(!got.text.includes("mp-secret-123"));

    const js = jetstream(env.nats.nc);
    const endUserId = crypto.randomUUID();
    const base = { creatorId: me.creatorId, conversationId: crypto.randomUUID(), endUserId };
    await js.publish(
      `${env.nats.prefix}.evt.conversation.message`,
      JSON.stringify({ ...base, channel: "telegram", role: "user", text: "private", at: 1 }),
    );
    await js.publish(
      `${env.nats.prefix}.evt.conversation.message`,
      JSON.stringify({
        ...base,
        channel: "web_widget",
        role: "user",
        text: "private words",
        at: 2,
      }),
    );
    await js.publish(
      `${env.nats.prefix}.evt.conversation.status`,
      JSON.stringify({ ...base, channel: "web_widget", status: "handoff", at: 3 }),
    );
    await eventually(() => hits.length >= 2, { timeoutMs: 15_000, what: "two GA4 hits" });
    const names = hits.map((h) => (h.body.events as Array<{ name: string }>)[0]!.name).sort();
    assert.deepEqual(names, ["coachd_handoff", "coachd_message_sent"]);
    for (const h of hits) {
      assert.equal(h.query.get("measurement_id"), "G-TEST1234");
      assert.equal(h.query.get("api_secret"), "mp-secret-123");
      const text = JSON.stringify(h.body);
      assert.ok(!text.includes(endUserId) && !text.includes("private"), text);
    }
    assert.equal(hits[0]!.body.client_id, hits[1]!.body.client_id, "one person, one client id");
  } finally {
    await fake.shutdown();
  }
});
