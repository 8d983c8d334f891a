/** Pieces every webhook route shares: constant-time comparison and a bounded raw body. */
import { timingSafeEqual } from "node:crypto";
import { ApiError, PayloadTooLargeError } from "../errors.ts";

const encoder = new TextEncoder();

async function digest(bytes: Uint8Array): Promise<Uint8Array> {
  return new Uint8Array(await crypto.subtle.digest("SHA-256", bytes as BufferSource));
}

/**
 * Whether `given` equals `expected`, in time that depends on neither's content (both are hashed
 * first, so their lengths do not leak either). An empty expected value never matches.
 */
export async function sameSecret(given: string, expected: string | undefined): Promise<boolean> {
  if (!expected) return false;
  const [a, b] = await Promise.all([
    digest(encoder.encode(given)),
    digest(encoder.encode(expected)),
  ]);
  return timingSafeEqual(a, b);
}

/** HMAC-SHA256 of `body` with `key`, as lowercase hex. */
export async function hmacSha256Hex(key: string, body: Uint8Array): Promise<string> {
  const k = await crypto.subtle.importKey(
    "raw",
    encoder.encode(key),
    { name: "HMAC", hash: "SHA-256" },
    false,
    ["sign"],
  );
  const mac = new Uint8Array(await crypto.subtle.sign("HMAC", k, body as BufferSource));
  return Array.from(mac, (b) => b.toString(16).padStart(2, "0")).join("");
}

/**
 * The request body as bytes, refusing more than `limit` (413 naming `body`) while it streams,
 * so an oversized or endless body costs at most `limit` bytes of memory.
 */
export async function readRawBody(req: Request, limit: number): Promise<Uint8Array> {
  const declared = Number(req.headers.get("content-length") ?? "NaN");
  if (declared > limit) throw new PayloadTooLargeError("body", limit);
  if (!req.body) return new Uint8Array();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of req.body) {
    size += chunk.length;
    if (size > limit) throw new PayloadTooLargeError("body", limit);
    chunks.push(chunk);
  }
  const out = new Uint8Array(size);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}

/** Parses a JSON body; a malformed one is a 400 naming `body`. */
export function parseJsonBody(bytes: Uint8Array): unknown {
  try {
    return JSON.parse(new TextDecoder().decode(bytes));
  } catch (err) {
    throw new ApiError(400, "Malformed JSON", `The body is not JSON: ${(err as Error).message}`, [
      { field: "body", message: "not JSON" },
    ]);
  }
}
