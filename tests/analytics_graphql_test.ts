/**
 * GraphQL at /v1/graphql: the same figures as REST for the signed-in creator only, the same
 * authentication, depth and cost limits refused with a clear error, persisted operations, and
 * the committed schema file.
 */
import assert from "node:assert/strict";
import { getIntrospectionQuery } from "graphql";
import { testApi } from "./api_harness.ts";
import { generateActivity, insertEndUsers } from "./analytics_activity.ts";
import { jsonLogger } from "../runtime/mod.ts";
import { Analytics } from "../analytics/mod.ts";
import { printedSchema } from "../api/graphql/schema.ts";
import { DASHBOARD_QUERY, sha256 } from "../api/graphql/persisted.ts";
import { MAX_COST, MAX_DEPTH } from "../api/graphql/yoga.ts";

const secretsKey = crypto.getRandomValues(new Uint8Array(32));

Deno.test("api/graphql/schema.graphql is the printed code-first schema", async () => {
  const committed = await Deno.readTextFile(
    new URL("../api/graphql/schema.graphql", import.meta.url),
  );
  assert.equal(committed, printedSchema(), "run `deno task graphql-schema`");
});

Deno.test("graphql - tenant's figures as REST has them, limits, persisted operations", async (tt) => {
  await using t = await testApi({ secretsKey });
  const analytics = new Analytics({ pool: t.db.pool, secretsKey });
  const a = await t.signup();
  const b = await t.signup();
  const pub = { nc: t.nats.nc, prefix: t.nats.prefix };
  await generateActivity(
    pub,
    a.creatorId,
    await insertEndUsers(t.db.pool, a.creatorId, 6),
    [crypto.randomUUID(), crypto.randomUUID()],
  );
  await using projection = analytics.project({ ...pub, log: jsonLogger("error") });
  await projection.caughtUp();

  const gql = async (body: unknown, token: string | null = a.token) => {
    const res = await t.call("POST", "/graphql", { token: token ?? undefined, json: body });
    return { status: res.status, body: await res.json() };
  };
  const range = { from: "2026-11-01", to: "2026-11-02", tz: "America/New_York" };
  const ENGAGEMENT = `query($range: AnalyticsRange) {
    viewer { creatorId }
    analytics(range: $range) { tz engagement { period channel users messages suppressed } }
  }`;

  await tt.step("the creator's figures, the same as REST", async () => {
    const { status, body } = await gql({ query: ENGAGEMENT, variables: { range } });
    assert.equal(status, 200, JSON.stringify(body));
    assert.equal(body.data.viewer.creatorId, a.creatorId);
    assert.equal(body.data.analytics.tz, "America/New_York");
    const rest = await (await t.call(
      "GET",
      "/analytics/engagement?from=2026-11-01&to=2026-11-02&tz=America/New_York",
      { token: a.token },
    )).json();
    assert.deepEqual(
      body.data.analytics.engagement,
      rest.data.map((r: Record<string, unknown>) => ({
        period: r.period,
        channel: r.channel,
        users: r.users,
        messages: r.messages,
        suppressed: r.suppressed,
      })),
    );
    assert.deepEqual(body.data.analytics.engagement[2], {
      period: "2026-11-02",
      channel: "all",
      users: 6,
      messages: 15,
      suppressed: false,
    });
  });

  await tt.step("another creator sees none of it; no token is a 401", async () => {
    const { body } = await gql({ query: ENGAGEMENT, variables: { range } }, b.token);
    assert.equal(body.data.viewer.creatorId, b.creatorId);
    assert.deepEqual(body.data.analytics.engagement, []);
    const anonymous = await gql({ query: ENGAGEMENT }, null);
    assert.equal(anonymous.status, 401);
  });

  await tt.step("a bad range names the field", async () => {
    const { body } = await gql({ query: ENGAGEMENT, variables: { range: { tz: "Mars/Base" } } });
    assert.equal(body.errors[0].extensions.code, "BAD_USER_INPUT");
    assert.equal(body.errors[0].extensions.errors[0].field, "range.tz");
  });

  await tt.step(`a document deeper than ${MAX_DEPTH} is refused before it runs`, async () => {
    const standard = await gql({ query: getIntrospectionQuery() });
    assert.ok(standard.body.data?.__schema, JSON.stringify(standard.body.errors));
    // The schema's own types nest 3 deep: anything deeper is refused as too deep (and as
    // selecting fields that do not exist), before any resolver runs.
    const deep = `{ analytics { engagement { period { a { b { c { d } } } } } } }`;
    const { body } = await gql({ query: deep });
    assert.equal(body.data, undefined);
    assert.ok(
      body.errors.some((e: { message: string }) =>
        e.message.includes(`Query depth limit of ${MAX_DEPTH} exceeded, found 7`)
      ),
      JSON.stringify(body.errors),
    );
  });

  await tt.step(`a document costing more than ${MAX_COST} is refused before it runs`, async () => {
    const fields = "period channel users messages sessions messagesPerUser suppressed";
    const many = Array.from({ length: 200 }, (_, i) => `e${i}: engagement { ${fields} }`);
    const { body } = await gql({ query: `{ analytics { ${many.join(" ")} } }` });
    assert.equal(body.data, undefined);
    assert.match(body.errors[0].message, new RegExp(`Query Cost limit of ${MAX_COST} exceeded`));
  });

  await tt.step("a persisted operation runs by its hash", async () => {
    const { status, body } = await gql({
      variables: { range },
      extensions: { persistedQuery: { version: 1, sha256Hash: sha256(DASHBOARD_QUERY) } },
    });
    assert.equal(status, 200, JSON.stringify(body));
    assert.ok(body.data, JSON.stringify(body));
    assert.equal(body.data.analytics.minGroup, 5);
    assert.deepEqual(body.data.analytics.unansweredTopics, [
      { topic: "splint", users: 5, questions: 5, suppressed: false },
    ]);
    const unknown = await gql({
      extensions: { persistedQuery: { version: 1, sha256Hash: "0".repeat(64) } },
    });
    assert.match(unknown.body.errors[0].message, /PersistedQueryNotFound/);
  });

  await tt.step(
    "GraphiQL is served locally: no CDN, its files from the pinned package",
    async () => {
      const page = await t.call("GET", "/graphiql");
      assert.equal(page.status, 200);
      const html = await page.text();
      assert.ok(!/https?:\/\//.test(html), "the page loads nothing from elsewhere");
      const srcs = [...html.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1]!);
      assert.ok(srcs.length >= 3);
      for (const src of srcs) {
        const res = await t.call("GET", src.replace(/^\/v1/, ""));
        assert.equal(res.status, 200, src);
        assert.ok((await res.arrayBuffer()).byteLength > 0, src);
      }
      const worker = await t.call(
        "GET",
        "/graphiql/assets/monacoeditorwork/graphql.worker..bundle.js",
      );
      assert.equal(worker.status, 200);
      await worker.body?.cancel();
    },
  );
});
