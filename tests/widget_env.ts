/**
 * Two real nodes over HTTP sharing one schema and NATS prefix, for the widget's tests: node `a`
 * serves HTTP only (it holds the sockets; no actors, no workers), node `b` hosts every actor
 * partition and runs the delivery workers. A message a socket on `a` sends is answered by an
 * actor on `b`, and the answer reaches the socket through the cluster's fan-out.
 */
import { dirname } from "node:path";
import { encodeBase64 } from "../runtime/base64.ts";
import { loadConfig } from "../app/config.ts";
import { type NodeHandle, startNode } from "../app/node.ts";
import { knowledgeExtension } from "../app/knowledge.ts";
import { channelsExtension, type ChannelsHandle } from "../app/channels.ts";
import { jsonLogger } from "../runtime/mod.ts";
import { type CreatorSession, signUpCreator } from "./node_process.ts";
import {
  CHROMA_URL,
  freePort,
  NATS_URL,
  testChroma,
  type TestDb,
  testDb,
  type TestNats,
  testNats,
  VECTOR_CACHE_DIR,
} from "./harness.ts";

export interface WidgetNode {
  node: NodeHandle;
  channels: ChannelsHandle;
  url: string;
}

export interface WidgetCluster extends AsyncDisposable {
  db: TestDb;
  nats: TestNats;
  a: WidgetNode;
  b: WidgetNode;
  /** A confirmed creator (through node b). */
  signup(): Promise<CreatorSession>;
  /** A web widget of the creator allowed on `origins`: its key and identity secret. */
  widget(creator: CreatorSession, origins: string[], look?: Record<string, unknown>): Promise<{
    id: string;
    key: string;
    secret: string;
  }>;
}

export async function widgetCluster(
  { env = {}, single = false }: { env?: Record<string, string>; single?: boolean } = {},
): Promise<WidgetCluster> {
  const stack = new AsyncDisposableStack();
  try {
    const db = stack.use(await testDb());
    const nats = stack.use(await testNats());
    stack.use(testChroma(nats.prefix));
    const mailDir = await Deno.makeTempDir({ prefix: "coachd-mail-" });
    stack.defer(() => Deno.remove(mailDir, { recursive: true }));
    const shared = {
      MAIL_DROP_DIR: mailDir,
      HOST: "127.0.0.1",
      NATS_PREFIX: nats.prefix,
      PARTITIONS: "4",
      DATA_DIR: dirname(VECTOR_CACHE_DIR),
      JWT_SECRET: encodeBase64(crypto.getRandomValues(new Uint8Array(48))),
      SECRETS_KEY: encodeBase64(crypto.getRandomValues(new Uint8Array(32))),
      LOG_LEVEL: "error",
      INBOUND_DEBOUNCE_MS: "50",
      ...env,
    };
    const start = async (id: string, roles: string): Promise<WidgetNode> => {
      const port = freePort();
      const url = `http://127.0.0.1:${port}`;
      const config = loadConfig({
        ...shared,
        PORT: String(port),
        NODE_ID: id,
        NODE_ROLES: roles,
        PUBLIC_URL: url,
      });
      const channels: ChannelsHandle = {};
      const node = await startNode({
        config,
        databaseUrl: db.url,
        natsUrl: NATS_URL,
        log: jsonLogger((Deno.env.get("TEST_LOG_LEVEL") ?? "error") as "error"),
        extensions: [
          knowledgeExtension({ chromaUrl: CHROMA_URL }),
          channelsExtension({ handle: channels }),
        ],
      });
      stack.defer(() => node.stop());
      return { node, channels, url };
    };
    const b = await start("b", "http,actors,workers");
    const a = single ? b : await start("a", "http");
    const moved = stack.move();
    return {
      db,
      nats,
      a,
      b,
      signup: () => signUpCreator(b.url, mailDir),
      async widget(creator, origins, look) {
        const ch = await creator.call("POST", "/channels", {
          kind: "web_widget",
          name: "Coach Ada",
          allowed_origins: origins,
          ...(look ? { look } : {}),
        });
        if (!ch.public_key) throw new Error(`widget not created: ${JSON.stringify(ch)}`);
        return { id: ch.id, key: ch.public_key, secret: ch.generated_secrets.identity_secret };
      },
      [Symbol.asyncDispose]: () => moved.disposeAsync(),
    };
  } catch (err) {
    await stack.disposeAsync();
    throw err;
  }
}

/** A test client of the socket protocol: frames in arrival order, waits for the one wanted. */
export class TestSocket implements AsyncDisposable {
  // deno-lint-ignore no-explicit-any -- tests read many frame shapes
  readonly frames: any[] = [];
  readonly closed: Promise<{ code: number; reason: string }>;
  readonly #ws: WebSocket;
  readonly #opened: Promise<void>;
  #waiters: (() => void)[] = [];

  constructor(url: string, origin: string) {
    // Deno's WebSocket takes request headers: a browser would send its page's origin.
    this.#ws = new WebSocket(url, { headers: { origin } } as unknown as string[]);
    this.#opened = new Promise((resolve, reject) => {
      this.#ws.onopen = () => resolve();
      this.#ws.onerror = (e) => reject(new Error(`socket error: ${(e as ErrorEvent).message}`));
    });
    this.#opened.catch(() => {});
    this.closed = new Promise((resolve) => {
      this.#ws.onclose = (e) => {
        resolve({ code: e.code, reason: e.reason });
        this.#wake();
      };
    });
    this.#ws.onmessage = (e) => {
      this.frames.push(JSON.parse(e.data));
      this.#wake();
    };
  }

  opened(): Promise<void> {
    return this.#opened;
  }

  send(frame: unknown) {
    this.#ws.send(JSON.stringify(frame));
  }

  // deno-lint-ignore no-explicit-any -- tests read many frame shapes
  async waitFor(pred: (f: any) => boolean, what: string, timeoutMs = 20_000): Promise<any> {
    const deadline = Date.now() + timeoutMs;
    while (true) {
      const hit = this.frames.find(pred);
      if (hit) return hit;
      if (Date.now() > deadline) {
        throw new Error(`no ${what} within ${timeoutMs} ms; got ${JSON.stringify(this.frames)}`);
      }
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, 200);
        this.#waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  #wake() {
    const w = this.#waiters;
    this.#waiters = [];
    for (const f of w) f();
  }

  close() {
    this.#ws.close();
  }

  async [Symbol.asyncDispose]() {
    if (this.#ws.readyState !== WebSocket.CLOSED) {
      this.#ws.close();
      await this.closed;
    }
  }
}
