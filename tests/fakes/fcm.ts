/**
 * A fake of Firebase Cloud Messaging's HTTP v1 API and Google's OAuth2 token endpoint on
 * loopback. It issues a service account (a fresh RSA key) whose `token_uri` points here; the
 * token endpoint checks the signed JWT assertion (RS256, issuer, audience, scope, expiry) as
 * Google does, and `POST /v1/projects/{project}/messages:send` checks the bearer token, the
 * project and the message, and answers with FCM's error shapes: 400 INVALID_ARGUMENT (a bad
 * field, or a token that is not a registration token), 404 NOT_FOUND + FcmError UNREGISTERED
 * (an app uninstalled), 401 UNAUTHENTICATED, 403 PERMISSION_DENIED, 429 RESOURCE_EXHAUSTED +
 * QUOTA_EXCEEDED with Retry-After, 503 UNAVAILABLE.
 */
import { exportPKCS8, exportSPKI, generateKeyPair, importSPKI, jwtVerify } from "jose";
import { serveLoopback } from "./_http.ts";

export type FcmFailure =
  | { kind: "quota"; retryAfter: number }
  | { kind: "unavailable"; retryAfter?: number }
  | { kind: "unauthenticated" };

export interface FcmDelivery {
  token: string;
  notification: { title?: string; body?: string };
  data: Record<string, string>;
  name: string;
}

const FCM_ERROR = "type.googleapis.com/google.firebase.fcm.v1.FcmError";

export interface FakeFcm extends AsyncDisposable {
  url: string;
  projectId: string;
  /** The service account key file's JSON, as the Firebase console downloads it. */
  serviceAccount: Record<string, string>;
  /** A registration token of a device with the app installed. */
  addDevice(): string;
  /** The app was uninstalled: the token answers UNREGISTERED from now on. */
  unregister(token: string): void;
  failNext(failure: FcmFailure, count?: number): void;
  delivered: FcmDelivery[];
  requests: Array<{ path: string; status: number }>;
  tokensIssued: number;
}

export async function startFakeFcm({ projectId = "coachd-test" } = {}): Promise<FakeFcm> {
  const { publicKey, privateKey } = await generateKeyPair("RS256", { extractable: true });
  const clientEmail = `push@${projectId}.iam.gserviceaccount.com`;
  const verifyKey = await importSPKI(await exportSPKI(publicKey), "RS256");
  const devices = new Map<string, "active" | "unregistered">();
  const accessTokens = new Set<string>();
  const failures: FcmFailure[] = [];
  const delivered: FcmDelivery[] = [];
  const requests: FakeFcm["requests"] = [];
  let tokensIssued = 0;
  let url = "";

  const fail = (
    code: number,
    status: string,
    message: string,
    details: unknown[] = [],
    headers = {},
  ) =>
    new Response(JSON.stringify({ error: { code, message, status, details } }), {
      status: code,
      headers: { "content-type": "application/json; charset=UTF-8", ...headers },
    });

  async function token(req: Request): Promise<Response> {
    const form = await req.formData().catch(() => null);
    const grant = form?.get("grant_type");
    const assertion = form?.get("assertion");
    if (grant !== "urn:ietf:params:oauth:grant-type:jwt-bearer" || typeof assertion !== "string") {
      return Response.json({
        error: "unsupported_grant_type",
        error_description: "Invalid grant_type",
      }, {
        status: 400,
      });
    }
    try {
      const { payload } = await jwtVerify(assertion, verifyKey, {
        issuer: clientEmail,
        audience: `${url}/token`,
        algorithms: ["RS256"],
        requiredClaims: ["iat", "exp", "scope"],
      });
      if (payload.exp! - payload.iat! > 3600) throw new Error("exp too far");
      const scopes = String(payload.scope).split(" ");
      if (!scopes.includes("https://www.googleapis.com/auth/firebase.messaging")) {
        return Response.json({ error: "invalid_scope", error_description: "Invalid OAuth scope" }, {
          status: 400,
        });
      }
    } catch (err) {
      return Response.json({
        error: "invalid_grant",
        error_description: `Invalid JWT Signature: ${err instanceof Error ? err.message : err}`,
      }, { status: 400 });
    }
    const value = `ya29.fake-${crypto.randomUUID()}`;
    accessTokens.add(value);
    tokensIssued++;
    return Response.json({ access_token: value, expires_in: 3599, token_type: "Bearer" });
  }

  async function send(req: Request, project: string): Promise<Response> {
    const bearer = req.headers.get("authorization")?.match(/^Bearer (.+)$/)?.[1];
    if (!bearer || !accessTokens.has(bearer)) {
      return fail(
        401,
        "UNAUTHENTICATED",
        "Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential.",
      );
    }
    if (project !== projectId) {
      return fail(
        403,
        "PERMISSION_DENIED",
        `Permission 'cloudmessaging.messages.create' denied on resource '//cloudresourcemanager.googleapis.com/projects/${project}'`,
      );
    }
    const failure = failures.shift();
    if (failure?.kind === "quota") {
      return fail(429, "RESOURCE_EXHAUSTED", "Quota exceeded for quota metric 'Send requests'.", [
        { "@type": FCM_ERROR, errorCode: "QUOTA_EXCEEDED" },
      ], { "retry-after": String(failure.retryAfter) });
    }
    if (failure?.kind === "unavailable") {
      return fail(503, "UNAVAILABLE", "The service is currently unavailable.", [
        { "@type": FCM_ERROR, errorCode: "UNAVAILABLE" },
      ], failure.retryAfter ? { "retry-after": String(failure.retryAfter) } : {});
    }
    if (failure?.kind === "unauthenticated") {
      accessTokens.delete(bearer);
      return fail(401, "UNAUTHENTICATED", "Request had invalid authentication credentials.");
    }
    let body: { message?: Record<string, unknown> };
    try {
      body = await req.json();
    } catch {
      return fail(400, "INVALID_ARGUMENT", "Invalid JSON payload received.");
    }
    const m = body.message;
    if (!m || typeof m !== "object") {
      return fail(400, "INVALID_ARGUMENT", "Request contains an invalid argument.", [
        {
          "@type": "type.googleapis.com/google.rpc.BadRequest",
          fieldViolations: [{ field: "message", description: "required" }],
        },
      ]);
    }
    const data = (m.data ?? {}) as Record<string, unknown>;
    for (const [k, v] of Object.entries(data)) {
      if (typeof v !== "string") {
        return fail(
          400,
          "INVALID_ARGUMENT",
          `Invalid value at 'message.data[0].value' (TYPE_STRING), ${v}`,
          [
            {
              "@type": "type.googleapis.com/google.rpc.BadRequest",
              fieldViolations: [{ field: `message.data[${k}].value` }],
            },
          ],
        );
      }
    }
    const to = m.token;
    if (typeof to !== "string" || !devices.has(to)) {
      return fail(
        400,
        "INVALID_ARGUMENT",
        "The registration token is not a valid FCM registration token",
        [
          { "@type": FCM_ERROR, errorCode: "INVALID_ARGUMENT" },
        ],
      );
    }
    if (devices.get(to) === "unregistered") {
      return fail(404, "NOT_FOUND", "Requested entity was not found.", [
        { "@type": FCM_ERROR, errorCode: "UNREGISTERED" },
      ]);
    }
    const name = `projects/${projectId}/messages/${crypto.randomUUID()}`;
    delivered.push({
      token: to,
      notification: (m.notification ?? {}) as FcmDelivery["notification"],
      data: data as Record<string, string>,
      name,
    });
    return Response.json({ name });
  }

  const server = serveLoopback(async (req) => {
    const path = new URL(req.url).pathname;
    let res: Response;
    const sendPath = path.match(/^\/v1\/projects\/([^/]+)\/messages:send$/);
    if (req.method === "POST" && path === "/token") res = await token(req);
    else if (req.method === "POST" && sendPath) {
      res = await send(req, decodeURIComponent(sendPath[1]!));
    } else res = fail(404, "NOT_FOUND", `The requested URL ${path} was not found on this server.`);
    requests.push({ path, status: res.status });
    return res;
  });
  url = server.url;
  return {
    url,
    projectId,
    serviceAccount: {
      type: "service_account",
      project_id: projectId,
      private_key_id: "fake-key",
      private_key: await exportPKCS8(privateKey),
      client_email: clientEmail,
      token_uri: `${url}/token`,
    },
    addDevice() {
      const t = `fcm-${crypto.randomUUID()}:APA91b${crypto.randomUUID().replaceAll("-", "")}`;
      devices.set(t, "active");
      return t;
    },
    unregister: (t) => void devices.set(t, "unregistered"),
    failNext(failure, count = 1) {
      for (let i = 0; i < count; i++) failures.push(failure);
    },
    delivered,
    requests,
    get tokensIssued() {
      return tokensIssued;
    },
    [Symbol.asyncDispose]: () => server.close(),
  };
}
