import { z } from "zod";
import { defineActor, TerminalError } from "../mod.ts";

/** Test actor: a counter that records every message id it applied, in order. */
export const counter = defineActor({
  type: "counter",
  state: z.object({ n: z.number(), seen: z.array(z.string()), log: z.array(z.number()) }),
  initial: () => ({ n: 0, seen: [] as string[], log: [] as number[] }),
  handlers: (h) => ({
    add: h(z.object({ by: z.number(), tag: z.number().optional() }), (ctx, m) => {
      ctx.state.n += m.by;
      ctx.state.seen.push(ctx.messageId);
      if (m.tag !== undefined) ctx.state.log.push(m.tag);
      return ctx.state.n;
    }),
    get: h(z.null().optional(), (ctx) => ctx.state),
    slow: h(z.number(), async (ctx, ms) => {
      await new Promise((r) => setTimeout(r, ms));
      ctx.state.n += 1;
      return ctx.state.n;
    }),
    poison: h(z.string(), (_ctx, why) => {
      throw new Error(`poison: ${why}`);
    }),
    refuse: h(z.string(), (_ctx, why) => {
      throw new TerminalError(`refused: ${why}`);
    }),
    forward: h(z.object({ to: z.string(), by: z.number() }), (ctx, m) => {
      ctx.tell({ type: "counter", id: m.to }, "add", { by: m.by });
      ctx.emit("counter.forwarded", { to: m.to });
      return "sent";
    }),
    askOther: h(z.object({ to: z.string() }), async (ctx, m) => {
      return await ctx.ask({ type: "counter", id: m.to }, "askOther", { to: ctx.self.id }, {
        timeoutMs: 5000,
      });
    }),
    breakState: h(z.null().optional(), (ctx) => {
      (ctx.state as { n: unknown }).n = "not a number";
    }),
    remindMe: h(
      z.object({ name: z.string(), after: z.number(), every: z.number().optional() }),
      (ctx, m) => {
        ctx.remind(m.name, { after: m.after, every: m.every }, {
          kind: "tick",
          data: { name: m.name },
        });
      },
    ),
    cancel: h(z.string(), (ctx, name) => ctx.cancelReminder(name)),
    erase: h(z.null().optional(), (ctx) => ctx.erase()),
    tick: h(z.object({ name: z.string() }), (ctx, m) => {
      ctx.state.n += 1;
      ctx.state.seen.push(`tick:${m.name}:${ctx.reminder?.dueAt}`);
    }),
    timer: h(z.number(), (ctx, ms) => ctx.setTimer("t", ms, "add", { by: 100 })),
  }),
});
