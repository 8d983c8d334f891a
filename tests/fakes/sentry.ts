/**
 * A loopback Sentry ingest for tests: `POST /api/<project>/envelope/` with the real envelope
 * format (newline-separated JSON: an envelope header, then item header and payload pairs),
 * gzip-encoded bodies accepted, the `X-Sentry-Auth` header or `sentry_key` query checked
 * against the DSN's public key (401 otherwise), and `failNext` for 429 with `Retry-After` and
 * 5xx answers. Give the SDK `fake.dsn`.
 */
import { gunzipSync } from "node:zlib";
import { Buffer } from "node:buffer";

export interface SentryEnvelopeItem {
  header: { type: string; [k: string]: unknown };
  // deno-lint-ignore no-explicit-any -- events are read by field in tests
  payload: any;
}

export interface SentryEnvelope {
  header: Record<string, unknown>;
  items: SentryEnvelopeItem[];
  /** The request body as received (decompressed), for asserting what was never sent. */
  raw: string;
}

export interface FakeSentry extends AsyncDisposable {
  /** `http://<public key>@127.0.0.1:<port>/<project>` */
  dsn: string;
  envelopes: SentryEnvelope[];
  /** Every `event` item received, in order. */
  events(): SentryEnvelopeItem["payload"][];
  failNext: { status: number; retryAfter?: number }[];
}

export function startFakeSentry({ project = "42", publicKey = "fakepublickey" } = {}): FakeSentry {
  const envelopes: SentryEnvelope[] = [];
  const failNext: FakeSentry["failNext"] = [];
  const server = Deno.serve({ port: 0, hostname: "127.0.0.1", onListen: () => {} }, async (req) => {
    const url = new URL(req.url);
    if (req.method !== "POST" || url.pathname !== `/api/${project}/envelope/`) {
      return new Response("not found", { status: 404 });
    }
    const auth = req.headers.get("x-sentry-auth") ?? "";
    const key = auth.match(/sentry_key=([^,\s]+)/)?.[1] ?? url.searchParams.get("sentry_key");
    if (key !== publicKey) return Response.json({ detail: "bad sentry_key" }, { status: 401 });
    const fail = failNext.shift();
    if (fail) {
      return new Response("", {
        status: fail.status,
        headers: fail.retryAfter !== undefined ? { "retry-after": String(fail.retryAfter) } : {},
      });
    }
    let body = new Uint8Array(await req.arrayBuffer());
    if (req.headers.get("content-encoding") === "gzip") body = gunzipSync(Buffer.from(body));
    const raw = new TextDecoder().decode(body);
    envelopes.push(parseEnvelope(raw));
    return Response.json({ id: crypto.randomUUID().replaceAll("-", "") });
  });
  const { port } = server.addr as Deno.NetAddr;
  return {
    dsn: `http://${publicKey}@127.0.0.1:${port}/${project}`,
    envelopes,
    failNext,
    events: () =>
      envelopes.flatMap((e) => e.items).filter((i) => i.header.type === "event").map((i) =>
        i.payload
      ),
    [Symbol.asyncDispose]: () => server.shutdown(),
  };
}

/** Header line, then per item a header line and a payload (by `length` when given, else a line). */
export function parseEnvelope(raw: string): SentryEnvelope {
  const bytes = new TextEncoder().encode(raw);
  const decoder = new TextDecoder();
  let at = 0;
  const line = () => {
    let end = bytes.indexOf(10, at);
    if (end < 0) end = bytes.length;
    const text = decoder.decode(bytes.subarray(at, end));
    at = end + 1;
    return text;
  };
  const header = JSON.parse(line());
  const items: SentryEnvelopeItem[] = [];
  while (at < bytes.length) {
    const h = line();
    if (!h.trim()) continue;
    const itemHeader = JSON.parse(h);
    let payload: string;
    if (typeof itemHeader.length === "number") {
      payload = decoder.decode(bytes.subarray(at, at + itemHeader.length));
      at += itemHeader.length + 1;
    } else payload = line();
    let parsed: unknown = payload;
    try {
      parsed = JSON.parse(payload);
    } catch { /* an attachment */ }
    items.push({ header: itemHeader, payload: parsed });
  }
  return { header, items, raw };
}
