/**
 * What the drill checks after the restore, through the API where the API shows it (sign-in,
 * conversations, messages, deliveries, documents, search) and in Postgres where only operators
 * see it (reminders, outbox).
 */
import type pg from "pg";
import type { VectorStore } from "../../knowledge/mod.ts";
import { type CreatorSession, creatorSession } from "../../tests/node_process.ts";
import { eventually } from "../../tests/harness.ts";

export class DrillCheckError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "DrillCheckError";
  }
}

/** One creator's conversations, messages and deliveries as the API lists them. */
export interface Snapshot {
  conversations: { id: string; messages: { role: string; content: string }[] }[];
  deliveries: { id: string; status: string }[];
}

export async function snapshot(url: string, token: string): Promise<Snapshot> {
  const s = creatorSession(url, token);
  const convs = (await s.call("GET", "/conversations?limit=100")).data as { id: string }[];
  const conversations = [];
  for (const c of convs) {
    const m = (await s.call("GET", `/conversations/${c.id}/messages?limit=100`)).data as {
      role: string;
      content: string;
    }[];
    if (m.some((x) => !x.content)) throw new DrillCheckError(`a message of ${c.id} has no text`);
    conversations.push({ id: c.id, messages: m.map(({ role, content }) => ({ role, content })) });
  }
  conversations.sort((a, b) => a.id.localeCompare(b.id));
  const deliveries = ((await s.call("GET", "/deliveries?limit=100")).data as {
    id: string;
    status: string;
  }[]).map(({ id, status }) => ({ id, status })).sort((a, b) => a.id.localeCompare(b.id));
  return { conversations, deliveries };
}

interface CreatorRecord {
  email: string;
  id: string;
  kbId: string;
  docId: string;
}

export async function verifyRestore(
  { url, pool, expected, owner, kept, lost, ledger, tags, store }: {
    url: string;
    pool: pg.Pool;
    expected: Snapshot;
    owner: CreatorSession;
    kept: CreatorRecord[];
    lost: CreatorRecord[];
    ledger: () => Promise<string[]>;
    tags: { before: string[]; after: string[] };
    store: VectorStore;
  },
): Promise<{ creators: number; conversations: number; messages: number }> {
  const check = (ok: boolean, what: string) => {
    if (!ok) throw new DrillCheckError(`after the restore: ${what}`);
  };
  // Sign-in: the creators of before the recovery point exist, the later ones do not.
  for (const c of [...kept, ...lost]) {
    const res = await fetch(`${url}/v1/auth/login`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ email: c.email, password: "correct horse battery staple" }),
    });
    await res.body?.cancel();
    const wanted = kept.includes(c) ? 200 : 401;
    check(res.status === wanted, `login of ${c.email} answered ${res.status}, not ${wanted}`);
  }
  // Conversations, messages and deliveries: exactly what the API showed at the recovery point.
  const got = await snapshot(url, owner.token);
  const same = JSON.stringify(got) === JSON.stringify(expected);
  check(same, `the conversations differ:\n${JSON.stringify(got)}\n!=\n${JSON.stringify(expected)}`);
  // Knowledge: every kept document ready, its chunks back in Chroma, found by search.
  for (const c of kept) {
    const login = await fetch(`${url}/v1/auth/login`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ email: c.email, password: "correct horse battery staple" }),
    });
    const s = creatorSession(url, (await login.json()).access_token);
    const doc = await s.call("GET", `/documents/${c.docId}`);
    check(doc.status === "ready" && doc.chunk_count > 0, `document ${c.docId} is ${doc.status}`);
    const vectors = await store.count("chunks", c.id, c.docId);
    check(vectors === doc.chunk_count, `${vectors} vectors for ${doc.chunk_count} chunks`);
    const hits = await s.call("POST", `/knowledge-bases/${c.kbId}/search`, {
      query: "how long should a nap be",
    });
    check(
      hits.results.some((h: { documentId: string }) => h.documentId === c.docId),
      "search does not find the document",
    );
  }
  const { rows: [gone] } = await pool.query<{ n: number }>(
    "select count(*)::int as n from documents where creator_id = any($1::uuid[])",
    [lost.map((c) => c.id)],
  );
  check(gone!.n === 0, `${gone!.n} documents of creators made after the recovery point`);
  // Actor state, reminders and outbox of the ledger.
  const entries = await ledger();
  check(
    JSON.stringify(entries) === JSON.stringify(tags.before),
    `ledger holds ${JSON.stringify(entries)}, not ${JSON.stringify(tags.before)}`,
  );
  const { rows } = await pool.query<{ name: string }>(
    "select name from rt_reminders where actor_type = 'drill_ledger' order by name",
  );
  const reminders = rows.map((r) => r.name);
  check(
    JSON.stringify(reminders) === JSON.stringify(tags.before.map((t) => `due:${t}`).sort()),
    `reminders ${JSON.stringify(reminders)}`,
  );
  // The outbox relays what the restored database had not published, then is empty.
  await eventually(async () => {
    const { rows: [o] } = await pool.query<{ n: number }>(
      "select count(*)::int as n from rt_outbox",
    );
    return o!.n === 0;
  }, { timeoutMs: 30_000, what: "the outbox drained" });
  return {
    creators: kept.length,
    conversations: got.conversations.length,
    messages: got.conversations.reduce((n, c) => n + c.messages.length, 0),
  };
}
