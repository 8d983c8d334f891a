/**
 * Error tracking against a loopback Sentry ingest: a turn the runtime gives up on reaches Sentry
 * with its actor, creator and trace id and nothing personal; the turn's span records the
 * exception; an unhandled error of the process is reported; log lines carry trace ids.
 */
import assert from "node:assert/strict";
import { trace } from "@opentelemetry/api";
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
} from "@opentelemetry/sdk-trace-base";
import { z } from "zod";
import { ActorSystem, defineActor, jsonLogger } from "../runtime/mod.ts";
import { startErrorReporting, tracedLogger } from "../app/errors/reporting.ts";
import { scrubText } from "../app/errors/scrub.ts";
import { startFakeSentry } from "./fakes/sentry.ts";
import { eventually, testDb, testNats } from "./harness.ts";

const PRIVATE = "I keep waking up at 3 am and feel awful";
const EMAIL = "ada.lovelace@example.com";
const BOT_TOKEN = "7000000001:AAFakeTelegramTokenForCoachdTestsXYZ";

const fragile = defineActor({
  type: "fragile",
  state: z.object({ n: z.number() }),
  initial: () => ({ n: 0 }),
  handlers: (h) => ({
    refuse: h(z.string(), (_ctx, text) => {
      throw new RangeError(`cannot handle "${text}" from ${EMAIL} with ${BOT_TOKEN}`);
    }),
  }),
});

Deno.test("error tracking - a failed turn reaches Sentry with actor, creator and trace id, scrubbed; its span records the exception", async () => {
  const exporter = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
  trace.setGlobalTracerProvider(provider);
  await using sentry = startFakeSentry();
  await using db = await testDb();
  await using nats = await testNats();
  await using reporting = startErrorReporting({ dsn: sentry.dsn, environment: "test", node: "n1" });
  const lines: Record<string, unknown>[] = [];
  const log = tracedLogger(jsonLogger("error", {}, (l) => lines.push(JSON.parse(l))), reporting);
  try {
    await using system = await ActorSystem.start({
      pool: db.pool,
      nc: nats.nc,
      actors: [fragile],
      nodeId: "n1",
      prefix: nats.prefix,
      partitions: 2,
      maxDeliver: 2,
      log,
    });
    const creatorId = crypto.randomUUID();
    const actorId = `${creatorId}:${crypto.randomUUID()}`;
    await system.ref(fragile, actorId).tell("refuse", PRIVATE);

    const failed = await eventually(() => lines.find((l) => l.msg === "turn failed"), {
      timeoutMs: 15_000,
      what: "the failed turn logged",
    });
    assert.equal(failed.level, "error");
    const traceId = failed.trace_id as string;
    assert.match(traceId, /^[0-9a-f]{32}$/);
    assert.ok(!/^0+$/.test(traceId));

    await reporting.flush(5000);
    const event = await eventually(
      () => sentry.events().find((e) => e.tags?.actor_type === "fragile"),
      { what: "the Sentry event" },
    );
    assert.equal(event.tags.creator_id, creatorId);
    assert.equal(event.tags.actor, `fragile/${actorId}`);
    assert.equal(event.tags.trace_id, traceId);
    assert.equal(event.contexts.trace.trace_id, traceId);
    assert.equal(event.tags.node, "n1");
    assert.equal(event.environment, "test");
    assert.equal(event.exception.values[0].type, "RangeError");
    assert.match(event.exception.values[0].value, /cannot handle "\[text\]" from \[email\]/);
    // Nothing personal or secret anywhere in what was sent.
    const sent = sentry.envelopes.map((e) => e.raw).join("\n");
    for (const secret of [PRIVATE, "3 am", EMAIL, BOT_TOKEN]) {
      assert.ok(!sent.includes(secret), `${secret} was sent to Sentry`);
    }

    // The turn's span ended in error and carries the exception.
    const span = await eventually(
      () => exporter.getFinishedSpans().find((s) => s.name === "turn fragile.refuse"),
      { what: "the turn's span" },
    );
    assert.equal(span.spanContext().traceId, traceId);
    assert.equal(span.status.code, 2);
    const ex = span.events.find((e) => e.name === "exception");
    assert.equal(ex?.attributes?.["exception.type"], "RangeError");
  } finally {
    trace.disable();
    await provider.shutdown();
  }
});

Deno.test("error tracking - an unhandled error of the process is reported, scrubbed", async () => {
  await using sentry = startFakeSentry();
  const script = `
    import { startErrorReporting } from "${new URL("../app/errors/reporting.ts", import.meta.url)}";
    startErrorReporting({ dsn: ${JSON.stringify(sentry.dsn)} });
    setTimeout(() => { throw new Error("crash while mailing ${EMAIL}"); }, 10);
  `;
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["eval", "--ext=ts", script],
    stdout: "null",
    stderr: "piped",
  }).output();
  assert.equal(out.success, false, "the process still dies of its unhandled error");
  const event = await eventually(() => sentry.events()[0], { what: "the crash event" });
  assert.equal(event.exception.values[0].value, "crash while mailing [email]");
  assert.equal(event.exception.values[0].mechanism.handled, false);
  assert.ok(!sentry.envelopes.map((e) => e.raw).join().includes(EMAIL));
});

Deno.test("scrubText() removes e-mails, tokens, phone numbers, credentials in URLs and quoted text", () => {
  assert.equal(
    scrubText(
      `from ada@example.com: Bearer abc.def.ghi, postgres://coachd:hunter2@db:5432/x, ` +
        `+44 20 7946 0958, wa 15551234567, said "I have been feeling very low lately"`,
    ),
    `from [email]: Bearer [token], postgres://[credentials]@db:5432/x, [phone], wa [number], ` +
      `said "[text]"`,
  );
  // Pseudonymous ids and short numbers stay readable.
  const id = crypto.randomUUID();
  assert.equal(scrubText(`partition 12 of ${id}`), `partition 12 of ${id}`);
});
