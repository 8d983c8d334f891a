import type { MiddlewareHandler } from "hono";
import { secureHeaders } from "hono/secure-headers";

/** A year, the usual HSTS lifetime once a site is known to stay on HTTPS. */
const HSTS = "max-age=31536000; includeSubDomains";

/**
 * Response headers for every API and node response: `nosniff`, no framing, a CSP that lets an API
 * response load nothing (the docs page sets its own), HSTS when the node is reached over TLS
 * (`hsts`), and `Cache-Control: no-store` unless the route set its own caching (tokens, keys and
 * tenant data must not sit in shared or browser caches).
 */
export function securityHeaders({ hsts = false }: { hsts?: boolean } = {}): MiddlewareHandler {
  const headers = secureHeaders({
    strictTransportSecurity: hsts ? HSTS : false,
    xFrameOptions: "DENY",
    contentSecurityPolicy: { defaultSrc: ["'none'"], frameAncestors: ["'none'"] },
    // A route's own header wins (the docs page's CSP, the assets' caching).
    overwrite: false,
  });
  return async (c, next) => {
    await headers(c, async () => {
      await next();
      if (!c.res.headers.has("cache-control")) c.res.headers.set("cache-control", "no-store");
    });
  };
}
