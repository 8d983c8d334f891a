import type { OpenAPIHono } from "@hono/zod-openapi";
import type { ApiEnv } from "../env.ts";

export function registerDocuments(_app: OpenAPIHono<ApiEnv>) {}
