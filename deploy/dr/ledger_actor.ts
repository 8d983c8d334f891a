/**
 * The drill's own actor: every entry it records is actor state, a pending reminder a day ahead
 * and an outbox event, all committed in one turn. After a restore, the entries written up to the
 * recovery point must all be there with their reminder and event, and none written after it.
 */
import { z } from "zod";
import { defineActor } from "../../runtime/mod.ts";

export const DRILL_EVENT = "drill.recorded";

export const drillLedger = defineActor({
  type: "drill_ledger",
  state: z.object({ entries: z.array(z.string()) }),
  initial: () => ({ entries: [] as string[] }),
  handlers: (h) => ({
    record: h(z.object({ tag: z.string() }), (ctx, m) => {
      ctx.state.entries.push(m.tag);
      ctx.remind(`due:${m.tag}`, { after: 86_400_000 }, { kind: "due", data: { tag: m.tag } });
      ctx.emit(DRILL_EVENT, { tag: m.tag });
      return ctx.state.entries.length;
    }),
    get: h(z.null().optional(), (ctx) => ctx.state.entries),
    due: h(z.object({ tag: z.string() }), (ctx, m) => {
      ctx.state.entries.push(`fired:${m.tag}`);
    }),
  }),
});
