import type { MiddlewareHandler } from "hono";
import {
  context,
  propagation,
  SpanKind,
  SpanStatusCode,
  type TextMapGetter,
  trace,
} from "@opentelemetry/api";

const tracer = trace.getTracer("coachd-http");

// Reads only the headers a propagator asks for, instead of copying them all.
const headerGetter: TextMapGetter<Headers> = {
  get: (headers, key) => headers.get(key) ?? undefined,
  keys: (headers) => [...headers.keys()],
};

/**
 * Wraps each request in a server span (continuing an incoming `traceparent`) and makes it the
 * active context, so actor messages sent while handling it carry the trace on to the turn.
 */
export function tracing(): MiddlewareHandler {
  return async (c, next) => {
    const parent = propagation.extract(context.active(), c.req.raw.headers, headerGetter);
    const span = tracer.startSpan(`${c.req.method} ${c.req.routePath ?? c.req.path}`, {
      kind: SpanKind.SERVER,
      attributes: { "http.request.method": c.req.method, "url.path": c.req.path },
    }, parent);
    try {
      await context.with(trace.setSpan(parent, span), next);
      span.setAttribute("http.response.status_code", c.res.status);
      // Errors the app's onError turned into a response are still this span's exception.
      if (c.error) span.recordException(c.error);
      if (c.res.status >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
    } finally {
      span.end();
    }
  };
}
