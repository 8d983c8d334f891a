import { createRoute, type RouteConfig, z } from "@hono/zod-openapi";
import type { MiddlewareHandler } from "hono";
import type { Role } from "../auth/credentials.ts";
import type { ApiEnv } from "../env.ts";
import { requireRole } from "../middleware/auth.ts";

export const Problem = z.object({
  type: z.string(),
  title: z.string(),
  status: z.number().int(),
  detail: z.string(),
  instance: z.string(),
  request_id: z.string().optional(),
  errors: z.array(z.object({ field: z.string(), message: z.string() })).optional(),
}).openapi("Problem");

export const problemResponse = (description: string) => ({
  description,
  content: { "application/problem+json": { schema: Problem } },
});

/** Error responses every protected route may give. */
export const errorResponses = {
  400: problemResponse("Malformed request"),
  401: problemResponse("Missing, invalid or expired credentials"),
  403: problemResponse("The caller's role may not do this"),
  404: problemResponse("No such resource for this creator"),
  422: problemResponse("Validation failed; `errors` names the fields"),
  429: problemResponse("Rate limit exceeded"),
} as const;

export const ALL_ROLES: Role[] = ["owner", "admin", "editor", "viewer"];
export const WRITERS: Role[] = ["owner", "admin", "editor"];
export const ADMINS: Role[] = ["owner", "admin"];

/**
 * A route that needs authentication and one of `roles`: enforces the role before validation and
 * records it in the OpenAPI document as `x-roles` (the authorization tests read it from there).
 */
export function protectedRoute<R extends Omit<RouteConfig, "middleware" | "security">>(
  roles: Role[],
  config: R,
  extra: MiddlewareHandler<ApiEnv>[] = [],
) {
  return createRoute({
    ...config,
    middleware: [requireRole(...roles), ...extra],
    security: [{ bearerAuth: [] }],
    "x-roles": roles,
    responses: { ...errorResponses, ...config.responses },
  });
}

/** Path parameter schema for a uuid named `name`. */
export function uuidParam<N extends string>(name: N) {
  return z.object(
    {
      [name]: z.uuid().openapi({ param: { name, in: "path" } }),
    } as { [K in N]: z.ZodUUID },
  );
}

/** The JSON body of a request; strict, so unknown fields are a 422 naming them. */
export function jsonBody<T extends z.ZodType>(schema: T, description = "JSON body") {
  return { required: true, description, content: { "application/json": { schema } } };
}

export function jsonResponse<T extends z.ZodType>(schema: T, description: string) {
  return { description, content: { "application/json": { schema } } };
}
