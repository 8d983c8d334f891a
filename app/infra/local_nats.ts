import { join, resolve } from "node:path";
import { natsServerConfig } from "./nats_auth.ts";
import { keepTail, type OutputTail } from "./output_tail.ts";
import {
  ensurePrivateDir,
  loadOrCreatePassword,
  spawnPrivate,
  writePrivateFile,
} from "./private_files.ts";

export interface LocalNatsHandle extends AsyncDisposable {
  /** The node's URL, with its credentials (`nats://node:<password>@127.0.0.1:<port>`). */
  url: string;
  port: number;
  /** The operator's user name and the file holding its password (for `nats context save`). */
  operator: { user: string; passwordFile: string };
}

export class NatsServerMissingError extends Error {
  constructor() {
    super(
      "NATS_URL is not set and no nats-server is on PATH. Either point NATS_URL at a NATS server " +
        "with JetStream, install one (Debian: `apt-get install nats-server`), or run " +
        "`docker compose up nats`.",
    );
    this.name = "NatsServerMissingError";
  }
}

export class NatsStartError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "NatsStartError";
  }
}

/**
 * Starts `nats-server` from PATH with JetStream data under `<dataDir>/nats`, listening on
 * 127.0.0.1 only and accepting two users, whose generated passwords are kept (0600) in
 * `<dataDir>/nats_node_password` and `<dataDir>/nats_operator_password`: the node, and an
 * operator limited to the admin service and read-only stream information. Clients without
 * credentials are refused.
 */
export async function startLocalNats(
  { dataDir, port, prefix = "coachd", log }: {
    dataDir: string;
    port: number;
    prefix?: string;
    log: (line: string) => void;
  },
): Promise<LocalNatsHandle> {
  const bin = await which("nats-server");
  if (!bin) throw new NatsServerMissingError();
  await ensurePrivateDir(dataDir);
  const storeDir = resolve(dataDir, "nats");
  await ensurePrivateDir(storeDir);
  const users = {
    node: { user: "node", password: await loadOrCreatePassword(dataDir, "nats_node_password") },
    operator: {
      user: "operator",
      password: await loadOrCreatePassword(dataDir, "nats_operator_password"),
    },
  };
  const configFile = join(storeDir, "nats-server.conf");
  await writePrivateFile(configFile, natsServerConfig({ port, storeDir, prefix, users }));
  const child = spawnPrivate(
    new Deno.Command(bin, { args: ["-c", configFile], stdout: "null", stderr: "piped" }),
  );
  const output = keepTail(child.stderr);
  const stop = async () => {
    try {
      child.kill("SIGTERM");
    } catch { /* already gone */ }
    await child.status;
    await output.done;
  };
  try {
    await waitForPort(port, 10_000, child.status, output);
  } catch (err) {
    await stop();
    throw err;
  }
  log(`local nats-server (JetStream, authenticated) listening on 127.0.0.1:${port}`);
  return {
    url: `nats://${users.node.user}:${users.node.password}@127.0.0.1:${port}`,
    port,
    operator: { user: users.operator.user, passwordFile: join(dataDir, "nats_operator_password") },
    [Symbol.asyncDispose]: stop,
  };
}

async function which(name: string): Promise<string | undefined> {
  for (const dir of (Deno.env.get("PATH") ?? "").split(":").concat(["/usr/sbin", "/usr/bin"])) {
    const path = `${dir}/${name}`;
    try {
      const info = await Deno.stat(path);
      if (info.isFile) return path;
    } catch { /* not here */ }
  }
  return undefined;
}

async function waitForPort(
  port: number,
  timeoutMs: number,
  exited: Promise<Deno.CommandStatus>,
  output: OutputTail,
) {
  let gone: Deno.CommandStatus | undefined;
  exited.then((s) => (gone = s));
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (gone) {
      await output.done;
      const why = output.last() ?? `exit code ${gone.code}`;
      throw new NatsStartError(`nats-server did not start on 127.0.0.1:${port}: ${why}`);
    }
    try {
      const conn = await Deno.connect({ hostname: "127.0.0.1", port });
      conn.close();
      return;
    } catch {
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  throw new NatsStartError(
    `nats-server did not listen on 127.0.0.1:${port} within ${timeoutMs} ms`,
  );
}
