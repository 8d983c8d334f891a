/**
 * Apple Push Notification service over HTTP/2 with a provider token: an ES256 JWT signed with
 * the team's .p8 key (`kid` = key id, `iss` = team id), reused for up to 50 minutes (Apple
 * refuses tokens older than an hour and too-frequent renewals). `POST /3/device/<token>` with
 * `apns-topic` (the app's bundle id). The HTTP client speaks HTTP/2 only, as APNs requires; the
 * base URL and trusted CAs are configurable (a fake in tests).
 * Errors: 410 Unregistered, 400 BadDeviceToken / DeviceTokenNotForTopic are dead tokens; 429
 * and 5xx are retried; 403 ExpiredProviderToken renews the token once.
 */
import { importPKCS8, SignJWT } from "jose";
import {
  type PushMessage,
  PushRejectedError,
  PushRetryableError,
  type PushSender,
  PushTokenInvalidError,
  retryAfterMs,
} from "./sender.ts";

export interface ApnsOptions {
  /** The .p8 signing key (PKCS#8 PEM). */
  privateKey: string;
  keyId: string;
  teamId: string;
  /** The app's bundle id (`apns-topic`). */
  topic: string;
  /** https://api.push.apple.com (production) or https://api.sandbox.push.apple.com. */
  apiUrl?: string;
  /** Extra CA certificates to trust (PEM), for a test server. */
  caCerts?: string[];
}

const DEAD = new Set(["Unregistered", "BadDeviceToken", "DeviceTokenNotForTopic"]);
const TOKEN_MS = 50 * 60_000;

export class ApnsSender implements PushSender, Disposable {
  readonly provider = "apns" as const;
  readonly #client: Deno.HttpClient;
  readonly #apiUrl: string;
  #jwt?: { value: string; at: number };

  constructor(private readonly o: ApnsOptions) {
    this.#apiUrl = (o.apiUrl ?? "https://api.push.apple.com").replace(/\/$/, "");
    this.#client = Deno.createHttpClient({ http1: false, http2: true, caCerts: o.caCerts });
  }

  async send(token: string, m: PushMessage): Promise<{ id: string }> {
    let res = await this.#post(token, m);
    if (res.status === 403) {
      const reason = await reasonOf(res);
      if (reason !== "ExpiredProviderToken") throw new PushRejectedError("apns", 403, reason);
      this.#jwt = undefined;
      res = await this.#post(token, m);
    }
    if (res.status === 200) {
      await res.body?.cancel();
      return { id: res.headers.get("apns-id") ?? "" };
    }
    const reason = await reasonOf(res);
    if (res.status === 410 || (res.status === 400 && DEAD.has(reason))) {
      throw new PushTokenInvalidError("apns", reason);
    }
    if (res.status === 429 || res.status >= 500) {
      throw new PushRetryableError(
        "apns",
        res.status,
        reason,
        retryAfterMs(res.headers.get("retry-after")),
      );
    }
    throw new PushRejectedError("apns", res.status, reason);
  }

  async #post(token: string, m: PushMessage) {
    if (!/^[0-9a-fA-F]{16,200}$/.test(token)) throw new PushTokenInvalidError("apns", "malformed");
    return await fetch(`${this.#apiUrl}/3/device/${token}`, {
      method: "POST",
      client: this.#client,
      headers: {
        authorization: `bearer ${await this.#providerToken()}`,
        "apns-topic": this.o.topic,
        "apns-push-type": "alert",
        "apns-priority": "10",
        "content-type": "application/json",
      },
      body: JSON.stringify({
        aps: { alert: { title: m.title, body: m.body }, sound: "default" },
        ...(m.data ?? {}),
      }),
    });
  }

  async #providerToken(): Promise<string> {
    if (this.#jwt && Date.now() - this.#jwt.at < TOKEN_MS) return this.#jwt.value;
    const key = await importPKCS8(this.o.privateKey, "ES256");
    const value = await new SignJWT({})
      .setProtectedHeader({ alg: "ES256", kid: this.o.keyId })
      .setIssuer(this.o.teamId)
      .setIssuedAt()
      .sign(key);
    this.#jwt = { value, at: Date.now() };
    return value;
  }

  [Symbol.dispose](): void {
    this.#client.close();
  }
}

async function reasonOf(res: Response): Promise<string> {
  const body = await res.json().catch(() => ({})) as { reason?: string };
  return body.reason ?? res.statusText;
}
