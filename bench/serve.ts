// deno-lint-ignore-file no-console -- entry point: talks to the terminal
/**
 * `deno task bench serve`: one node hosting the benchmark's `bench_user` actor behind a small HTTP
 * adapter. Reads the same environment as `deno task start` (`PORT`, `NODE_ID`, `DATABASE_URL`,
 * `NATS_URL`, `NATS_PREFIX`, ...); nodes started with the same database, NATS and prefix form one
 * cluster.
 */
import { Gauge } from "prom-client";
import { ConfigError, loadConfig } from "../app/config.ts";
import { startInfra, startNode } from "../app/node.ts";
import { jsonLogger } from "../runtime/mod.ts";
import { userActor } from "./user_actor.ts";
import { userRoutes } from "./user_routes.ts";

/** Runs a benchmark node until SIGTERM or SIGINT, then drains it. */
export async function serve(
  env: Record<string, string | undefined>,
  { exitWithParent = env.BENCH_EXIT_WITH_PARENT === "1" } = {},
): Promise<void> {
  let config;
  try {
    config = loadConfig(env);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    console.error(err.message);
    Deno.exit(2);
  }
  const log = jsonLogger(config.LOG_LEVEL, { app: "coachd-bench" });
  await using infra = await startInfra(config, log);
  const node = await startNode({
    config,
    ...infra,
    actors: [userActor],
    log,
    routes: (app, system) => {
      app.route("/user", userRoutes({ system, log }));
      // RSS alone cannot tell live data from garbage and allocator slack: expose the V8 heap too.
      new Gauge({
        name: "coachd_bench_heap_used_bytes",
        help: "V8 heap in use (Deno.memoryUsage().heapUsed)",
        registers: [system.metrics.registry],
        collect() {
          this.set(Deno.memoryUsage().heapUsed);
        },
      });
    },
  });
  // With --v8-flags=--expose-gc, SIGUSR2 collects garbage so memory readings show live data.
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc) Deno.addSignalListener("SIGUSR2", () => gc());
  const done = Promise.withResolvers<void>();
  const drain = (why: string) => {
    log.info("draining", { why });
    node.stop().then(done.resolve, done.reject);
  };
  for (const sig of ["SIGTERM", "SIGINT"] as const) Deno.addSignalListener(sig, () => drain(sig));
  // Started by `deno task bench`: do not outlive it if it dies without stopping us.
  const parent = exitWithParent ? Deno.ppid : undefined;
  const watch = parent === undefined ? undefined : setInterval(() => {
    if (Deno.ppid !== parent) drain("parent process gone");
  }, 1000);
  await done.promise;
  clearInterval(watch);
  log.info("stopped");
}

if (import.meta.main) await serve(Deno.env.toObject());
