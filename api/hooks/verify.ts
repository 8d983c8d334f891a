/** Pieces every webhook route shares: constant-time comparison and a bounded raw body. */
import { createHmac, randomBytes, timingSafeEqual } from "node:crypto";
import { ApiError, PayloadTooLargeError } from "../errors.ts";

// Both sides are MACed with a key of this process before they are compared: equal lengths for
// timingSafeEqual, and neither the content nor the length of the secret shows in the time.
const COMPARE_KEY = randomBytes(32);
const mac = (text: string) => createHmac("sha256", COMPARE_KEY).update(text).digest();

/**
 * Whether `given` equals `expected`, in time that depends on neither's content. An empty
 * expected value never matches.
 */
export function sameSecret(given: string, expected: string | undefined): boolean {
  if (!expected) return false;
  return timingSafeEqual(mac(given), mac(expected));
}

/** HMAC-SHA256 of `body` with `key`, as lowercase hex. */
export function hmacSha256Hex(key: string, body: Uint8Array): string {
  return createHmac("sha256", key).update(body).digest("hex");
}

/**
 * The request body as bytes, refusing more than `limit` (413 naming `body`) while it streams,
 * so an oversized or endless body costs at most `limit` bytes of memory.
 */
export async function readRawBody(req: Request, limit: number): Promise<Uint8Array> {
  const declared = Number(req.headers.get("content-length") ?? "NaN");
  if (declared > limit) throw new PayloadTooLargeError("body", limit);
  if (!req.body) return new Uint8Array();
  // A declared length within the limit is read at once (the server stops at that length).
  if (Number.isInteger(declared)) return new Uint8Array(await req.arrayBuffer());
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
