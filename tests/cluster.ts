/** Starts runtime node processes for cluster tests and controls them with signals. */
import { NATS_URL } from "./harness.ts";

export interface NodeProcess extends AsyncDisposable {
  nodeId: string;
  pid: number;
  signal(sig: Deno.Signal): void;
  exited: Promise<Deno.CommandStatus>;
}

export async function startRuntimeNode(
  { nodeId, url, prefix, partitions = 16, extraEnv = {} }: {
    nodeId: string;
    url: string;
    prefix: string;
    partitions?: number;
    extraEnv?: Record<string, string>;
  },
): Promise<NodeProcess> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", new URL("./fixtures/runtime_node.ts", import.meta.url).pathname],
    env: {
      DATABASE_URL: url,
      NATS_URL,
      PREFIX: prefix,
      NODE_ID: nodeId,
      PARTITIONS: String(partitions),
      ...extraEnv,
    },
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let buffered = "";
  const deadline = Date.now() + 20_000;
  while (!buffered.includes("ready")) {
    if (Date.now() > deadline) throw new Error(`node ${nodeId} did not start`);
    const { value, done } = await reader.read();
    if (done) throw new Error(`node ${nodeId} exited before it was ready`);
    buffered += value;
  }
  // Keep draining stdout so the child never blocks on a full pipe.
  (async () => {
    try {
      while (!(await reader.read()).done) { /* discard */ }
    } catch { /* closed */ }
  })();
  const exited = child.status;
  return {
    nodeId,
    pid: child.pid,
    exited,
    signal: (sig) => {
      try {
        child.kill(sig);
      } catch { /* already exited */ }
    },
    async [Symbol.asyncDispose]() {
      try {
        child.kill("SIGCONT");
        child.kill("SIGKILL");
      } catch { /* already exited */ }
      await exited;
    },
  };
}
