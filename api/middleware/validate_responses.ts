import type { OpenAPIHono } from "@hono/zod-openapi";
import { createMiddleware } from "hono/factory";
import type { ZodType } from "zod";
import type { ApiEnv } from "../env.ts";
import { ApiError, fieldErrors } from "../errors.ts";

type Schemas = Map<string, ZodType>;

function responseSchemas(app: OpenAPIHono<ApiEnv>): Schemas {
  const out: Schemas = new Map();
  for (const def of app.openAPIRegistry.definitions) {
    if (def.type !== "route") continue;
    const path = def.route.path.replace(/{(\w+)}/g, ":$1");
    for (const [status, response] of Object.entries(def.route.responses)) {
      const schema = (response as { content?: Record<string, { schema?: unknown }> }).content
        ?.["application/json"]?.schema;
      if (schema && typeof (schema as ZodType).safeParse === "function") {
        out.set(`${def.route.method.toUpperCase()} ${path} ${status}`, schema as ZodType);
      }
    }
  }
  return out;
}

/**
 * Checks every JSON response against the schema its route declares and turns a mismatch into a
 * 500 naming the fields, so tests catch a handler that drifts from its OpenAPI document. On in
 * tests; off by default in production, where it would only cost time.
 */
export function validateResponses(app: OpenAPIHono<ApiEnv>) {
  let schemas: Schemas | undefined;
  return createMiddleware<ApiEnv>(async (c, next) => {
    await next();
    if (!c.res.headers.get("content-type")?.startsWith("application/json")) return;
    schemas ??= responseSchemas(app);
    const route = c.req.matchedRoutes.findLast((r) => r.method !== "ALL");
    // Mounted under /v1: strip the prefix the registry does not know.
    const path = route?.path.replace(/^\/v1(?=\/)/, "");
    const schema = schemas.get(`${c.req.method} ${path} ${c.res.status}`);
    if (!schema) return;
    const result = schema.safeParse(await c.res.clone().json());
    if (result.success) return;
    const err = new ApiError(
      500,
      "Response failed validation",
      `${c.req.method} ${path} answered ${c.res.status} with a body its schema rejects`,
      fieldErrors("response", result.error),
    );
    c.get("services").log.error("response failed validation", { errors: err.errors });
    c.res = undefined;
    c.res = new Response(
      JSON.stringify({ title: err.title, detail: err.message, errors: err.errors }),
      {
        status: 500,
        headers: { "content-type": "application/problem+json" },
      },
    );
  });
}
