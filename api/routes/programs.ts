import type { OpenAPIHono } from "@hono/zod-openapi";
import type { ApiEnv } from "../env.ts";

export function registerPrograms(_app: OpenAPIHono<ApiEnv>) {}
