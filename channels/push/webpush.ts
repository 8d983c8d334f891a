/**
 * Web Push (RFC 8030) with VAPID (RFC 8292) for the widget and installed web apps: the
 * `web-push` library encrypts the payload (RFC 8291, aes128gcm) and signs the VAPID header; the
 * request goes out with fetch to the subscription's endpoint (the browser vendor's push service).
 * 404 and 410 mean the subscription is gone; 429 and 5xx are retried.
 */
// @ts-types="@types/web-push"
import webpush from "web-push";
import { Buffer } from "node:buffer";
import { z } from "zod";
import {
  type PushMessage,
  PushRejectedError,
  PushRetryableError,
  type PushSender,
  PushTokenInvalidError,
  retryAfterMs,
} from "./sender.ts";

/** A browser's PushSubscription as JSON (`subscription.toJSON()`). */
export const WebPushSubscription = z.object({
  endpoint: z.url().max(2000),
  keys: z.object({ p256dh: z.string().min(1).max(200), auth: z.string().min(1).max(100) }),
});

export interface VapidOptions {
  /** `mailto:` or https URL the push service may contact. */
  subject: string;
  publicKey: string;
  privateKey: string;
  /** Seconds the push service keeps an undelivered message (default one day). */
  ttlSeconds?: number;
}

export class WebPushSender implements PushSender {
  readonly provider = "webpush" as const;
  constructor(private readonly vapid: VapidOptions) {}

  async send(token: string, m: PushMessage): Promise<{ id: string }> {
    const parsed = WebPushSubscription.safeParse(JSON.parse(token));
    if (!parsed.success) throw new PushTokenInvalidError("webpush", "malformed subscription");
    const details = webpush.generateRequestDetails(
      parsed.data,
      JSON.stringify({ title: m.title, body: m.body, data: m.data ?? {} }),
      {
        vapidDetails: {
          subject: this.vapid.subject,
          publicKey: this.vapid.publicKey,
          privateKey: this.vapid.privateKey,
        },
        TTL: this.vapid.ttlSeconds ?? 86_400,
        contentEncoding: "aes128gcm",
      },
    );
    const headers = Object.fromEntries(
      Object.entries(details.headers).map(([k, v]) => [k, String(v)]),
    );
    const res = await fetch(details.endpoint, {
      method: details.method,
      headers,
      body: details.body ? new Uint8Array(Buffer.from(details.body)) : undefined,
    });
    const text = await res.text();
    if (res.status >= 200 && res.status < 300) {
      return { id: res.headers.get("location") ?? "" };
    }
    if (res.status === 404 || res.status === 410) {
      throw new PushTokenInvalidError("webpush", `${res.status} ${text.slice(0, 100)}`.trim());
    }
    if (res.status === 429 || res.status >= 500) {
      throw new PushRetryableError(
        "webpush",
        res.status,
        text.slice(0, 200),
        retryAfterMs(res.headers.get("retry-after")),
      );
    }
    throw new PushRejectedError("webpush", res.status, text.slice(0, 200));
  }
}
