/**
 * A fake of the Apple Push Notification service's HTTP/2 provider API on loopback: TLS with a
 * throwaway CA (made with openssl; the client trusts `fake.caCert`), HTTP/2 (Deno.serve with TLS
 * negotiates h2), token-based authentication (an ES256 JWT signed with the team's key, checked
 * for `kid`, `iss`, and an `iat` under an hour old), `POST /3/device/<token>` with `apns-topic`.
 * Answers as APNs does: 200 with `apns-id`; JSON `{reason}` errors: 400 BadDeviceToken /
 * MissingTopic / DeviceTokenNotForTopic / PayloadEmpty, 403 MissingProviderToken /
 * InvalidProviderToken / ExpiredProviderToken, 405 MethodNotAllowed, 410 Unregistered (with a
 * timestamp), 413 PayloadTooLarge, 429 TooManyRequests, 503 ServiceUnavailable.
 */
import { decodeProtectedHeader, exportPKCS8, generateKeyPair, jwtVerify } from "jose";

export type ApnsFailure =
  | { kind: "too_many"; retryAfter?: number }
  | { kind: "unavailable" }
  | { kind: "expired_token" };

export interface ApnsDelivery {
  token: string;
  topic: string;
  pushType: string | null;
  payload: { aps?: { alert?: { title?: string; body?: string } } } & Record<string, unknown>;
  apnsId: string;
  httpVersion: "2";
}

export interface FakeApns extends AsyncDisposable {
  /** `https://127.0.0.1:<port>` */
  url: string;
  /** The CA that signed the server's certificate (PEM): trust it in the client. */
  caCert: string;
  caFile: string;
  /** The team's signing key (a .p8 as PEM) and its ids. */
  key: { privateKey: string; keyId: string; teamId: string };
  topic: string;
  /** A device token (hex) of an installed app. */
  addDevice(): string;
  /** The app was removed: 410 Unregistered from now on. */
  unregister(token: string): void;
  failNext(failure: ApnsFailure, count?: number): void;
  delivered: ApnsDelivery[];
  requests: Array<{ path: string; status: number; reason?: string }>;
}

async function run(cmd: string, args: string[], cwd: string) {
  const out = await new Deno.Command(cmd, { args, cwd, stdout: "null", stderr: "piped" }).output();
  if (!out.success) {
    throw new Error(`${cmd} ${args[0]} failed: ${new TextDecoder().decode(out.stderr)}`);
  }
}

/** A CA and a leaf certificate for 127.0.0.1, in a temporary folder. */
async function makeCertificates(dir: string) {
  const ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"];
  await run("openssl", [
    "req",
    "-x509",
    ...ec,
    "-keyout",
    "ca.key",
    "-out",
    "ca.pem",
    "-days",
    "2",
    "-subj",
    "/CN=fake-apns-ca",
  ], dir);
  await run("openssl", [
    "req",
    ...ec,
    "-keyout",
    "leaf.key",
    "-out",
    "leaf.csr",
    "-subj",
    "/CN=127.0.0.1",
  ], dir);
  await Deno.writeTextFile(
    `${dir}/ext`,
    "subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\n",
  );
  await run("openssl", [
    "x509",
    "-req",
    "-in",
    "leaf.csr",
    "-CA",
    "ca.pem",
    "-CAkey",
    "ca.key",
    "-CAcreateserial",
    "-out",
    "leaf.pem",
    "-days",
    "2",
    "-extfile",
    "ext",
  ], dir);
  return {
    ca: await Deno.readTextFile(`${dir}/ca.pem`),
    cert: await Deno.readTextFile(`${dir}/leaf.pem`),
    key: await Deno.readTextFile(`${dir}/leaf.key`),
  };
}

export async function startFakeApns(
  { topic = "dev.coachd.app", teamId = "TEAM123456", keyId = "KEY1234567" } = {},
): Promise<FakeApns> {
  const dir = await Deno.makeTempDir({ prefix: "fake-apns-" });
  const tls = await makeCertificates(dir);
  const { publicKey, privateKey } = await generateKeyPair("ES256", { extractable: true });
  const devices = new Map<string, "active" | "unregistered">();
  const failures: ApnsFailure[] = [];
  const delivered: ApnsDelivery[] = [];
  const requests: FakeApns["requests"] = [];
  const unregisteredAt = new Map<string, number>();

  const reason = (status: number, why: string, extra: Record<string, unknown> = {}, headers = {}) =>
    new Response(JSON.stringify({ reason: why, ...extra }), {
      status,
      headers: { "content-type": "application/json", ...headers },
    });

  async function handle(req: Request): Promise<Response> {
    const path = new URL(req.url).pathname;
    const m = path.match(/^\/3\/device\/([^/]*)$/);
    if (!m) return reason(404, "BadPath");
    if (req.method !== "POST") return reason(405, "MethodNotAllowed");
    const auth = req.headers.get("authorization")?.match(/^bearer (.+)$/i)?.[1];
    if (!auth) return reason(403, "MissingProviderToken");
    try {
      const header = decodeProtectedHeader(auth);
      if (header.alg !== "ES256" || header.kid !== keyId) {
        return reason(403, "InvalidProviderToken");
      }
      const { payload } = await jwtVerify(auth, publicKey, {
        issuer: teamId,
        algorithms: ["ES256"],
      });
      if (typeof payload.iat !== "number") return reason(403, "InvalidProviderToken");
      if (Date.now() / 1000 - payload.iat > 3600) return reason(403, "ExpiredProviderToken");
    } catch {
      return reason(403, "InvalidProviderToken");
    }
    const failure = failures.shift();
    if (failure?.kind === "expired_token") return reason(403, "ExpiredProviderToken");
    if (failure?.kind === "too_many") {
      return reason(
        429,
        "TooManyRequests",
        {},
        failure.retryAfter !== undefined ? { "retry-after": String(failure.retryAfter) } : {},
      );
    }
    if (failure?.kind === "unavailable") return reason(503, "ServiceUnavailable");
    const t = req.headers.get("apns-topic");
    if (!t) return reason(400, "MissingTopic");
    const token = m[1]!;
    if (!/^[0-9a-f]{64}$/i.test(token)) return reason(400, "BadDeviceToken");
    const raw = await req.text();
    if (!raw) return reason(400, "PayloadEmpty");
    if (new TextEncoder().encode(raw).length > 4096) return reason(413, "PayloadTooLarge");
    let payload: ApnsDelivery["payload"];
    try {
      payload = JSON.parse(raw);
    } catch {
      return reason(400, "BadPayload");
    }
    const state = devices.get(token.toLowerCase());
    if (!state) return reason(400, "BadDeviceToken");
    if (t !== topic) return reason(400, "DeviceTokenNotForTopic");
    if (state === "unregistered") {
      return reason(410, "Unregistered", { timestamp: unregisteredAt.get(token.toLowerCase()) });
    }
    const apnsId = req.headers.get("apns-id") ?? crypto.randomUUID().toUpperCase();
    delivered.push({
      token,
      topic: t,
      pushType: req.headers.get("apns-push-type"),
      payload,
      apnsId,
      httpVersion: "2",
    });
    return new Response(null, { status: 200, headers: { "apns-id": apnsId } });
  }

  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, cert: tls.cert, key: tls.key, onListen: () => {} },
    async (req) => {
      const res = await handle(req);
      const body = res.status === 200 ? undefined : await res.clone().json().catch(() => undefined);
      requests.push({ path: new URL(req.url).pathname, status: res.status, reason: body?.reason });
      return res;
    },
  );
  return {
    url: `https://127.0.0.1:${server.addr.port}`,
    caCert: tls.ca,
    caFile: `${dir}/ca.pem`,
    key: { privateKey: await exportPKCS8(privateKey), keyId, teamId },
    topic,
    addDevice() {
      const bytes = crypto.getRandomValues(new Uint8Array(32));
      const t = [...bytes].map((b) => b.toString(16).padStart(2, "0")).join("");
      devices.set(t, "active");
      return t;
    },
    unregister(t) {
      devices.set(t.toLowerCase(), "unregistered");
      unregisteredAt.set(t.toLowerCase(), Date.now());
    },
    failNext(failure, count = 1) {
      for (let i = 0; i < count; i++) failures.push(failure);
    },
    delivered,
    requests,
    async [Symbol.asyncDispose]() {
      await server.shutdown();
      await Deno.remove(dir, { recursive: true });
    },
  };
}
