// deno-lint-ignore-file no-console -- entry point: talks to the terminal
/**
 * Runs the whole test suite with `deno test` and closes with a plain `N passed, N failed` line.
 * Extra arguments are passed to `deno test` (e.g. a file or `--filter`).
 */
const args = ["test", "-A", "--doc", "--no-prompt", ...Deno.args];
const child = new Deno.Command(Deno.execPath(), { args, stdout: "piped", stderr: "inherit" })
  .spawn();
let tail = "";
const decoder = new TextDecoder();
for await (const chunk of child.stdout) {
  await Deno.stdout.write(chunk);
  tail = (tail + decoder.decode(chunk, { stream: true })).slice(-4000);
}
const status = await child.status;
// deno test's summary: "ok | 12 passed (3 steps) | 0 failed (...)" or "FAILED | 3 passed | 1 failed"
// deno-lint-ignore no-control-regex -- strips the ANSI colours deno test prints
const clean = tail.replace(/\x1b\[[0-9;]*m/g, "");
const m = clean.match(/\|\s*(\d+) passed[^|]*\|\s*(\d+) failed/);
const passed = m ? Number(m[1]) : 0;
const failed = m ? Number(m[2]) : (status.success ? 0 : 1);
console.log(`${passed} passed, ${failed} failed`);
Deno.exit(status.code);
