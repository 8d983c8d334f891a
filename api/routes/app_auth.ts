/**
 * How the app API knows who is calling: `Authorization: Bearer eat_...`, an end-user access
 * token (channels/mobile/tokens.ts), checked against Postgres on every request so a revoked
 * token is refused at once. Requests are limited per end user like API keys are per key.
 */
import { validationHook } from "../lib/validation_hook.ts";
import { OpenAPIHono } from "@hono/zod-openapi";
import { createMiddleware } from "hono/factory";
import type { ApiEnv } from "../env.ts";
import { RateLimitedError, UnauthorizedError } from "../errors.ts";
import { hit } from "../middleware/rate_limit.ts";
import type { EndUserSession, EndUserTokens } from "../../channels/mobile/tokens.ts";

/** The Hono environment of the app routes: the admin API's, plus the end user calling. */
export type AppEnv = {
  Variables: ApiEnv["Variables"] & { endUser: EndUserSession };
};

/** Requires a live end-user access token and sets `c.get("endUser")`. */
export function authenticateEndUser(tokens: EndUserTokens) {
  return createMiddleware<AppEnv>(async (c, next) => {
    const token = c.req.header("authorization")?.match(/^Bearer\s+(\S+)$/i)?.[1];
    const session = token ? await tokens.verify(token) : null;
    if (!session) {
      throw new UnauthorizedError(
        token
          ? "The end-user token is invalid, expired or revoked"
          : "An end-user bearer token (eat_...) is required",
      );
    }
    const { pool, rateLimit: o } = c.get("services");
    const w = await hit(pool, `end_user:${session.endUserId}`, o.windowMs);
    if (w.count > o.perKey) throw new RateLimitedError(Math.ceil(w.resetMs / 1000), "end user");
    c.set("endUser", session);
    await next();
  });
}

/** A sub-app whose failed validations are the admin API's 422 problems, naming the field. */
export function appRouter(): OpenAPIHono<AppEnv> {
  return new OpenAPIHono<AppEnv>({
    defaultHook: validationHook(),
  });
}
