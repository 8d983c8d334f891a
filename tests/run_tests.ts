// deno-lint-ignore-file no-console -- entry point: talks to the terminal
/**
 * Runs the whole test suite with `deno test` and closes with a plain `N passed, N failed` line.
 * Postgres and NATS must be running (see README); Chroma is started here from the `chromadb`
 * package when nothing answers at TEST_CHROMA_URL. Extra arguments go to `deno test`.
 */
import { startLocalChroma } from "../app/infra/chroma.ts";

const chromaUrl = Deno.env.get("TEST_CHROMA_URL") ?? "http://127.0.0.1:18000";
let chroma: AsyncDisposable | undefined;
if (!(await answers(`${chromaUrl}/api/v2/heartbeat`))) {
  const dataDir = await Deno.makeTempDir({ prefix: "coachd-test-chroma-" });
  console.log(`starting Chroma for the tests on ${chromaUrl} (data in ${dataDir})`);
  chroma = await startLocalChroma({
    dataDir,
    port: Number(new URL(chromaUrl).port),
    log: (line) => console.log(line),
  });
}

const args = ["test", "-A", "--doc", "--no-prompt", ...Deno.args];
const child = new Deno.Command(Deno.execPath(), {
  args,
  env: { TEST_CHROMA_URL: chromaUrl },
  stdout: "piped",
  stderr: "inherit",
}).spawn();
let tail = "";
const decoder = new TextDecoder();
for await (const chunk of child.stdout) {
  await Deno.stdout.write(chunk);
  tail = (tail + decoder.decode(chunk, { stream: true })).slice(-4000);
}
const status = await child.status;
await chroma?.[Symbol.asyncDispose]();
// deno test's summary: "ok | 12 passed (3 steps) | 0 failed (...)" or "FAILED | 3 passed | 1 failed"
// deno-lint-ignore no-control-regex -- strips the ANSI colours deno test prints
const clean = tail.replace(/\x1b\[[0-9;]*m/g, "");
const m = clean.match(/\|\s*(\d+) passed[^|]*\|\s*(\d+) failed/);
const passed = m ? Number(m[1]) : 0;
const failed = m ? Number(m[2]) : (status.success ? 0 : 1);
console.log(`${passed} passed, ${failed} failed`);
Deno.exit(status.code);

async function answers(url: string): Promise<boolean> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(2000) });
    await res.body?.cancel();
    return res.ok;
  } catch {
    return false;
  }
}
