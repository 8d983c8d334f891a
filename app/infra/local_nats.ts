import { resolve } from "node:path";

export interface LocalNatsHandle extends AsyncDisposable {
  url: string;
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

/** Starts `nats-server -js` from PATH, storing JetStream data under `<dataDir>/nats`. */
export async function startLocalNats(
  { dataDir, port, log }: { dataDir: string; port: number; log: (line: string) => void },
): Promise<LocalNatsHandle> {
  const bin = await which("nats-server");
  if (!bin) throw new NatsServerMissingError();
  const storeDir = resolve(dataDir, "nats");
  await Deno.mkdir(storeDir, { recursive: true });
  const child = new Deno.Command(bin, {
    args: ["-js", "-a", "127.0.0.1", "-p", String(port), "-sd", storeDir],
    stdout: "null",
    stderr: "null",
  }).spawn();
  const url = `nats://127.0.0.1:${port}`;
  await waitForPort(port, 10_000);
  log(`local nats-server (JetStream) listening on ${url}`);
  return {
    url,
    async [Symbol.asyncDispose]() {
      try {
        child.kill("SIGTERM");
      } catch { /* already gone */ }
      await child.status;
    },
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

async function waitForPort(port: number, timeoutMs: number) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    try {
      const conn = await Deno.connect({ hostname: "127.0.0.1", port });
      conn.close();
      return;
    } catch {
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  throw new Error(`nats-server did not listen on 127.0.0.1:${port} within ${timeoutMs} ms`);
}
