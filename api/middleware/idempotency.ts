import { createMiddleware } from "hono/factory";
import { withTenant } from "../../db/tenant.ts";
import { sha256Hex } from "../auth/credentials.ts";
import type { ApiEnv } from "../env.ts";
import { ApiError, ConflictError } from "../errors.ts";

const KEY = /^[A-Za-z0-9._:-]{1,255}$/;
const REPLAYED_HEADERS = ["content-type", "location"];
/** How long a key is remembered; after that the same key is a new request. */
const TTL_HOURS = 24;

/**
 * `Idempotency-Key` on POST: the first request with a key runs and its response is stored; a
 * retry with the same key and body gets the stored response (`Idempotent-Replayed: true`), one
 * with a different body a 422, one while the first still runs a 409. Server errors are not
 * stored, so the client can retry them. Keys are per creator.
 */
export const idempotency = createMiddleware<ApiEnv>(async (c, next) => {
  const key = c.req.header("idempotency-key");
  if (c.req.method !== "POST" || key === undefined) return await next();
  if (!KEY.test(key)) {
    throw new ApiError(400, "Malformed request", "Idempotency-Key must be 1-255 safe characters", [
      { field: "header.idempotency-key", message: "must match [A-Za-z0-9._:-]{1,255}" },
    ]);
  }
  const { pool } = c.get("services");
  const { creatorId } = c.get("auth");
  const body = new Uint8Array(await c.req.arrayBuffer());
  const requestHash = await sha256Hex(
    new Uint8Array([...new TextEncoder().encode(`${c.req.method} ${c.req.path}\n`), ...body]),
  );
  const existing = await withTenant(pool, creatorId, async (client) => {
    await client.query(
      `delete from idempotency_keys where key = $1 and created_at < now() - interval '${TTL_HOURS} hours'`,
      [key],
    );
    const inserted = await client.query(
      `insert into idempotency_keys (creator_id, key, request_sha256) values ($1, $2, $3)
       on conflict do nothing`,
      [creatorId, key, requestHash],
    );
    if (inserted.rowCount === 1) return null;
    const { rows: [row] } = await client.query<{
      request_sha256: string;
      state: string;
      response_status: number | null;
      response_headers: Record<string, string> | null;
      response_body: string | null;
    }>("select * from idempotency_keys where key = $1", [key]);
    return row ?? null;
  });
  if (existing) {
    if (existing.request_sha256 !== requestHash) {
      throw new ApiError(
        422,
        "Idempotency key reused",
        "This Idempotency-Key was used with a different request",
        [{ field: "header.idempotency-key", message: "already used for another request" }],
      );
    }
    if (existing.state !== "done") {
      throw new ConflictError("A request with this Idempotency-Key is still being processed");
    }
    c.header("idempotent-replayed", "true");
    const status = existing.response_status ?? 200;
    const body = status === 204 || status === 304 ? null : existing.response_body ?? "";
    return c.body(body as string, status as 200, { ...existing.response_headers });
  }
  try {
    await next();
  } catch (err) {
    await forget(pool, creatorId, key);
    throw err;
  }
  const res = c.res;
  if (res.status >= 500) return await forget(pool, creatorId, key);
  const headers: Record<string, string> = {};
  for (const name of REPLAYED_HEADERS) {
    const value = res.headers.get(name);
    if (value) headers[name] = value;
  }
  const text = await res.clone().text();
  await withTenant(pool, creatorId, (client) =>
    client.query(
      `update idempotency_keys set state = 'done', response_status = $2, response_headers = $3,
       response_body = $4 where key = $1`,
      [key, res.status, headers, text],
    ));
});

async function forget(pool: import("pg").Pool, creatorId: string, key: string) {
  await withTenant(
    pool,
    creatorId,
    (client) =>
      client.query("delete from idempotency_keys where key = $1 and state = 'processing'", [key]),
  );
}
