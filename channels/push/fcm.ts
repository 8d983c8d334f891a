/**
 * Firebase Cloud Messaging, HTTP v1: a service account signs a JWT (RS256) that Google's OAuth2
 * token endpoint trades for an access token (cached until shortly before it expires), then
 * `POST /v1/projects/{project}/messages:send`. Base URLs are configurable (a fake in tests).
 * Errors follow FCM's REST error codes: UNREGISTERED (404) and an invalid registration token
 * (400 INVALID_ARGUMENT with an FcmError) are dead tokens; 429 and 5xx are retried.
 */
import { importPKCS8, SignJWT } from "jose";
import { z } from "zod";
import {
  type PushMessage,
  PushRejectedError,
  PushRetryableError,
  type PushSender,
  PushTokenInvalidError,
  retryAfterMs,
} from "./sender.ts";

/** The fields of a service account key file FCM needs. */
export const ServiceAccount = z.object({
  project_id: z.string().min(1),
  client_email: z.string().min(1),
  private_key: z.string().min(1),
  token_uri: z.url().default("https://oauth2.googleapis.com/token"),
});
export type ServiceAccount = z.infer<typeof ServiceAccount>;

const SCOPE = "https://www.googleapis.com/auth/firebase.messaging";

interface FcmErrorBody {
  error?: {
    code?: number;
    message?: string;
    status?: string;
    details?: Array<{ "@type"?: string; errorCode?: string }>;
  };
}

export class FcmSender implements PushSender {
  readonly provider = "fcm" as const;
  #token?: { value: Promise<string>; until: number };
  readonly #apiUrl: string;
  readonly #tokenUrl: string;

  constructor(
    private readonly account: ServiceAccount,
    { apiUrl = "https://fcm.googleapis.com", tokenUrl }: { apiUrl?: string; tokenUrl?: string } =
      {},
  ) {
    this.#apiUrl = apiUrl.replace(/\/$/, "");
    this.#tokenUrl = tokenUrl ?? account.token_uri;
  }

  async send(token: string, message: PushMessage): Promise<{ id: string }> {
    let res = await this.#post(token, message, await this.#accessToken());
    // An access token revoked early: get a fresh one, once.
    if (res.status === 401) {
      await res.body?.cancel();
      this.#token = undefined;
      res = await this.#post(token, message, await this.#accessToken());
    }
    if (res.ok) return { id: ((await res.json()) as { name: string }).name };
    const body = await res.json().catch(() => ({})) as FcmErrorBody;
    const codes = (body.error?.details ?? []).map((d) => d.errorCode).filter(Boolean);
    const what = body.error?.message ?? res.statusText;
    if (codes.includes("UNREGISTERED") || res.status === 404) {
      throw new PushTokenInvalidError("fcm", "UNREGISTERED");
    }
    if (res.status === 400 && codes.includes("INVALID_ARGUMENT") && /token/i.test(what)) {
      throw new PushTokenInvalidError("fcm", "INVALID_ARGUMENT");
    }
    if (res.status === 429 || res.status >= 500) {
      throw new PushRetryableError(
        "fcm",
        res.status,
        codes[0] ?? what,
        retryAfterMs(res.headers.get("retry-after")),
      );
    }
    throw new PushRejectedError("fcm", res.status, codes[0] ?? what);
  }

  #post(token: string, m: PushMessage, accessToken: string) {
    return fetch(
      `${this.#apiUrl}/v1/projects/${encodeURIComponent(this.account.project_id)}/messages:send`,
      {
        method: "POST",
        headers: { authorization: `Bearer ${accessToken}`, "content-type": "application/json" },
        body: JSON.stringify({
          message: { token, notification: { title: m.title, body: m.body }, data: m.data ?? {} },
        }),
      },
    );
  }

  /** One token for every send until shortly before it expires; concurrent sends share it. */
  #accessToken(): Promise<string> {
    if (this.#token && Date.now() < this.#token.until) return this.#token.value;
    const value = this.#fetchToken();
    // Until the answer says how long it lives, it is shared for a minute at most.
    this.#token = { value, until: Date.now() + 60_000 };
    value.then(
      (_v) => {},
      () => (this.#token = undefined),
    );
    return value;
  }

  async #fetchToken(): Promise<string> {
    const key = await importPKCS8(this.account.private_key, "RS256");
    const assertion = await new SignJWT({ scope: SCOPE })
      .setProtectedHeader({ alg: "RS256", typ: "JWT" })
      .setIssuer(this.account.client_email)
      .setAudience(this.#tokenUrl)
      .setIssuedAt()
      .setExpirationTime("1h")
      .sign(key);
    const res = await fetch(this.#tokenUrl, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({
        grant_type: "urn:ietf:params:oauth:grant-type:jwt-bearer",
        assertion,
      }),
    });
    if (!res.ok) {
      const text = await res.text();
      const status = res.status;
      if (status === 429 || status >= 500) {
        throw new PushRetryableError("fcm", status, `token endpoint: ${text.slice(0, 200)}`);
      }
      throw new PushRejectedError("fcm", status, `token endpoint: ${text.slice(0, 200)}`);
    }
    const t = await res.json() as { access_token: string; expires_in: number };
    const until = Date.now() + (t.expires_in - 60) * 1000;
    if (this.#token) this.#token.until = until;
    return t.access_token;
  }
}
