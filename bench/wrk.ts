/**
 * The user-turn workload driven by `wrk` (a C load generator, `apt-get install wrk`), which takes
 * a fraction of the CPU the in-process generator needs, leaving the machine to the system under
 * test. One wrk process per node URL. wrk runs for a duration, not a count: the caller sizes it
 * from the warm-up rate so that about `calls` calls are made, and the report gives the real count.
 */
import { summarize, type Summary } from "./stats.ts";

export interface WrkResult {
  calls: number;
  errors: number;
  errorSamples: string[];
  elapsedMs: number;
  /** Across several wrk processes the quantiles are the worst of theirs (conservative). */
  latencyMs: Summary;
}

export async function wrkAvailable(): Promise<boolean> {
  try {
    const out = await new Deno.Command("wrk", {
      args: ["--version"],
      stdout: "null",
      stderr: "null",
    })
      .output();
    return out.code === 0 || out.code === 1;
  } catch {
    return false;
  }
}

const script = (keyPrefix: string, keys: number, offset: number, perThread: number) => `
local counter = 0
local threads = {}
function setup(thread)
  thread:set("base", #threads * ${perThread})
  table.insert(threads, thread)
end
request = function()
  local n = ${offset} + base + counter
  counter = counter + 1
  local text = "message " .. n .. " of the user-turn benchmark"
  return wrk.format("POST", "/user/${keyPrefix}" .. (n % ${keys}) .. "/message",
    { ["Content-Type"] = "application/json" }, '"' .. text .. '"')
end
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'WRK {"requests":%d,"duration_us":%d,"non2xx":%d,"connect":%d,"read":%d,"write":%d,"timeout":%d,' ..
    '"p50":%f,"p95":%f,"p99":%f,"max":%f,"mean":%f}\\n',
    summary.requests, summary.duration, e.status, e.connect, e.read, e.write, e.timeout,
    latency:percentile(50), latency:percentile(95), latency:percentile(99), latency.max, latency.mean))
end
`;

/** Runs `calls` user turns spread over `urls` with `concurrency` connections in all. */
export async function wrkTurns(
  { urls, keys, keyPrefix, calls, concurrency, durationS, offset = 0 }: {
    urls: string[];
    keys: number;
    keyPrefix: string;
    /** Only sizes the numbering of messages: the run lasts `durationS`. */
    calls: number;
    concurrency: number;
    durationS: number;
    offset?: number;
  },
): Promise<WrkResult> {
  const dir = await Deno.makeTempDir({ prefix: "coachd-wrk-" });
  try {
    const threads = 2;
    // Message numbers of different threads and processes never overlap.
    const perThread = 10 * calls;
    const perProcess = threads * perThread;
    const connections = Math.max(threads, Math.round(concurrency / urls.length));
    const runs = urls.map(async (url, u) => {
      const file = `${dir}/turns_${u}.lua`;
      await Deno.writeTextFile(file, script(keyPrefix, keys, offset + u * perProcess, perThread));
      const out = await new Deno.Command("wrk", {
        args: [
          "-t",
          String(threads),
          "-c",
          String(connections),
          "-d",
          `${durationS}s`,
          "-s",
          file,
          url,
        ],
        stdout: "piped",
        stderr: "piped",
      }).output();
      const text = new TextDecoder().decode(out.stdout);
      const line = text.split("\n").find((l) => l.startsWith("WRK "));
      if (!line) {
        throw new Error(`wrk printed no summary: ${text}${new TextDecoder().decode(out.stderr)}`);
      }
      return JSON.parse(line.slice(4)) as Record<string, number>;
    });
    const results = await Promise.all(runs);
    const calls_ = results.reduce((s, r) => s + r.requests!, 0);
    const errors = results.reduce(
      (s, r) => s + r.non2xx! + r.connect! + r.read! + r.write! + r.timeout!,
      0,
    );
    const worst = (k: string) => Math.max(...results.map((r) => r[k]! / 1000));
    const base = summarize([]);
    return {
      calls: calls_,
      errors,
      errorSamples: errors ? [`wrk: ${JSON.stringify(results)}`] : [],
      elapsedMs: Math.max(...results.map((r) => r.duration_us! / 1000)),
      latencyMs: {
        ...base,
        n: calls_ - errors,
        p50: worst("p50"),
        p95: worst("p95"),
        p99: worst("p99"),
        max: worst("max"),
        mean: results.reduce((s, r) => s + (r.mean! / 1000) * r.requests!, 0) / Math.max(1, calls_),
      },
    };
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}
