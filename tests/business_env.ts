/**
 * A node with the business features for end-to-end tests: its own schema and NATS prefix, the
 * Stripe fake as its Stripe API, a real SMTP server on loopback as its e-mail provider, a manual
 * clock for billing (grace periods) and webhook schedules, and helpers that act as a creator.
 */
// @ts-types="@types/smtp-server"
import { SMTPServer } from "smtp-server";
import { encodeBase64 } from "../runtime/base64.ts";
import { loadConfig } from "../app/config.ts";
import { type NodeHandle, startNode } from "../app/node.ts";
import { channelsExtension } from "../app/channels.ts";
import { businessExtension, type BusinessHandle } from "../app/business.ts";
import { jsonLogger, ManualClock } from "../runtime/mod.ts";
import { WebhookDispatcher } from "../business/mod.ts";
import {
  eventually,
  freePort,
  NATS_URL,
  type TestDb,
  testDb,
  type TestNats,
  testNats,
} from "./harness.ts";
import { type FakeStripe, startFakeStripe } from "./fakes/stripe.ts";

export interface ReceivedMail {
  from: string;
  to: string[];
  /** Headers and body, quoted-printable soft breaks and escapes decoded. */
  text: string;
}

export interface SmtpInbox extends AsyncDisposable {
  url: string;
  mails: ReceivedMail[];
  /** Recipients matching this are refused with 550 (a bounce). */
  reject?: RegExp;
  /** Waits for a mail to `to` whose text matches `pattern`; returns the first capture group. */
  waitFor(to: string, pattern: RegExp): Promise<string>;
}

const decodeQp = (s: string) =>
  s.replace(/=\r?\n/g, "").replace(
    /=([0-9A-F]{2})/g,
    (_, h) => String.fromCharCode(parseInt(h, 16)),
  );

/** A real SMTP server (the `smtp-server` package) on 127.0.0.1 that keeps what it receives. */
export async function startSmtpInbox(): Promise<SmtpInbox> {
  const mails: ReceivedMail[] = [];
  const inbox: SmtpInbox = {
    url: "",
    mails,
    async waitFor(to, pattern) {
      let found = "";
      await eventually(() => {
        for (const m of mails) {
          const hit = m.to.includes(to) && m.text.match(pattern);
          if (hit) {
            found = hit[1] ?? hit[0];
            return true;
          }
        }
        return false;
      }, { timeoutMs: 10_000, what: `mail to ${to} matching ${pattern}` });
      return found;
    },
    [Symbol.asyncDispose]: () => new Promise<void>((r) => server.close(() => r())),
  };
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ["STARTTLS", "AUTH"],
    logger: false,
    onRcptTo(address, _session, cb) {
      if (inbox.reject?.test(address.address)) {
        const err = Object.assign(new Error("No such mailbox here"), { responseCode: 550 });
        return cb(err);
      }
      cb();
    },
    onData(stream, session, cb) {
      const chunks: Uint8Array[] = [];
      stream.on("data", (c: Uint8Array) => chunks.push(c));
      stream.on("end", () => {
        const raw = new TextDecoder().decode(
          new Uint8Array(chunks.flatMap((c) => [...c])),
        );
        mails.push({
          from: session.envelope.mailFrom ? session.envelope.mailFrom.address : "",
          to: session.envelope.rcptTo.map((r) => r.address),
          text: decodeQp(raw),
        });
        cb();
      });
    },
  });
  const port = await new Promise<number>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const addr = server.server.address();
      resolve(typeof addr === "object" && addr ? addr.port : 0);
    });
  });
  inbox.url = `smtp://127.0.0.1:${port}`;
  return inbox;
}

export interface BusinessEnv extends AsyncDisposable {
  db: TestDb;
  nats: TestNats;
  node: NodeHandle;
  stripe: FakeStripe;
  inbox: SmtpInbox;
  clock: ManualClock;
  handle: BusinessHandle;
  /**
   * Moves the manual clock a second past the wall clock: rows queued with Postgres' `now()` are
   * due by then.
   */
  catchUp(): void;
  /** A dispatcher on the manual clock; the test drives it with `deliverDue()`. */
  dispatcher: WebhookDispatcher;
  url: string;
  call(
    method: string,
    path: string,
    o?: { token?: string; body?: unknown; headers?: Record<string, string> },
  ): Promise<{
    status: number;
    headers: Headers;
    // deno-lint-ignore no-explicit-any -- tests read many response shapes
    json: any;
    text: string;
  }>;
  /** Signs up through the verification e-mail; returns the tokens. */
  signup(
    email?: string,
  ): Promise<{ token: string; refreshToken: string; creatorId: string; email: string }>;
}

export const PASSWORD = "correct horse battery staple";

export async function businessEnv(env: Record<string, string> = {}): Promise<BusinessEnv> {
  const stack = new AsyncDisposableStack();
  try {
    const db = stack.use(await testDb());
    const nats = stack.use(await testNats());
    const stripe = stack.use(startFakeStripe());
    const inbox = stack.use(await startSmtpInbox());
    const clock = new ManualClock();
    const port = freePort();
    const url = `http://127.0.0.1:${port}`;
    const config = loadConfig({
      PORT: String(port),
      HOST: "127.0.0.1",
      NODE_ID: "biz",
      NATS_PREFIX: nats.prefix,
      PARTITIONS: "4",
      JWT_SECRET: encodeBase64(crypto.getRandomValues(new Uint8Array(48))),
      SECRETS_KEY: encodeBase64(crypto.getRandomValues(new Uint8Array(32))),
      LOG_LEVEL: "error",
      PUBLIC_URL: url,
      STRIPE_SECRET_KEY: stripe.secretKey,
      STRIPE_WEBHOOK_SECRET: stripe.webhookSecret,
      STRIPE_API_URL: stripe.url,
      STRIPE_PRICE_PRO: "price_pro_monthly",
      STRIPE_PRICE_BUSINESS: "price_business_monthly",
      EMAIL_PROVIDER: "smtp",
      SMTP_URL: inbox.url,
      EMAIL_FROM: "coachd@example.test",
      WEBHOOKS_ALLOW_PRIVATE: "true",
      RATE_LIMIT_PER_IP: "100000",
      ...env,
    });
    const handle: BusinessHandle = {};
    const business = businessExtension({ handle, clock, startDispatcher: false });
    const node = stack.use(
      await startNode({
        config,
        databaseUrl: db.url,
        natsUrl: NATS_URL,
        log: jsonLogger("error"),
        extensions: [business.factory, channelsExtension({ gate: business.gate })],
      }),
    );
    const dispatcher = new WebhookDispatcher({
      pool: db.pool,
      box: handle.business!.box,
      log: jsonLogger("error"),
      mailer: handle.business!.mailer,
      clock,
      allowPrivate: true,
    });
    const call: BusinessEnv["call"] = async (method, path, o = {}) => {
      const res = await fetch(url + path, {
        method,
        headers: {
          ...(o.token ? { authorization: `Bearer ${o.token}` } : {}),
          ...(o.body === undefined || o.body instanceof FormData
            ? {}
            : { "content-type": "application/json" }),
          ...o.headers,
        },
        body: o.body instanceof FormData
          ? o.body
          : o.body === undefined
          ? undefined
          : JSON.stringify(o.body),
      });
      const text = await res.text();
      let json: unknown;
      try {
        json = JSON.parse(text);
      } catch { /* not JSON */ }
      return { status: res.status, headers: res.headers, json, text };
    };
    const signup: BusinessEnv["signup"] = async (
      email = `${crypto.randomUUID().slice(0, 8)}@example.test`,
    ) => {
      const asked = await call("POST", "/v1/auth/signup", {
        body: { email, password: PASSWORD, name: "Coach" },
      });
      if (asked.status !== 202) throw new Error(`signup: ${asked.status} ${asked.text}`);
      const token = await inbox.waitFor(email, /\b(sc_[A-Za-z0-9_-]+)/);
      const done = await call("POST", "/v1/auth/signup/confirm", { body: { token } });
      if (done.status !== 201) throw new Error(`confirm: ${done.status} ${done.text}`);
      return {
        token: done.json.access_token,
        refreshToken: done.json.refresh_token,
        creatorId: done.json.creator_id,
        email,
      };
    };
    const moved = stack.move();
    return {
      db,
      nats,
      node,
      stripe,
      inbox,
      clock,
      handle,
      dispatcher,
      catchUp: () => clock.advance(Math.max(0, Date.now() + 1000 - clock.now())),
      url,
      call,
      signup,
      [Symbol.asyncDispose]: () => moved.disposeAsync(),
    };
  } catch (err) {
    await stack.disposeAsync();
    throw err;
  }
}
