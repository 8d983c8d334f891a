/**
 * What a newcomer does, as root (as in every container): `git clone` into a fresh private folder
 * (mode 0700, like `mktemp -d` or /root), then the README's two commands — `deno task start` on
 * the embedded defaults (no DATABASE_URL, NATS_URL or CHROMA_URL) until `/readyz` answers, and a
 * test file run from the clone. It clones the committed HEAD of this checkout, reuses this deno
 * binary and its npm cache (so `deno install` copies nothing from the network), and the
 * word-vector cache shared by the tests.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { eventually, freePort, VECTOR_CACHE_DIR } from "./harness.ts";
import { anonymousConnect } from "./nats_probe.ts";

const REPO = new URL("..", import.meta.url).pathname;
/** Variables that would point the node at outside services instead of the embedded ones. */
const OUTSIDE = [
  "DATABASE_URL",
  "DATABASE_TENANT_URL",
  "DATABASE_ADMIN_URL",
  "NATS_URL",
  "NATS_USER",
  "NATS_PASSWORD",
  "NATS_CREDS",
  "CHROMA_URL",
  "OLLAMA_HOST",
  "DATA_DIR",
];

Deno.test("fresh clone - in a private folder, `deno task start` on embedded defaults gets ready, and a test runs from the clone", async () => {
  const root = await Deno.makeTempDir({ prefix: "coachd-clone-" });
  assert.equal(mode(await Deno.stat(root)), 0o700);
  const checkout = join(root, "coachd");
  const env = Object.fromEntries(
    Object.entries(Deno.env.toObject()).filter(([k]) => !OUTSIDE.includes(k)),
  );
  const run = (args: string[], extra: Record<string, string> = {}) =>
    new Deno.Command(Deno.execPath(), {
      args,
      cwd: checkout,
      clearEnv: true,
      env: { ...env, ...extra },
      stdout: "piped",
      stderr: "piped",
    });
  let pgHome: string | undefined;
  try {
    const clone = await new Deno.Command("git", {
      args: ["clone", "--quiet", REPO, checkout],
      stdout: "piped",
      stderr: "piped",
    }).output();
    assert.ok(clone.success, new TextDecoder().decode(clone.stderr));
    // Building the word-vector cache from its npm package takes a minute: share the tests' one.
    await Deno.mkdir(join(checkout, ".data"));
    await Deno.symlink(VECTOR_CACHE_DIR, join(checkout, ".data", "vectors"));

    const ports = { http: freePort(), pg: freePort(), nats: freePort(), chroma: freePort() };
    const child = run(["task", "start"], {
      PORT: String(ports.http),
      HOST: "127.0.0.1",
      EMBEDDED_PG_PORT: String(ports.pg),
      EMBEDDED_NATS_PORT: String(ports.nats),
      EMBEDDED_CHROMA_PORT: String(ports.chroma),
      PARTITIONS: "4",
    }).spawn();
    let stdout = "";
    const reading = (async () => {
      for await (const chunk of child.stdout.pipeThrough(new TextDecoderStream())) {
        stdout += chunk;
      }
    })();
    const stderr = new Response(child.stderr).text();
    try {
      await eventually(async () => {
        const res = await fetch(`http://127.0.0.1:${ports.http}/readyz`).catch(() => undefined);
        await res?.body?.cancel();
        return res?.ok && stdout.includes("is ready");
      }, { what: "the node in the fresh clone to be ready", timeoutMs: 120_000 });
      pgHome = await Deno.readLink(join(checkout, ".data", "pg")).catch(() => undefined);

      // The start summary says where everything is.
      const data = join(checkout, ".data");
      assert.match(stdout, new RegExp(`API +http://127\\.0\\.0\\.1:${ports.http}/v1`));
      assert.match(stdout, new RegExp(`Postgres +embedded on 127\\.0\\.0\\.1:${ports.pg}`));
      assert.match(stdout, new RegExp(`NATS +embedded on 127\\.0\\.0\\.1:${ports.nats}`));
      assert.match(stdout, new RegExp(`Chroma +embedded on 127\\.0\\.0\\.1:${ports.chroma}`));
      assert.ok(stdout.includes(`data      ${data}`), stdout);
      assert.ok(stdout.includes("nats context save"), stdout);

      // Private on disk, and NATS closed to a client without credentials.
      for (const dir of [data, join(data, "nats"), join(data, "chroma")]) {
        assert.equal(mode(await Deno.stat(dir)), 0o700, dir);
      }
      for (const file of ["pg_admin_password", "pg_system_password", "nats_operator_password"]) {
        assert.equal(mode(await Deno.stat(join(data, file))), 0o600, file);
      }
      assert.equal(await anonymousConnect(ports.nats), "refused");
    } finally {
      child.kill("SIGTERM");
    }
    const status = await child.status;
    await reading;
    assert.equal(status.code, 0, `${stdout}\n${await stderr}`);

    // The README's test command, shown with one small test file that runs embedded Postgres.
    const test = await run(["test", "-A", "app/infra/embedded_postgres_test.ts"]).output();
    const out = new TextDecoder().decode(test.stdout) + new TextDecoder().decode(test.stderr);
    assert.ok(test.success, out);
    assert.match(out, /2 passed \| 0 failed/);
  } finally {
    if (pgHome) await Deno.remove(pgHome, { recursive: true }).catch(() => {});
    await Deno.remove(root, { recursive: true });
  }
});

function mode(info: Deno.FileInfo) {
  return info.mode! & 0o777;
}
