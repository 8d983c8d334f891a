/**
 * A fake browser push service (RFC 8030) on loopback, with the receiving browser's side: a
 * subscription is a P-256 key pair and an auth secret, as `PushManager.subscribe()` makes them.
 * `POST /push/<id>` checks what a push service checks — `TTL`, `Content-Encoding: aes128gcm`,
 * VAPID (RFC 8292: `Authorization: vapid t=<ES256 JWT>, k=<key>`, the JWT's `aud` the endpoint's
 * origin, `exp` within 24 h, a `sub`) — and decrypts the payload as the browser would (RFC 8291),
 * so a test reads what the user's service worker would get. 201 Created on success; 404 for an
 * unknown subscription, 410 Gone for an expired one, 400/401/403 for bad requests, 413 over 4 KB,
 * 429 with Retry-After when told.
 */
import { Buffer } from "node:buffer";
import { decodeJwt, importJWK, jwtVerify } from "jose";
import { serveLoopback } from "./_http.ts";

export type WebPushFailure = { kind: "too_many"; retryAfter: number } | { kind: "unavailable" };

export interface WebPushSubscriptionJson {
  endpoint: string;
  keys: { p256dh: string; auth: string };
}

export interface WebPushDelivery {
  subscriptionId: string;
  ttl: number;
  /** The decrypted payload, as the service worker's push event gets it. */
  payload: string;
  vapidSubject: string;
}

export interface FakeWebPush extends AsyncDisposable {
  url: string;
  subscribe(): Promise<WebPushSubscriptionJson>;
  /** The subscription expired (the user revoked permission): 410 Gone from now on. */
  expire(endpoint: string): void;
  failNext(failure: WebPushFailure, count?: number): void;
  delivered: WebPushDelivery[];
  requests: Array<{ path: string; status: number }>;
}

interface Subscriber {
  keys: CryptoKeyPair;
  publicRaw: Uint8Array;
  auth: Uint8Array;
  state: "active" | "expired";
}

const b64u = (b: Uint8Array) => Buffer.from(b).toString("base64url");
const fromB64u = (s: string) => new Uint8Array(Buffer.from(s, "base64url"));
const enc = new TextEncoder();

async function hkdf(salt: Uint8Array, ikm: Uint8Array, info: Uint8Array, bytes: number) {
  const key = await crypto.subtle.importKey("raw", ikm as BufferSource, "HKDF", false, [
    "deriveBits",
  ]);
  return new Uint8Array(
    await crypto.subtle.deriveBits(
      { name: "HKDF", hash: "SHA-256", salt: salt as BufferSource, info: info as BufferSource },
      key,
      bytes * 8,
    ),
  );
}

/** RFC 8291 decryption of a single-record aes128gcm body. */
async function decrypt(sub: Subscriber, body: Uint8Array): Promise<string> {
  const salt = body.slice(0, 16);
  const idLen = body[20]!;
  const senderRaw = body.slice(21, 21 + idLen);
  const ciphertext = body.slice(21 + idLen);
  const sender = await crypto.subtle.importKey(
    "raw",
    senderRaw as BufferSource,
    { name: "ECDH", namedCurve: "P-256" },
    false,
    [],
  );
  const ecdh = new Uint8Array(
    await crypto.subtle.deriveBits({ name: "ECDH", public: sender }, sub.keys.privateKey, 256),
  );
  const keyInfo = new Uint8Array([
    ...enc.encode("WebPush: info\0"),
    ...sub.publicRaw,
    ...senderRaw,
  ]);
  const ikm = await hkdf(sub.auth, ecdh, keyInfo, 32);
  const cek = await hkdf(salt, ikm, enc.encode("Content-Encoding: aes128gcm\0"), 16);
  const nonce = await hkdf(salt, ikm, enc.encode("Content-Encoding: nonce\0"), 12);
  const aes = await crypto.subtle.importKey("raw", cek as BufferSource, "AES-GCM", false, [
    "decrypt",
  ]);
  const plain = new Uint8Array(
    await crypto.subtle.decrypt(
      { name: "AES-GCM", iv: nonce as BufferSource },
      aes,
      ciphertext as BufferSource,
    ),
  );
  // The last record ends with the delimiter 0x02 followed by padding zeros.
  let end = plain.length - 1;
  while (end >= 0 && plain[end] === 0) end--;
  if (plain[end] !== 2) throw new Error("bad padding delimiter");
  return new TextDecoder().decode(plain.slice(0, end));
}

export function startFakeWebPush(): FakeWebPush {
  const subscribers = new Map<string, Subscriber>();
  const failures: WebPushFailure[] = [];
  const delivered: WebPushDelivery[] = [];
  const requests: FakeWebPush["requests"] = [];
  let origin = "";

  const text = (status: number, body: string, headers: Record<string, string> = {}) =>
    new Response(body, { status, headers: { "content-type": "text/plain", ...headers } });

  async function push(req: Request, id: string): Promise<Response> {
    const sub = subscribers.get(id);
    if (!sub) return text(404, "Subscription not found");
    if (sub.state === "expired") return text(410, "push subscription has unsubscribed or expired.");
    const ttl = req.headers.get("ttl");
    if (ttl === null || !/^\d+$/.test(ttl)) return text(400, "Missing TTL header");
    const auth = req.headers.get("authorization")?.match(/^vapid t=([^,\s]+),\s*k=(\S+)$/);
    if (!auth) return text(401, "Missing or malformed VAPID authorization");
    const [, jwt, k] = auth;
    try {
      const raw = fromB64u(k!);
      if (raw.length !== 65 || raw[0] !== 4) throw new Error("k is not an uncompressed P-256 key");
      const key = await importJWK({
        kty: "EC",
        crv: "P-256",
        x: b64u(raw.slice(1, 33)),
        y: b64u(raw.slice(33, 65)),
      }, "ES256");
      const { payload } = await jwtVerify(jwt!, key, { audience: origin, algorithms: ["ES256"] });
      if (typeof payload.exp !== "number" || payload.exp - Date.now() / 1000 > 24 * 3600) {
        return text(403, "VAPID exp must be within 24 hours");
      }
      if (typeof payload.sub !== "string" || !/^(mailto:|https:)/.test(payload.sub)) {
        return text(403, "VAPID sub must be a mailto: or https: URL");
      }
    } catch (err) {
      return text(403, `VAPID verification failed: ${err instanceof Error ? err.message : err}`);
    }
    const failure = failures.shift();
    if (failure?.kind === "too_many") {
      return text(429, "Too many requests", { "retry-after": String(failure.retryAfter) });
    }
    if (failure?.kind === "unavailable") return text(503, "Service unavailable");
    if (req.headers.get("content-encoding") !== "aes128gcm") {
      return text(415, "Content-Encoding must be aes128gcm");
    }
    const body = new Uint8Array(await req.arrayBuffer());
    if (body.length > 4096) return text(413, "Payload too large");
    let payload: string;
    try {
      payload = await decrypt(sub, body);
    } catch (err) {
      return text(400, `Payload decryption failed: ${err instanceof Error ? err.message : err}`);
    }
    delivered.push({
      subscriptionId: id,
      ttl: Number(ttl),
      payload,
      vapidSubject: String(decodeJwt(jwt!).sub),
    });
    return new Response(null, {
      status: 201,
      headers: { location: `${origin}/messages/${crypto.randomUUID()}` },
    });
  }

  const server = serveLoopback(async (req) => {
    const path = new URL(req.url).pathname;
    const m = path.match(/^\/push\/([A-Za-z0-9-]+)$/);
    const res = req.method === "POST" && m ? await push(req, m[1]!) : text(404, "Not found");
    requests.push({ path, status: res.status });
    return res;
  });
  origin = server.url;
  return {
    url: server.url,
    async subscribe() {
      const keys = await crypto.subtle.generateKey({ name: "ECDH", namedCurve: "P-256" }, true, [
        "deriveBits",
      ]) as CryptoKeyPair;
      const publicRaw = new Uint8Array(await crypto.subtle.exportKey("raw", keys.publicKey));
      const auth = crypto.getRandomValues(new Uint8Array(16));
      const id = crypto.randomUUID();
      subscribers.set(id, { keys, publicRaw, auth, state: "active" });
      return {
        endpoint: `${origin}/push/${id}`,
        keys: { p256dh: b64u(publicRaw), auth: b64u(auth) },
      };
    },
    expire(endpoint) {
      const s = subscribers.get(endpoint.split("/").pop()!);
      if (s) s.state = "expired";
    },
    failNext(failure, count = 1) {
      for (let i = 0; i < count; i++) failures.push(failure);
    },
    delivered,
    requests,
    [Symbol.asyncDispose]: () => server.close(),
  };
}
