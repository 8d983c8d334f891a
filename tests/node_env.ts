/**
 * A real node over HTTP for end-to-end tests: its own schema, NATS prefix and Chroma collections,
 * the knowledge and channel features, and helpers that act as a creator would (sign up through
 * the mail drop folder, upload a document and wait for it).
 */
import { dirname } from "node:path";
import { encodeBase64 } from "../runtime/base64.ts";
import { loadConfig } from "../app/config.ts";
import { type NodeHandle, startNode } from "../app/node.ts";
import { knowledgeExtension } from "../app/knowledge.ts";
import { channelsExtension, type ChannelsHandle } from "../app/channels.ts";
import { jsonLogger } from "../runtime/mod.ts";
import { creatorSession, signUpCreator } from "./node_process.ts";
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

export interface NodeEnv extends AsyncDisposable {
  db: TestDb;
  nats: TestNats;
  node: NodeHandle;
  channels: ChannelsHandle;
  /** `http://127.0.0.1:<port>`: the node's base URL (also its PUBLIC_URL). */
  url: string;
  call(method: string, path: string, o?: { token?: string; body?: unknown }): Promise<{
    status: number;
    text: string;
    // deno-lint-ignore no-explicit-any -- tests read many response shapes
    json: any;
  }>;
  /** Signs a creator up and confirms it; returns their access token and id. */
  signup(email?: string): Promise<{ token: string; creatorId: string }>;
  /** Creates a knowledge base with one Markdown document and waits until it is ready. */
  knowledge(token: string, markdown: string): Promise<{ kbId: string; docId: string }>;
}

export async function nodeEnv(env: Record<string, string> = {}): Promise<NodeEnv> {
  const stack = new AsyncDisposableStack();
  try {
    const db = stack.use(await testDb());
    const nats = stack.use(await testNats());
    stack.use(testChroma(nats.prefix));
    const mailDir = await Deno.makeTempDir({ prefix: "coachd-mail-" });
    stack.defer(() => Deno.remove(mailDir, { recursive: true }));
    const port = freePort();
    const url = `http://127.0.0.1:${port}`;
    const settings: Record<string, string> = {
      MAIL_DROP_DIR: mailDir,
      PORT: String(port),
      HOST: "127.0.0.1",
      NODE_ID: "e2e",
      NATS_PREFIX: nats.prefix,
      PARTITIONS: "4",
      DATA_DIR: dirname(VECTOR_CACHE_DIR),
      JWT_SECRET: encodeBase64(crypto.getRandomValues(new Uint8Array(48))),
      SECRETS_KEY: encodeBase64(crypto.getRandomValues(new Uint8Array(32))),
      LOG_LEVEL: "error",
      PUBLIC_URL: url,
      INBOUND_DEBOUNCE_MS: "100",
      ...env,
    };
    // An empty value leaves a setting unset (PUBLIC_URL: "" for a node without a public URL).
    for (const [k, v] of Object.entries(settings)) if (v === "") delete settings[k];
    const config = loadConfig(settings);
    const channels: ChannelsHandle = {};
    const node = stack.use(
      await startNode({
        config,
        databaseUrl: db.url,
        natsUrl: NATS_URL,
        log: jsonLogger("error"),
        extensions: [
          knowledgeExtension({ chromaUrl: CHROMA_URL }),
          channelsExtension({ handle: channels }),
        ],
      }),
    );
    const call: NodeEnv["call"] = async (method, path, o = {}) => {
      const res = await fetch(url + path, {
        method,
        headers: {
          ...(o.token ? { authorization: `Bearer ${o.token}` } : {}),
          ...(o.body instanceof FormData ? {} : { "content-type": "application/json" }),
        },
        body: o.body instanceof FormData
          ? o.body
          : o.body === undefined
          ? undefined
          : JSON.stringify(o.body),
      });
      const text = await res.text();
      let json: unknown;
      try {
        json = JSON.parse(text);
      } catch { /* not JSON */ }
      return { status: res.status, text, json };
    };
    const signup: NodeEnv["signup"] = async (email) => {
      const session = await signUpCreator(url, mailDir, email);
      return { token: session.token, creatorId: session.creatorId };
    };
    const knowledge: NodeEnv["knowledge"] = (token, markdown) =>
      creatorSession(url, token).knowledge(markdown);
    const moved = stack.move();
    return {
      db,
      nats,
      node,
      channels,
      url,
      call,
      signup,
      knowledge,
      [Symbol.asyncDispose]: () => moved.disposeAsync(),
    };
  } catch (err) {
    await stack.disposeAsync();
    throw err;
  }
}
