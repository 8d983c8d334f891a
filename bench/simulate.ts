// deno-lint-ignore-file no-console -- entry point: talks to the terminal
/**
 * `deno task simulate -- --users N --days D [--seed S] [--start ISO] [--step-minutes M]`: real
 * UserActors on the real Postgres and NATS, driven by the runtime's ManualClock over D simulated
 * days (bench/simulate/). Prints a report and, as its last line, one JSON object; exits 1 when
 * the independent checker found any violation.
 */
import { parseArgs } from "node:util";
import { runSimulation } from "./simulate/run.ts";

const { values } = parseArgs({
  args: Deno.args.filter((a) => a !== "--"),
  options: {
    users: { type: "string", default: "100" },
    days: { type: "string", default: "7" },
    seed: { type: "string", default: "1" },
    start: { type: "string" },
    "step-minutes": { type: "string", default: "15" },
    quiet: { type: "boolean", default: false },
  },
});
const int = (name: string, v: string | undefined, min: number) => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < min) {
    console.error(`--${name} must be an integer of at least ${min}, got ${v}`);
    Deno.exit(2);
  }
  return n;
};
const result = await runSimulation({
  users: int("users", values.users, 1),
  days: int("days", values.days, 1),
  seed: int("seed", values.seed, 0),
  start: values.start,
  stepMinutes: int("step-minutes", values["step-minutes"], 1),
  log: values.quiet ? undefined : (line) => console.error(line),
});
const total = Object.values(result.violations).reduce((a, b) => a + b, 0);
console.log(
  `Simulation: ${result.users} people, ${result.days} days from ${result.start} (seed ${result.seed})`,
);
console.log(`  took ${result.elapsed_s} s; ${result.messages_in} messages from people`);
console.log(
  `  nudges sent ${result.nudges_sent} (arrived at the fakes: ${result.arrived_at_fakes}; templates ${result.templates})`,
);
console.log(`  by trigger: ${JSON.stringify(result.by_trigger)}`);
console.log(
  `  skipped: ${JSON.stringify(result.skipped)}; deferred: ${JSON.stringify(result.deferred)}`,
);
console.log(
  `  replied within 24 h: ${result.replied_24h}; opted out after a nudge: ${result.opted_out_after}`,
);
console.log(`  in the person's active hours: ${(result.in_active_hours * 100).toFixed(1)} %`);
console.log(`  badges: ${result.badges_note}`);
console.log(`  violations: ${JSON.stringify(result.violations)}`);
for (const e of result.violation_examples) console.log(`    ${e}`);
const { violation_examples: _, ...json } = result;
console.log(JSON.stringify(json));
if (total > 0) Deno.exit(1);
