import type { Context } from "hono";
import { HTTPException } from "hono/http-exception";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import type { ZodError } from "zod";
import type { Logger } from "../runtime/mod.ts";

/** One failing field of a request, named by its path (`body.flow_definition.steps.2.next`). */
export interface FieldError {
  field: string;
  message: string;
}

/** An error the API maps to an `application/problem+json` response (RFC 9457). */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly title: string,
    detail: string,
    readonly errors: FieldError[] = [],
    options?: ErrorOptions,
  ) {
    super(detail, options);
    this.name = "ApiError";
  }

  /** The problem `type` URI: a stable slug per title. */
  get type(): string {
    return `https://coachd.dev/problems/${this.title.toLowerCase().replace(/[^a-z0-9]+/g, "-")}`;
  }
}

export class ValidationError extends ApiError {
  constructor(detail: string, errors: FieldError[]) {
    super(422, "Validation failed", detail, errors);
    this.name = "ValidationError";
  }
}

export class UnauthorizedError extends ApiError {
  constructor(detail = "A valid bearer token or API key is required") {
    super(401, "Unauthorized", detail);
    this.name = "UnauthorizedError";
  }
}

export class ForbiddenError extends ApiError {
  constructor(detail: string) {
    super(403, "Forbidden", detail);
    this.name = "ForbiddenError";
  }
}

export class NotFoundError extends ApiError {
  constructor(resource: string, id: string) {
    super(404, "Not found", `${resource} ${id} does not exist`);
    this.name = "NotFoundError";
  }
}

export class ConflictError extends ApiError {
  constructor(detail: string, errors: FieldError[] = []) {
    super(409, "Conflict", detail, errors);
    this.name = "ConflictError";
  }
}

export class PayloadTooLargeError extends ApiError {
  constructor(field: string, limit: number) {
    super(413, "Payload too large", `The upload exceeds the ${limit}-byte limit`, [
      { field, message: `must be at most ${limit} bytes` },
    ]);
    this.name = "PayloadTooLargeError";
  }
}

export class RateLimitedError extends ApiError {
  constructor(readonly retryAfterSeconds: number, scope: string) {
    super(429, "Too many requests", `Rate limit for this ${scope} exceeded; retry later`);
    this.name = "RateLimitedError";
  }
}

/** Turns zod issues into field errors; `where` is the request part (body, query, path, header). */
export function fieldErrors(where: string, error: ZodError): FieldError[] {
  const out: FieldError[] = [];
  for (const issue of error.issues) {
    const base = [where, ...issue.path.map(String)].join(".");
    if (issue.code === "unrecognized_keys") {
      for (const key of issue.keys) out.push({ field: `${base}.${key}`, message: "unknown field" });
    } else {
      out.push({ field: base, message: issue.message });
    }
  }
  return out;
}

const PROBLEM = "application/problem+json";

/** Renders a problem document. */
export function problem(c: Context, err: ApiError): Response {
  const body = {
    type: err.type,
    title: err.title,
    status: err.status,
    detail: err.message,
    instance: new URL(c.req.url).pathname,
    request_id: c.get("requestId" as never) as string | undefined,
    ...(err.errors.length ? { errors: err.errors } : {}),
  };
  if (err instanceof RateLimitedError) c.header("retry-after", String(err.retryAfterSeconds));
  // c.body keeps headers set earlier in the request (RateLimit-*, X-Request-Id).
  return c.body(JSON.stringify(body), err.status as ContentfulStatusCode, {
    "content-type": PROBLEM,
  });
}

/** The one `onError`: domain errors keep their status, anything unknown is logged as a 500. */
export function errorHandler(log: Logger) {
  return (err: Error, c: Context): Response => {
    if (err instanceof ApiError) return problem(c, err);
    if (err instanceof HTTPException) {
      const field = err.status === 400 && /JSON/i.test(err.message)
        ? [{ field: "body", message: err.message }]
        : [];
      const title = err.status === 400
        ? "Malformed request"
        : err.status === 413
        ? "Payload too large"
        : err.status === 415
        ? "Unsupported media type"
        : "HTTP error";
      return problem(c, new ApiError(err.status, title, err.message, field));
    }
    const pgCode = (err as { code?: string }).code;
    if (pgCode === "23505") {
      return problem(c, new ConflictError("A resource with the same unique value already exists"));
    }
    if (pgCode === "22P02") {
      return problem(c, new ApiError(400, "Malformed request", "An identifier is malformed"));
    }
    log.error("unhandled error", {
      error: String(err),
      stack: err.stack,
      request_id: c.get("requestId" as never),
    });
    return problem(
      c,
      new ApiError(500, "Internal error", "The server failed to handle the request"),
    );
  };
}
