/**
 * A loopback fake of SendGrid's v3 Mail Send API: `POST /v3/mail/send` with
 * `Authorization: Bearer <key>`, answered 202 with `X-Message-Id`, validation errors as
 * `{"errors": [{"message", "field"}]}` (400), 401 for a wrong key, and scripted failures
 * (429 with Retry-After, 5xx).
 */
import { serveLoopback } from "./_http.ts";

export interface SentMail {
  to: string[];
  from: string;
  subject: string;
  text?: string;
  html?: string;
  messageId: string;
}

export interface FakeSendGrid extends AsyncDisposable {
  url: string;
  apiKey: string;
  sent: SentMail[];
  requests: Array<{ status: number }>;
  failNext(f: { status: number; retryAfter?: number }): void;
}

export function startFakeSendGrid({ apiKey = "SG.fake-key" } = {}): FakeSendGrid {
  const sent: SentMail[] = [];
  const requests: Array<{ status: number }> = [];
  const failures: Array<{ status: number; retryAfter?: number }> = [];
  const errors = (status: number, list: Array<{ message: string; field?: string }>) =>
    Response.json({ errors: list.map((e) => ({ ...e, help: null })) }, { status });
  const handle = async (req: Request): Promise<Response> => {
    const path = new URL(req.url).pathname;
    if (req.method !== "POST" || path !== "/v3/mail/send") {
      return errors(404, [{ message: "Not found" }]);
    }
    if (req.headers.get("authorization") !== `Bearer ${apiKey}`) {
      return errors(401, [{
        message: "The provided authorization grant is invalid, expired, or revoked",
      }]);
    }
    const f = failures.shift();
    if (f) {
      const res = errors(f.status, [{
        message: f.status === 429 ? "too many requests" : "internal error",
      }]);
      if (f.retryAfter !== undefined) res.headers.set("retry-after", String(f.retryAfter));
      return res;
    }
    // deno-lint-ignore no-explicit-any -- the request body is open JSON
    let body: any;
    try {
      body = await req.json();
    } catch {
      return errors(400, [{ message: "Bad Request", field: null as unknown as string }]);
    }
    const to = (body?.personalizations ?? []).flatMap((p: { to?: Array<{ email: string }> }) =>
      (p.to ?? []).map((t) => t.email)
    );
    const problems: Array<{ message: string; field: string }> = [];
    if (!to.length) {
      problems.push({
        message: "The personalizations field is required",
        field: "personalizations",
      });
    }
    for (const email of to) {
      if (!/^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(email)) {
        problems.push({
          message: "Does not contain a valid address.",
          field: "personalizations.0.to.0.email",
        });
      }
    }
    if (!body?.from?.email) {
      problems.push({ message: "The from email is required", field: "from.email" });
    }
    if (!body?.subject) problems.push({ message: "The subject is required", field: "subject" });
    if (!Array.isArray(body?.content) || !body.content.length) {
      problems.push({
        message: "The content value must be a string at least one character",
        field: "content",
      });
    }
    if (problems.length) return errors(400, problems);
    const messageId = crypto.randomUUID().replace(/-/g, "").slice(0, 22);
    const part = (type: string) =>
      body.content.find((c: { type: string; value: string }) => c.type === type)?.value;
    sent.push({
      to,
      from: body.from.email,
      subject: body.subject,
      text: part("text/plain"),
      html: part("text/html"),
      messageId,
    });
    return new Response(null, { status: 202, headers: { "x-message-id": messageId } });
  };
  const server = serveLoopback(async (req) => {
    const res = await handle(req);
    requests.push({ status: res.status });
    return res;
  });
  return {
    url: server.url,
    apiKey,
    sent,
    requests,
    failNext: (f) => void failures.push(f),
    [Symbol.asyncDispose]: () => server.close(),
  };
}
