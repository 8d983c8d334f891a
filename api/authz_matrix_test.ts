/**
 * The authorization matrix, generated from the OpenAPI document: every protected operation is
 * called without a token (401), with each role it does not allow (403), and, when it addresses a
 * resource, by another creator (404, and the resource is left as it was). A new route that is
 * not in the fixtures below fails the test instead of being skipped.
 */
import assert from "node:assert/strict";
import { withSystem } from "../db/tenant.ts";
import { seedEndUser, testApi } from "../tests/api_harness.ts";

type Op = { method: string; path: string; roles: string[]; hasBody: boolean; form: boolean };

const FLOW = { start: "hi", steps: [{ id: "hi", type: "message", text: "Welcome" }] };
const docForm = () => {
  const f = new FormData();
  f.append("file", new File(["# Notes\n"], "notes.md", { type: "text/markdown" }));
  return f;
};

/** A valid body for every operation with a path parameter and a body (keyed `METHOD path`). */
const BODIES: Record<string, () => unknown> = {
  "POST /conversations/{conversationId}/reply": () => ({ text: "Hi, it's your coach" }),
  "PATCH /knowledge-bases/{knowledgeBaseId}": () => ({ name: "renamed" }),
  "POST /knowledge-bases/{knowledgeBaseId}/documents": docForm,
  "PATCH /documents/{documentId}": () => ({ title: "renamed" }),
  "PUT /documents/{documentId}/content": docForm,
  "PATCH /programs/{programId}": () => ({ name: "renamed" }),
  "PATCH /badges/{badgeId}": () => ({ name: "renamed" }),
  "PATCH /channels/{channelId}": () => ({ name: "renamed" }),
  "PATCH /members/{memberId}": () => ({ role: "viewer" }),
  "POST /programs/{programId}/enrollments": () => ({ end_user_ids: [crypto.randomUUID()] }),
};

/** Query strings for operations with required query parameters. */
const QUERIES: Record<string, string> = { "GET /messages/search": "?q=hello" };

Deno.test("authorization matrix - every OpenAPI route gives 401 without token, 403 to other roles, 404 across tenants", async () => {
  await using t = await testApi();
  const a = await t.signup();
  const b = await t.signup();
  // Each role both as a signed-in member (JWT) and as an API key.
  const memberToken = async (role: string) => {
    const email = `${role}-${crypto.randomUUID().slice(0, 6)}@example.test`;
    const res = await t.call("POST", "/members", {
      token: a.token,
      json: { email, password: "member password", role },
    });
    assert.equal(res.status, 201);
    await res.body?.cancel();
    const login = await t.call("POST", "/auth/login", {
      json: { email, password: "member password" },
    });
    return (await login.json()).access_token as string;
  };
  const tokensOf: Record<string, string[]> = { owner: [a.token] };
  for (const role of ["admin", "editor", "viewer"] as const) {
    tokensOf[role] = [await memberToken(role), await t.apiKey(a, role)];
  }

  // One of everything in creator B.
  const post = async (path: string, json: unknown) => {
    const res = await t.call("POST", path, { token: b.token, json });
    assert.equal(res.status, 201, `${path}: ${await res.clone().text()}`);
    return (await res.json()).id as string;
  };
  const kb = await post("/knowledge-bases", { name: "B's" });
  const up = await t.call("POST", `/knowledge-bases/${kb}/documents`, {
    token: b.token,
    body: docForm(),
  });
  assert.equal(up.status, 202);
  const user = await seedEndUser(t, b.creatorId);
  const ids: Record<string, string> = {
    knowledgeBaseId: kb,
    documentId: (await up.json()).id,
    programId: await post("/programs", { name: "P", flow_definition: FLOW }),
    badgeId: await post("/badges", { name: "B", criteria: "sessions >= 1" }),
    channelId: await post("/channels", { kind: "telegram", name: "bot", bot_token: "123:abc_DEF" }),
    memberId: await post("/members", {
      email: `m${crypto.randomUUID().slice(0, 6)}@example.test`,
      password: "long enough password",
      role: "editor",
    }),
    apiKeyId: await post("/api-keys", { name: "k", role: "viewer" }),
    endUserId: user.endUserId,
    conversationId: user.conversationId,
    // Not a resource: the program control a path names.
    action: "pause",
  };

  const doc = await (await t.call("GET", "/openapi.json")).json();
  const ops: Op[] = [];
  for (const [path, item] of Object.entries<Record<string, Record<string, unknown>>>(doc.paths)) {
    for (const [method, op] of Object.entries(item)) {
      const security = op.security as unknown[] | undefined;
      if (security && security.length === 0) continue; // public: sign-up, login, refresh
      const roles = op["x-roles"] as string[] | undefined;
      assert.ok(roles, `${method} ${path} has no x-roles: protect it with protectedRoute()`);
      const content = (op.requestBody as { content?: Record<string, unknown> } | undefined)
        ?.content;
      ops.push({
        method: method.toUpperCase(),
        path,
        roles,
        hasBody: !!content,
        form: !!content?.["multipart/form-data"],
      });
    }
  }
  assert.ok(ops.length >= 40, `only ${ops.length} protected operations found`);

  const request = (op: Op, path: string, token?: string) => {
    const key = `${op.method} ${op.path}`;
    const body = BODIES[key]?.() ?? (op.hasBody ? {} : undefined);
    return t.call(op.method, path, {
      token,
      ...(body instanceof FormData ? { body } : body !== undefined ? { json: body } : {}),
    });
  };

  const failures: string[] = [];
  const checked: Record<number, number> = {};
  const expect = async (what: string, res: Response, status: number) => {
    checked[status] = (checked[status] ?? 0) + 1;
    const text = await res.text();
    if (res.status !== status) {
      failures.push(`${what}: expected ${status}, got ${res.status} ${text}`);
    } else if (!res.headers.get("content-type")?.includes("application/problem+json")) {
      failures.push(`${what}: not problem+json`);
    }
  };
  for (const op of ops) {
    const params = [...op.path.matchAll(/{(\w+)}/g)].map((m) => m[1]!);
    const randomPath = op.path.replace(/{\w+}/g, () => crypto.randomUUID());
    const name = `${op.method} ${op.path}`;
    await expect(`${name} without token`, await request(op, randomPath), 401);
    await expect(`${name} with a forged token`, await request(op, randomPath, "eyJ.x.y"), 401);
    for (const role of ["admin", "editor", "viewer"]) {
      if (op.roles.includes(role)) continue;
      for (const [i, token] of tokensOf[role]!.entries()) {
        const as = `${role} ${i ? "API key" : "member"}`;
        await expect(`${name} as ${as}`, await request(op, randomPath, token), 403);
      }
    }
    if (!params.length) {
      // And the roles it allows get through (list routes need no fixtures).
      if (op.method !== "GET") continue;
      for (const role of op.roles) {
        for (const token of tokensOf[role]!) {
          const res = await request(op, op.path + (QUERIES[name] ?? ""), token);
          if (res.status !== 200) {
            failures.push(`${name} as ${role}: ${res.status} ${await res.text()}`);
          } else await res.body?.cancel();
        }
      }
      continue;
    }
    if (op.hasBody && !BODIES[name]) {
      failures.push(`${name}: add a valid body to BODIES so the 404 case can be tested`);
      continue;
    }
    const missing = params.filter((p) => !ids[p]);
    if (missing.length) {
      failures.push(`${name}: no fixture of creator B for ${missing.join(", ")}`);
      continue;
    }
    const otherPath = op.path.replace(/{(\w+)}/g, (_, p: string) => ids[p]!);
    await expect(`${name} on creator B's resource`, await request(op, otherPath, a.token), 404);
  }
  assert.deepEqual(failures, []);
  // Each protected operation twice at 401; the role and tenant cases in the dozens.
  assert.equal(checked[401], ops.length * 2);
  assert.ok(checked[403]! >= 70 && checked[404]! >= 25, JSON.stringify(checked));

  // Nothing of B's was changed or deleted by A's attempts.
  const seen = await withSystem(t.db.pool, async (c) => ({
    kb: (await c.query("select name from knowledge_bases where id = $1", [ids.knowledgeBaseId]))
      .rows[0]?.name,
    docVersion: (await c.query("select version from documents where id = $1", [ids.documentId]))
      .rows[0]?.version,
    program: (await c.query("select status from programs where id = $1", [ids.programId])).rows[0]
      ?.status,
    user: (await c.query("select count(*)::int n from end_users where id = $1", [ids.endUserId]))
      .rows[0]?.n,
    key: (await c.query("select revoked_at from api_keys where id = $1", [ids.apiKeyId])).rows[0]
      ?.revoked_at,
    member: (await c.query("select role from creator_members where id = $1", [ids.memberId]))
      .rows[0]?.role,
  }));
  assert.deepEqual(seen, {
    kb: "B's",
    docVersion: 1,
    program: "draft",
    user: 1,
    key: null,
    member: "editor",
  });
});
