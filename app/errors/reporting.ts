/**
 * Error tracking with Sentry (`@sentry/deno`) when `SENTRY_DSN` is set: unhandled errors and
 * rejections, every error-level log line, and turns the runtime gave up on, each with the actor,
 * the creator and the trace id, scrubbed of anything personal (see scrub.ts). The same logger
 * wrapper adds `trace_id` and `span_id` of the active span to every JSON log line, with or
 * without Sentry, so logs and traces join up in Loki/ELK and Jaeger/Tempo.
 */
import * as Sentry from "@sentry/deno";
import { trace } from "@opentelemetry/api";
import type { Logger } from "../../runtime/mod.ts";
import { scrubEvent, scrubText } from "./scrub.ts";

export interface ErrorReporting extends AsyncDisposable {
  /** Reports one failure (a log line at error level, a failed turn). */
  capture(msg: string, fields: Record<string, unknown>): void;
  /** Sends what is queued; resolves false when `timeoutMs` passed first. */
  flush(timeoutMs?: number): Promise<boolean>;
}

export function startErrorReporting(
  { dsn, environment, release, node }: {
    dsn: string;
    environment?: string;
    release?: string;
    node?: string;
  },
): ErrorReporting {
  Sentry.init({
    dsn,
    environment,
    release,
    sendDefaultPii: false,
    // Breadcrumbs would carry console output and request URLs: none are sent.
    maxBreadcrumbs: 0,
    beforeSend: scrubEvent,
    initialScope: node ? { tags: { node } } : undefined,
  });
  return {
    capture(msg, fields) {
      const actor = typeof fields.actor === "string" ? fields.actor : undefined;
      const { type, creatorId } = actorParts(actor);
      const traceId = typeof fields.trace_id === "string" && !/^0+$/.test(fields.trace_id)
        ? fields.trace_id
        : undefined;
      const error = typeof fields.error === "string" ? fields.error : msg;
      Sentry.captureEvent({
        level: "error",
        message: scrubText(msg),
        exception: {
          values: [{
            type: typeof fields.error_name === "string" ? fields.error_name : "Error",
            value: scrubText(error),
            mechanism: { type: "logger", handled: true },
          }],
        },
        tags: {
          ...(type ? { actor_type: type, actor } : {}),
          ...(creatorId ? { creator_id: creatorId } : {}),
          ...(typeof fields.handler === "string" ? { handler: fields.handler } : {}),
          ...(typeof fields.component === "string" ? { component: fields.component } : {}),
          ...(traceId ? { trace_id: traceId } : {}),
        },
        ...(traceId
          ? { contexts: { trace: { trace_id: traceId, span_id: spanIdOf(fields) } } }
          : {}),
        fingerprint: [
          msg,
          type ?? "",
          typeof fields.error_name === "string" ? fields.error_name : "",
        ],
      });
    },
    flush: (timeoutMs = 2000) => Sentry.flush(timeoutMs),
    [Symbol.asyncDispose]: async () => {
      await Sentry.close(2000);
    },
  };
}

/** `user/<creatorId>:<localId>` → the type and the creator (actor ids start with the creator). */
function actorParts(actor?: string): { type?: string; creatorId?: string } {
  if (!actor) return {};
  const slash = actor.indexOf("/");
  const type = slash > 0 ? actor.slice(0, slash) : undefined;
  const id = slash > 0 ? actor.slice(slash + 1) : actor;
  const creatorId = id.match(/^([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}):/i)
    ?.[1];
  return { type, creatorId };
}

function spanIdOf(fields: Record<string, unknown>): string {
  return typeof fields.span_id === "string" ? fields.span_id : "0000000000000000";
}

/**
 * `log` with the active span's `trace_id`/`span_id` on every line, and every error-level line
 * (failed turns among them) sent to `reporting` when given.
 */
export function tracedLogger(log: Logger, reporting?: ErrorReporting): Logger {
  const withTrace = (fields?: Record<string, unknown>) => {
    const ctx = trace.getActiveSpan()?.spanContext();
    if (!ctx || /^0+$/.test(ctx.traceId) || fields?.trace_id) return fields;
    return { trace_id: ctx.traceId, span_id: ctx.spanId, ...fields };
  };
  const wrap = (inner: Logger, base: Record<string, unknown>): Logger => ({
    debug: (msg, f) => inner.debug(msg, withTrace(f)),
    info: (msg, f) => inner.info(msg, withTrace(f)),
    warn: (msg, f) => inner.warn(msg, withTrace(f)),
    error: (msg, f) => {
      const fields = withTrace(f);
      inner.error(msg, fields);
      reporting?.capture(msg, { ...base, ...fields });
    },
    child: (fields) => wrap(inner.child(fields), { ...base, ...fields }),
  });
  return wrap(log, {});
}
