import { type Clock, realClock } from "../../runtime/mod.ts";
import { type EmailProvider, EmailSendError, type OutgoingEmail } from "./provider.ts";

export interface SendGridOptions {
  apiKey: string;
  /** `https://api.sendgrid.com` (a loopback fake in tests). */
  baseUrl?: string;
  /** Tries of one message on 429 and 5xx (default 3), waiting `Retry-After` or growing delays. */
  attempts?: number;
  clock?: Clock;
  /** Longest wait between tries, whatever Retry-After says (default 10 s). */
  maxWaitMs?: number;
}

/** Sends through SendGrid's v3 Mail Send API (`POST /v3/mail/send`, 202 on acceptance). */
export function sendGridProvider(o: SendGridOptions): EmailProvider {
  const base = (o.baseUrl ?? "https://api.sendgrid.com").replace(/\/$/, "");
  const attempts = o.attempts ?? 3;
  const clock = o.clock ?? realClock;
  const maxWait = o.maxWaitMs ?? 10_000;
  const sleep = (ms: number) => new Promise<void>((r) => clock.setTimeout(r, ms));
  return {
    name: "sendgrid",
    async send(m: OutgoingEmail) {
      const body = JSON.stringify({
        personalizations: [{ to: [{ email: m.to }] }],
        from: { email: m.from },
        subject: m.subject,
        content: [{ type: "text/plain", value: m.text }, { type: "text/html", value: m.html }],
      });
      for (let attempt = 1;; attempt++) {
        let res: Response;
        try {
          res = await fetch(`${base}/v3/mail/send`, {
            method: "POST",
            headers: { authorization: `Bearer ${o.apiKey}`, "content-type": "application/json" },
            body,
            signal: AbortSignal.timeout(15_000),
          });
        } catch (err) {
          if (attempt >= attempts) {
            throw new EmailSendError(`SendGrid unreachable: ${String(err)}`, false, undefined, {
              cause: err,
            });
          }
          await sleep(Math.min(maxWait, 500 * 2 ** attempt));
          continue;
        }
        if (res.status === 202 || res.status === 200) {
          await res.body?.cancel();
          return { messageId: res.headers.get("x-message-id") ?? undefined };
        }
        const detail = await res.text().catch(() => "");
        const retryable = res.status === 429 || res.status >= 500;
        if (!retryable || attempt >= attempts) {
          throw new EmailSendError(
            `SendGrid answered ${res.status}: ${firstError(detail)}`,
            !retryable,
            res.status,
          );
        }
        const after = Number(res.headers.get("retry-after"));
        await sleep(Math.min(maxWait, after > 0 ? after * 1000 : 500 * 2 ** attempt));
      }
    },
  };
}

/** SendGrid's errors are `{"errors":[{"message":...,"field":...}]}`. */
function firstError(body: string): string {
  try {
    const e = JSON.parse(body)?.errors?.[0];
    if (e?.message) return `${e.message}${e.field ? ` (${e.field})` : ""}`.slice(0, 300);
  } catch { /* not JSON */ }
  return body.slice(0, 300);
}
