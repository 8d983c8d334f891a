/**
 * Property test over the whole OpenAPI document: for every operation, fast-check generates path
 * parameters, query strings and bodies from the operation's own schemas, mixed with hostile
 * values (NUL bytes, lone surrogates, huge and wrong-typed values, forged cursors, random JSON),
 * and the API must never answer 5xx. A failure prints the seed and the shrunk request;
 * `FUZZ_SEED=<seed>` replays it, `FUZZ_RUNS` sets the runs per operation (default 25).
 */
import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import fc from "fast-check";
import { seedEndUser, testApi } from "../tests/api_harness.ts";

type Schema = {
  $ref?: string;
  type?: string | string[];
  enum?: unknown[];
  const?: unknown;
  format?: string;
  minimum?: number;
  maximum?: number;
  maxLength?: number;
  items?: Schema;
  properties?: Record<string, Schema>;
  required?: string[];
  additionalProperties?: boolean | Schema;
  anyOf?: Schema[];
  oneOf?: Schema[];
  allOf?: Schema[];
};
type Parameter = { name: string; in: "path" | "query" | "header"; schema: Schema };
type Operation = {
  parameters?: Parameter[];
  requestBody?: { content: Record<string, { schema: Schema }> };
};

const RUNS = Number(Deno.env.get("FUZZ_RUNS") ?? 25);
const SEED = Deno.env.get("FUZZ_SEED");

const forgedCursor = fc.record({ t: fc.string(), id: fc.oneof(fc.uuid(), fc.string()) })
  .map((c) => Buffer.from(JSON.stringify(c)).toString("base64url"));

/** Strings that have broken APIs before. */
const hostile: fc.Arbitrary<string> = fc.oneof(
  fc.string(),
  fc.string({ unit: "binary", maxLength: 40 }),
  fc.constantFrom(
    "\u0000",
    "a\u0000b",
    "\ud800",
    "x\udfffy",
    "' or 1=1 --",
    "%00",
    "../../etc/passwd",
    "${7*7}",
    "🙂",
    "",
    " ",
    "x".repeat(5000),
  ),
  forgedCursor,
);

function arbitraryOf(
  schema: Schema,
  resolve: (ref: string) => Schema,
  ids: string[],
  depth = 0,
): fc.Arbitrary<unknown> {
  if (schema.$ref) return arbitraryOf(resolve(schema.$ref), resolve, ids, depth);
  if (depth > 4) return fc.constant(null);
  const of = (s: Schema) => arbitraryOf(s, resolve, ids, depth + 1);
  const alternatives = schema.anyOf ?? schema.oneOf;
  if (alternatives) return fc.oneof(...alternatives.map(of), fc.jsonValue());
  if (schema.allOf?.length) return of(schema.allOf[0]!);
  if (schema.const !== undefined) return fc.oneof(fc.constant(schema.const), hostile);
  if (schema.enum) return fc.oneof(fc.constantFrom(...schema.enum), hostile);
  const type = Array.isArray(schema.type) ? schema.type[0] : schema.type;
  switch (type) {
    case "string": {
      const typed = schema.format === "uuid"
        ? fc.oneof(fc.uuid(), fc.constantFrom(...ids))
        : schema.format === "email"
        ? fc.emailAddress()
        : schema.format === "uri"
        ? fc.webUrl()
        : schema.format === "date-time"
        ? fc.date({ noInvalidDate: true }).map((d) => d.toISOString())
        : fc.string({ maxLength: schema.maxLength ?? 50 });
      return fc.oneof(typed, typed, hostile);
    }
    case "integer":
    case "number":
      return fc.oneof(
        fc.integer({ min: schema.minimum ?? -10, max: schema.maximum ?? 1000 }),
        fc.constantFrom(-1, 0, 2 ** 53, 1e308, -1e308, 0.5),
        hostile,
      );
    case "boolean":
      return fc.oneof(fc.boolean(), hostile);
    case "array":
      return fc.oneof(fc.array(of(schema.items ?? {}), { maxLength: 4 }), hostile);
    case "object": {
      const props = schema.properties ?? {};
      const record = fc.record(
        Object.fromEntries(Object.entries(props).map(([k, s]) => [k, of(s)])),
        { requiredKeys: (schema.required ?? []).filter((k) => k in props) },
      );
      const extra = typeof schema.additionalProperties === "object"
        ? fc.dictionary(hostile, of(schema.additionalProperties), { maxKeys: 3 })
        : fc.dictionary(hostile, fc.jsonValue({ maxDepth: 2 }), { maxKeys: 2 });
      return fc.oneof(
        record,
        record,
        fc.tuple(record, extra).map(([r, e]) => ({ ...e, ...(r as object) })),
        fc.jsonValue({ maxDepth: 3 }),
      );
    }
    default:
      return fc.jsonValue({ maxDepth: 3 });
  }
}

const asQueryValue = (v: unknown) => typeof v === "string" ? v : JSON.stringify(v) ?? "";

/** Raw path segments a client can send: invalid UTF-8, an encoded NUL, an encoded slash. */
const RAW_SEGMENTS = ["%FF", "%ED%A0%80", "%00", "%2F", "%"];
const RAW = "raw:";

/** A segment as a client would put it on the wire (a lone surrogate goes as U+FFFD). */
function segment(value: string): string {
  if (value.startsWith(RAW)) return value.slice(RAW.length);
  return [...new TextEncoder().encode(value)]
    .map((b) =>
      /[A-Za-z0-9_.~-]/.test(String.fromCharCode(b))
        ? String.fromCharCode(b)
        : `%${b.toString(16).padStart(2, "0").toUpperCase()}`
    )
    .join("");
}

Deno.test("fuzz - no OpenAPI operation answers 5xx to generated paths, queries and bodies", async () => {
  await using t = await testApi();
  const owner = await t.signup();
  const post = async (path: string, json: unknown) =>
    (await (await t.call("POST", path, { token: owner.token, json })).json()).id as string;
  const kb = await post("/knowledge-bases", { name: "kb" });
  const form = new FormData();
  form.append("file", new File(["# Notes\n"], "notes.md", { type: "text/markdown" }));
  const doc = await (await t.call("POST", `/knowledge-bases/${kb}/documents`, {
    token: owner.token,
    body: form,
  })).json();
  const user = await seedEndUser(t, owner.creatorId);
  const fixtures: Record<string, string> = {
    knowledgeBaseId: kb,
    documentId: doc.id,
    programId: await post("/programs", {
      name: "P",
      flow_definition: { start: "a", steps: [{ id: "a", type: "message", text: "hi" }] },
    }),
    badgeId: await post("/badges", { name: "B", criteria: "sessions >= 1" }),
    channelId: await post("/channels", { kind: "telegram", name: "b", bot_token: "123:abc" }),
    memberId: await post("/members", {
      email: "fuzz-member@example.test",
      password: "long enough password",
      role: "editor",
    }),
    apiKeyId: await post("/api-keys", { name: "k", role: "viewer" }),
    endUserId: user.endUserId,
    conversationId: user.conversationId,
  };
  const ids = Object.values(fixtures);

  const spec = await (await t.call("GET", "/openapi.json")).json();
  const resolve = (ref: string) => spec.components.schemas[ref.split("/").pop()!] as Schema;
  const operations: Array<[string, string, Operation]> = [];
  for (const [path, item] of Object.entries<Record<string, Operation>>(spec.paths)) {
    for (const [method, op] of Object.entries(item)) operations.push([method, path, op]);
  }
  // Deletions last, so the other operations still find the fixtures.
  operations.sort(([a], [b]) => Number(a === "delete") - Number(b === "delete"));
  assert.ok(operations.length >= 45, `only ${operations.length} operations`);

  const failures: string[] = [];
  let requests = 0;
  for (const [method, path, op] of operations) {
    const params = op.parameters ?? [];
    const pathArb = fc.record(Object.fromEntries(
      params.filter((p) => p.in === "path").map((p) => [
        p.name,
        fc.oneof(
          fc.constant(fixtures[p.name] ?? crypto.randomUUID()),
          fc.uuid(),
          hostile,
          fc.constantFrom(...RAW_SEGMENTS.map((r) => RAW + r)),
        ),
      ]),
    ));
    const queryArb = fc.record(
      Object.fromEntries(
        params.filter((p) => p.in === "query").map((p) => [
          p.name,
          arbitraryOf(p.schema, resolve, ids).map(asQueryValue),
        ]),
      ),
      { requiredKeys: [] },
    );
    const content = op.requestBody?.content ?? {};
    const json = content["application/json"]?.schema;
    const multipart = content["multipart/form-data"]?.schema;
    const bodyArb: fc.Arbitrary<{ json?: unknown; raw?: string; form?: Record<string, unknown> }> =
      json
        ? fc.oneof(
          arbitraryOf(json, resolve, ids).map((v) => ({ json: v })),
          arbitraryOf(json, resolve, ids).map((v) => ({ json: v })),
          fc.string().map((raw) => ({ raw })),
        )
        : multipart
        ? fc.record({
          file: fc.record({
            name: hostile,
            type: fc.constantFrom("text/plain", "text/markdown", "application/pdf", "", "x/y"),
            bytes: fc.uint8Array({ maxLength: 300 }),
          }),
          title: fc.option(hostile, { nil: undefined }),
          metadata: fc.option(fc.oneof(hostile, fc.jsonValue().map((v) => JSON.stringify(v))), {
            nil: undefined,
          }),
        }).map((form) => ({ form }))
        : fc.constant({});

    await fc.assert(
      fc.asyncProperty(pathArb, queryArb, bodyArb, async (pathValues, query, body) => {
        const url = path.replace(/{(\w+)}/g, (_, p: string) => segment(String(pathValues[p])));
        const qs = new URLSearchParams(query as Record<string, string>).toString();
        let init: { json?: unknown; body?: BodyInit; headers?: Record<string, string> } = {};
        if (body.json !== undefined) init = { json: body.json };
        else if (body.raw !== undefined) {
          init = { body: body.raw, headers: { "content-type": "application/json" } };
        } else if (body.form) {
          const f = new FormData();
          const file = body.form.file as { name: string; type: string; bytes: Uint8Array };
          f.append("file", new File([file.bytes as BlobPart], file.name, { type: file.type }));
          for (const key of ["title", "metadata"]) {
            if (body.form[key] !== undefined) f.append(key, String(body.form[key]));
          }
          init = { body: f };
        }
        requests++;
        const res = await t.call(method.toUpperCase(), `${url}${qs ? `?${qs}` : ""}`, {
          token: owner.token,
          ...init,
        });
        const text = await res.text();
        if (res.status >= 500) {
          throw new Error(`${method.toUpperCase()} ${url}?${qs} -> ${res.status} ${text}`);
        }
      }),
      { numRuns: RUNS, ...(SEED ? { seed: Number(SEED) } : {}) },
    ).catch((err: Error) => failures.push(`${method.toUpperCase()} ${path}: ${err.message}`));
  }
  assert.deepEqual(failures, []);
  assert.ok(requests >= operations.length * RUNS, `${requests} requests`);
});
