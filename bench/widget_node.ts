// deno-lint-ignore-file no-console -- entry point: talks to the terminal
/**
 * One node for `deno task bench widget`, as main.ts runs it (configuration from the environment,
 * the channels feature) plus the benchmark's actor, which stands in for the coach.
 */
import { loadConfig } from "../app/config.ts";
import { startNode } from "../app/node.ts";
import { channelsExtension } from "../app/channels.ts";
import { jsonLogger } from "../runtime/mod.ts";
import { fanoutBenchActor } from "./widget_actor.ts";

const config = loadConfig(Deno.env.toObject());
const log = jsonLogger(config.LOG_LEVEL, { app: "coachd-bench" });
const node = await startNode({
  config,
  databaseUrl: config.DATABASE_URL!,
  natsUrl: config.NATS_URL!,
  log,
  actors: [fanoutBenchActor],
  extensions: [channelsExtension()],
  poolMax: 30,
});
console.log("ready");
Deno.addSignalListener("SIGTERM", () => node.stop().then(() => Deno.exit(0)));
