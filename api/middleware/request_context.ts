import { createMiddleware } from "hono/factory";
import type { ApiEnv, ApiServices } from "../env.ts";

const SAFE_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/**
 * Gives each request an id (a sane incoming `X-Request-Id` is kept), exposes the services, and
 * writes one structured JSON log line per request.
 */
export function requestContext(services: ApiServices) {
  return createMiddleware<ApiEnv>(async (c, next) => {
    const incoming = c.req.header("x-request-id");
    const requestId = incoming && SAFE_ID.test(incoming) ? incoming : crypto.randomUUID();
    c.set("requestId", requestId);
    c.set("services", services);
    const started = performance.now();
    await next();
    c.res.headers.set("x-request-id", requestId);
    const auth = c.get("auth");
    services.log.info("http request", {
      request_id: requestId,
      method: c.req.method,
      path: new URL(c.req.url).pathname,
      status: c.res.status,
      ms: Math.round((performance.now() - started) * 10) / 10,
      creator_id: auth?.creatorId,
      subject: auth?.subject,
    });
  });
}
