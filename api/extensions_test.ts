import assert from "node:assert/strict";
import { createRoute, type OpenAPIHono, z } from "@hono/zod-openapi";
import { type ApiEnv, requireRole } from "./app.ts";
import { NotFoundError } from "./errors.ts";
import { testApi } from "../tests/api_harness.ts";

/** What the knowledge engineer does: a route registered through `extensions`. */
function searchExtension(app: OpenAPIHono<ApiEnv>) {
  app.openapi(
    createRoute({
      method: "get",
      path: "/knowledge-bases/{knowledgeBaseId}/search",
      middleware: [requireRole("owner", "admin", "editor")],
      security: [{ bearerAuth: [] }],
      "x-roles": ["owner", "admin", "editor"],
      request: {
        params: z.object({ knowledgeBaseId: z.uuid() }),
        query: z.object({ q: z.string().min(1) }),
      },
      responses: {
        200: {
          description: "hits",
          content: { "application/json": { schema: z.object({ hits: z.array(z.string()) }) } },
        },
      },
    }),
    (c) => {
      const { q } = c.req.valid("query");
      if (q === "missing") {
        throw new NotFoundError("Knowledge base", c.req.valid("param").knowledgeBaseId);
      }
      // "drift" answers with a body the schema rejects, which response validation must catch.
      const hits = q === "drift" ? [1] as unknown as string[] : [`${c.get("auth").creatorId}:${q}`];
      return c.json({ hits }, 200);
    },
  );
}

Deno.test("createApi({ extensions }) - extension routes get auth, roles, problem errors, docs and response checks", async () => {
  await using t = await testApi({ extensions: [searchExtension] });
  const s = await t.signup();
  const path = `/knowledge-bases/${crypto.randomUUID()}/search`;
  assert.equal((await t.call("GET", `${path}?q=x`)).status, 401);
  const viewer = await t.apiKey(s, "viewer");
  assert.equal((await t.call("GET", `${path}?q=x`, { token: viewer })).status, 403);
  const ok = await t.call("GET", `${path}?q=sleep`, { token: s.token });
  assert.deepEqual(await ok.json(), { hits: [`${s.creatorId}:sleep`] });
  const bad = await t.call("GET", `${path}?q=`, { token: s.token });
  assert.equal(bad.status, 422);
  assert.equal((await bad.json()).errors[0].field, "query.q");
  const missing = await t.call("GET", `${path}?q=missing`, { token: s.token });
  assert.equal(missing.status, 404);
  assert.match(missing.headers.get("content-type")!, /problem\+json/);
  await missing.body?.cancel();
  const drift = await t.call("GET", `${path}?q=drift`, { token: s.token });
  assert.equal(drift.status, 500);
  assert.equal((await drift.json()).errors[0].field, "response.hits.0");
  const doc = await (await t.call("GET", "/openapi.json")).json();
  assert.deepEqual(doc.paths["/knowledge-bases/{knowledgeBaseId}/search"].get["x-roles"], [
    "owner",
    "admin",
    "editor",
  ]);
});
