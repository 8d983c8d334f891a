// deno-lint-ignore-file no-console -- entry point: talks to the terminal
/**
 * `deno task bench serve`: one node hosting the benchmark's `user` actor behind a small HTTP
 * adapter. Reads the same environment as `deno task start` (`PORT`, `NODE_ID`, `DATABASE_URL`,
 * `NATS_URL`, `NATS_PREFIX`, ...); nodes started with the same database, NATS and prefix form one
 * cluster.
 */
import { ConfigError, loadConfig } from "../app/config.ts";
import { startInfra, startNode } from "../app/node.ts";
import { jsonLogger } from "../runtime/mod.ts";
import { userActor } from "./user_actor.ts";
import { userRoutes } from "./user_routes.ts";

/** Runs a benchmark node until SIGTERM or SIGINT, then drains it. */
export async function serve(env: Record<string, string | undefined>): Promise<void> {
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
    routes: (app, system) => app.route("/user", userRoutes({ system, log })),
  });
  const done = Promise.withResolvers<void>();
  for (const sig of ["SIGTERM", "SIGINT"] as const) {
    Deno.addSignalListener(sig, () => {
      log.info("draining", { signal: sig });
      node.stop().then(done.resolve, done.reject);
    });
  }
  await done.promise;
  log.info("stopped");
}

if (import.meta.main) await serve(Deno.env.toObject());
