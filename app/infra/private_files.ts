/**
 * Modes of what a node keeps on disk: data folders 0700, secret files 0600, and child processes
 * (Chroma, nats-server) started with umask 077 so the files they create are private too.
 */

/** Creates `path` (and its parents) if needed and makes it 0700, whatever it was before. */
export async function ensurePrivateDir(path: string): Promise<void> {
  await Deno.mkdir(path, { recursive: true, mode: 0o700 });
  await Deno.chmod(path, 0o700);
}

/** Makes an existing file 0600; does nothing when it does not exist. */
export async function makePrivateFile(path: string): Promise<void> {
  try {
    await Deno.chmod(path, 0o600);
  } catch (err) {
    if (!(err instanceof Deno.errors.NotFound)) throw err;
  }
}

/** Writes `text` to `path` with mode 0600 (also when the file existed with another mode). */
export async function writePrivateFile(path: string, text: string): Promise<void> {
  await Deno.writeTextFile(path, text, { mode: 0o600 });
  await Deno.chmod(path, 0o600);
}

/**
 * The password kept in `<dir>/<name>` (mode 0600), created on first use from 32 random bytes in
 * hex (safe in URLs and config files without quoting). Two processes racing on one folder end up
 * with the same password: the one that loses the exclusive create reads the winner's.
 */
export async function loadOrCreatePassword(dir: string, name: string): Promise<string> {
  const path = `${dir}/${name}`;
  const existing = await readPassword(path);
  if (existing) return existing;
  const password = Array.from(
    crypto.getRandomValues(new Uint8Array(32)),
    (b) => b.toString(16).padStart(2, "0"),
  ).join("");
  try {
    await Deno.writeTextFile(path, password + "\n", { createNew: true, mode: 0o600 });
    return password;
  } catch (err) {
    if (err instanceof Deno.errors.AlreadyExists) return (await readPassword(path))!;
    throw err;
  }
}

/** The password stored at `path`, or undefined when there is none. Tightens its mode to 0600. */
export async function readPassword(path: string): Promise<string | undefined> {
  try {
    const text = (await Deno.readTextFile(path)).trim();
    await makePrivateFile(path);
    return text || undefined;
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return undefined;
    throw err;
  }
}

/**
 * Spawns `command` with umask 077, so everything it creates is readable by its user only. The
 * umask is the process's, set for the (synchronous) spawn and restored right after.
 */
export function spawnPrivate(command: Deno.Command): Deno.ChildProcess {
  const previous = Deno.umask(0o077);
  try {
    return command.spawn();
  } finally {
    Deno.umask(previous);
  }
}
