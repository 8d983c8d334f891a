/**
 * Real node processes (`main.ts`, as `deno task start` runs it) for tests and benchmarks that
 * kill, stop or profile them, and a creator's first steps against one over HTTP.
 */
import { fileURLToPath } from "node:url";
import { eventually, freePort } from "./harness.ts";

const MAIN = fileURLToPath(new URL("../main.ts", import.meta.url));

export interface NodeProcess extends AsyncDisposable {
  /** `http://127.0.0.1:<port>` */
  url: string;
  /** SIGKILL: the node dies mid-work, as in a crash. */
  kill(): void;
  /** SIGTERM, then waits: the node drains. */
  stop(): Promise<void>;
  exited: Promise<Deno.CommandStatus>;
}

/**
 * Starts `main.ts` with `env` (plus PORT and HOST; a function gets the port, for settings such as
 * PUBLIC_URL) and resolves once `/readyz` answers ready.
 */
export async function startNodeProcess(
  settings: Record<string, string> | ((port: number) => Record<string, string>),
  { flags = [], readyMs = 60_000 }: { flags?: string[]; readyMs?: number } = {},
): Promise<NodeProcess> {
  const port = freePort();
  const env = typeof settings === "function" ? settings(port) : settings;
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", ...flags, MAIN],
    env: { ...env, PORT: String(port), HOST: "127.0.0.1" },
    stdout: "null",
    stderr: env.LOG_LEVEL === "error" ? "null" : "inherit",
  }).spawn();
  const url = `http://127.0.0.1:${port}`;
  const signal = (sig: Deno.Signal) => {
    try {
      child.kill(sig);
    } catch { /* already gone */ }
  };
  let stopped: Promise<void> | undefined;
  const stop = () =>
    stopped ??= (async () => {
      signal("SIGTERM");
      await child.status;
    })();
  try {
    await eventually(async () => {
      const res = await fetch(`${url}/readyz`).catch(() => undefined);
      const body = await res?.text();
      return res?.ok && body?.includes('"ready"');
    }, { timeoutMs: readyMs, what: `node on ${port} ready` });
  } catch (err) {
    signal("SIGKILL");
    await child.status;
    throw err;
  }
  return {
    url,
    exited: child.status,
    kill: () => signal("SIGKILL"),
    stop,
    [Symbol.asyncDispose]: async () => {
      signal("SIGKILL");
      await child.status;
    },
  };
}

/** JSON calls to a node's admin API as one creator. */
export interface CreatorSession {
  token: string;
  creatorId: string;
  // deno-lint-ignore no-explicit-any -- tests and benchmarks read many response shapes
  call(method: string, path: string, body?: unknown): Promise<any>;
  /** Creates a knowledge base with one Markdown document and waits until it is ready. */
  knowledge(markdown: string): Promise<{ kbId: string; docId: string }>;
}

async function request(url: string, method: string, path: string, token?: string, body?: unknown) {
  const res = await fetch(url + path, {
    method,
    headers: {
      ...(token ? { authorization: `Bearer ${token}` } : {}),
      ...(body instanceof FormData ? {} : { "content-type": "application/json" }),
    },
    body: body instanceof FormData ? body : body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  if (res.status >= 300) throw new Error(`${method} ${path}: ${res.status} ${text}`);
  return text ? JSON.parse(text) : undefined;
}

/** A session of a signed-in creator at `url`. */
export function creatorSession(url: string, token: string, creatorId = ""): CreatorSession {
  const call = (method: string, path: string, body?: unknown) =>
    request(url, method, `/v1${path}`, token, body);
  return {
    token,
    creatorId,
    call,
    async knowledge(markdown) {
      const kb = await call("POST", "/knowledge-bases", { name: "Guide" });
      const form = new FormData();
      form.append("file", new File([markdown], "guide.md", { type: "text/markdown" }));
      const doc = await call("POST", `/knowledge-bases/${kb.id}/documents`, form);
      await eventually(async () => {
        const d = await call("GET", `/documents/${doc.id}`);
        if (d.status === "failed") throw new Error(`ingestion failed: ${d.reason ?? d.error}`);
        return d.status === "ready";
      }, { timeoutMs: 60_000, what: "document ready" });
      return { kbId: kb.id, docId: doc.id };
    },
  };
}

/**
 * Signs a creator up at `url` and confirms it through the node's mail drop folder (`mailDir`,
 * the node's MAIL_DROP_DIR): there is no e-mail sender by default.
 */
export async function signUpCreator(
  url: string,
  mailDir: string,
  email = `${crypto.randomUUID()}@example.test`,
): Promise<CreatorSession> {
  await request(url, "POST", "/v1/auth/signup", undefined, {
    email,
    password: "correct horse battery staple",
    name: email,
  });
  const notice = [...Deno.readDirSync(mailDir)]
    .map((f) => JSON.parse(Deno.readTextFileSync(`${mailDir}/${f.name}`)))
    .find((n) => n.email === email && n.kind === "signup_confirmation");
  const confirmed = await request(url, "POST", "/v1/auth/signup/confirm", undefined, {
    token: notice.token,
  });
  return creatorSession(url, confirmed.access_token, confirmed.creator_id);
}
