import { join, resolve } from "node:path";
import { ensurePrivateDir, makePrivateFile, spawnPrivate } from "./private_files.ts";

export interface LocalChromaHandle extends AsyncDisposable {
  url: string;
}

export class ChromaStartError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "ChromaStartError";
  }
}

const CLI = new URL("../../node_modules/chromadb/dist/cli.mjs", import.meta.url);

/**
 * Starts the `chromadb` npm package's own server (`chroma run`) with its data under
 * `<dataDir>/chroma`, and resolves once its heartbeat answers. The data holds every tenant's
 * document text: the folder is 0700 and the server runs with umask 077, so its files are 0600.
 */
export async function startLocalChroma(
  { dataDir, port, log, timeoutMs = 30_000 }: {
    dataDir: string;
    port: number;
    log: (line: string) => void;
    timeoutMs?: number;
  },
): Promise<LocalChromaHandle> {
  const path = resolve(dataDir, "chroma");
  await ensurePrivateDir(dataDir);
  await ensurePrivateDir(path);
  // Data written by an earlier version, before the umask: tighten the database file too.
  await makePrivateFile(join(path, "chroma.sqlite3"));
  const child = spawnPrivate(
    new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "-A",
        CLI.pathname,
        "run",
        "--path",
        path,
        "--host",
        "127.0.0.1",
        "--port",
        String(port),
      ],
      stdout: "null",
      stderr: "null",
    }),
  );
  const url = `http://127.0.0.1:${port}`;
  const stop = async () => {
    try {
      child.kill("SIGTERM");
    } catch { /* already gone */ }
    await child.status;
  };
  try {
    await waitForHeartbeat(url, timeoutMs, child.status);
  } catch (err) {
    await stop();
    throw err;
  }
  log(`local chroma listening on ${url} (data in ${path})`);
  return { url, [Symbol.asyncDispose]: stop };
}

/** Polls `<url>/api/v2/heartbeat` until it answers 200. */
export async function waitForHeartbeat(
  url: string,
  timeoutMs: number,
  exited?: Promise<Deno.CommandStatus>,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let gone: Deno.CommandStatus | undefined;
  exited?.then((s) => (gone = s));
  while (Date.now() < deadline) {
    if (gone) {
      throw new ChromaStartError(`Chroma server exited with code ${gone.code} before answering`);
    }
    try {
      const res = await fetch(`${url}/api/v2/heartbeat`);
      await res.body?.cancel();
      if (res.ok) return;
    } catch { /* not up yet */ }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new ChromaStartError(
    `Chroma did not answer ${url}/api/v2/heartbeat within ${timeoutMs} ms`,
  );
}
