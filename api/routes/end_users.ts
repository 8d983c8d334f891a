import type { OpenAPIHono } from "@hono/zod-openapi";
import type { ApiEnv } from "../env.ts";

export function registerEndUsers(_app: OpenAPIHono<ApiEnv>) {}
