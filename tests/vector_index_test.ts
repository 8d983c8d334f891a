import assert from "node:assert/strict";
import pg from "pg";
import { connect } from "@nats-io/transport-node";
import { jetstream, jetstreamManager } from "@nats-io/jetstream";
import { ActorSystem, jsonLogger } from "../runtime/mod.ts";
import { eventually, NATS_URL, sleep, testNats } from "./harness.ts";
import { seedCoach, testKnowledge } from "./knowledge_env.ts";
import { coachingActors, conversationActor, tenantActorId, userActor } from "../actors/mod.ts";
import type { Embedder } from "../knowledge/models/models.ts";
import { VectorStore } from "../knowledge/store/vector_store.ts";
import {
  applyIndexEvent,
  type IndexErase,
  type IndexPut,
  startVectorIndexWorker,
  vectorIndexNames,
  type VectorIndexOptions,
  type VectorIndexWorker,
} from "../knowledge/store/vector_index.ts";

const SLEEP = `# Sleep
## Naps
Keep naps short: 20 minutes at most, and before 3 pm.

## Caffeine
Caffeine has a half-life of five to six hours. Stop drinking coffee by 2 pm.`;

const quiet = jsonLogger("error");

/** Postgres, NATS and Chroma of one test, the coaching actors and (optionally) a worker. */
async function setup() {
  const env = await testKnowledge();
  const nats = await testNats();
  const sys = await ActorSystem.start({
    pool: env.db.pool,
    nc: nats.nc,
    actors: coachingActors({ knowledge: env.knowledge }),
    nodeId: "n1",
    prefix: nats.prefix,
    partitions: 4,
    log: quiet,
  });
  const k = env.knowledge;
  const startWorker = (
    o: VectorIndexOptions = {},
    more: { nc?: typeof nats.nc; store?: VectorStore; embedder?: Embedder; pool?: pg.Pool } = {},
  ) =>
    startVectorIndexWorker({
      pool: more.pool ?? k.pool,
      store: more.store ?? k.store,
      embedder: more.embedder ?? k.embedder,
      nc: more.nc ?? nats.nc,
      prefix: nats.prefix,
      log: quiet,
      deadLetters: sys.deadLetters,
    }, o);
  // Every index event the actors emit, as published (for replaying them late).
  const emitted: { subject: string; data: Record<string, unknown> }[] = [];
  const sub = nats.nc.subscribe(`${nats.prefix}.evt.index.>`, {
    callback: (_e, m) => {
      try {
        emitted.push({ subject: m.subject, data: m.json() });
      } catch { /* a malformed event a test sends on purpose */ }
    },
  });
  await nats.nc.flush();
  const js = jetstream(nats.nc);
  /** Publishes an index event as the outbox would (a new message id: a redelivery of sorts). */
  const publish = (subject: string, data: unknown) =>
    js.publish(
      subject.startsWith(nats.prefix) ? subject : `${nats.prefix}.evt.${subject}`,
      JSON.stringify(data),
    );
  const jsm = await jetstreamManager(nats.nc);
  const names = vectorIndexNames(nats.prefix);
  /** Every event in the stream so far has been handled and acknowledged. */
  const idle = () =>
    eventually(async () => {
      const info = await jsm.consumers.info(names.stream, names.durable);
      return info.num_pending === 0 && info.num_ack_pending === 0;
    }, { what: "index consumer idle" });
  return {
    env,
    nats,
    sys,
    k,
    startWorker,
    emitted,
    publish,
    idle,
    async [Symbol.asyncDispose]() {
      sub.unsubscribe();
      await sys.stop();
      await nats[Symbol.asyncDispose]();
      await env[Symbol.asyncDispose]();
    },
  };
}

const handled = (w: VectorIndexWorker) => w.stats.applied + w.stats.dropped + w.stats.deadLettered;

Deno.test("vector index - exchanges and profiles are indexed after their turn commits, once; erase removes them for good", async () => {
  await using t = await setup();
  await using worker = await t.startWorker();
  const coach = await seedCoach(t.k, { Sleep: SLEEP });
  const convoId = tenantActorId(coach.creatorId, "c1");
  const userId = tenantActorId(coach.creatorId, "u1");
  const convo = t.sys.ref(conversationActor(), convoId);
  const user = t.sys.ref(userActor(), userId);

  await user.ask("updateProfile", { goals: ["sleep better"] });
  const [profile] = await eventually(async () => {
    const list = await t.k.store.list("profiles", coach.creatorId);
    return list.length ? list : null;
  }, { what: "profile indexed" });
  assert.match(profile!.text, /Goals: sleep better/);
  assert.equal(profile!.meta.document_id, userId);

  await convo.ask("message", {
    userId: "u1",
    channel: "web_widget",
    text: "How long should naps be?",
  });
  const [memory] = await eventually(async () => {
    const list = await t.k.store.list("memories", coach.creatorId);
    return list.length ? list : null;
  }, { what: "exchange remembered" });
  const gen = memory!.meta.gen as string;
  assert.equal(memory!.id, `${convoId}:${gen}:2`);
  assert.match(memory!.text, /^User: How long should naps be\?\nCoach: .*20 minutes at most/s);
  assert.equal(memory!.meta.document_id, convoId);
  assert.equal(memory!.meta.turn, 2);
  const state = await convo.ask("get", null) as { indexGen?: string };
  assert.equal(state.indexGen, gen);

  // The same put delivered again rewrites the same record: still one.
  const memoryPut = t.emitted.find((e) => e.subject.endsWith("index.memories.put"))!;
  await t.idle();
  const before = worker.stats.applied;
  await t.publish(memoryPut.subject, memoryPut.data);
  await eventually(() => worker.stats.applied === before + 1, { what: "repeat applied" });
  assert.equal(await t.k.store.count("memories", coach.creatorId), 1);

  // A newer profile replaces the record; the older version arriving late is dropped.
  await user.ask("updateProfile", { goals: ["run a 10k"] });
  await eventually(async () => {
    const [p] = await t.k.store.list("profiles", coach.creatorId);
    return p?.text.includes("run a 10k");
  }, { what: "profile version 2 indexed" });
  const profilePuts = t.emitted.filter((e) => e.subject.endsWith("index.profiles.put"));
  assert.deepEqual(profilePuts.map((e) => e.data.version), [1, 2]);
  await t.idle();
  const dropped = worker.stats.dropped;
  await t.publish(profilePuts[0]!.subject, profilePuts[0]!.data);
  await eventually(() => worker.stats.dropped === dropped + 1, { what: "stale profile dropped" });
  const profiles = await t.k.store.list("profiles", coach.creatorId);
  assert.equal(profiles.length, 1);
  assert.match(profiles[0]!.text, /run a 10k/);

  // Erase: both gone; the puts committed before the erase, delivered after it, do not bring
  // them back.
  await user.ask("erase", { reason: "deleted_by_creator" });
  await convo.ask("erase", { reason: "deleted_by_creator" });
  await eventually(
    async () =>
      (await t.k.store.count("memories", coach.creatorId)) === 0 &&
      (await t.k.store.count("profiles", coach.creatorId)) === 0,
    { what: "memories and profile erased" },
  );
  await t.idle();
  const late = worker.stats.dropped;
  await t.publish(memoryPut.subject, memoryPut.data);
  await t.publish(profilePuts[1]!.subject, profilePuts[1]!.data);
  await eventually(() => worker.stats.dropped === late + 2, { what: "late puts dropped" });
  assert.equal(await t.k.store.count("memories", coach.creatorId), 0);
  assert.equal(await t.k.store.count("profiles", coach.creatorId), 0);

  // The conversation starts a new life; the old erase delivered again leaves it alone.
  await convo.ask("message", {
    userId: "u1",
    channel: "web_widget",
    text: "When should I stop coffee?",
  });
  const [fresh] = await eventually(async () => {
    const list = await t.k.store.list("memories", coach.creatorId);
    return list.length ? list : null;
  }, { what: "new life remembered" });
  assert.notEqual(fresh!.meta.gen, gen);
  const oldErase = t.emitted.find((e) => e.subject.endsWith("index.memories.erase"))!;
  assert.equal(oldErase.data.gen, gen);
  await t.idle();
  const applied = worker.stats.applied;
  await t.publish(oldErase.subject, oldErase.data);
  await eventually(() => worker.stats.applied === applied + 1, { what: "old erase applied" });
  assert.equal(await t.k.store.count("memories", coach.creatorId), 1);
  assert.equal(worker.stats.deadLettered, 0);
});

Deno.test("vector index - a stopped worker loses nothing, and workers on several nodes share the events", async () => {
  await using t = await setup();
  const coach = await seedCoach(t.k, { Sleep: SLEEP });
  const convo = t.sys.ref(
    conversationActor(),
    tenantActorId(coach.creatorId, "restart"),
  );
  const ask = (i: number) =>
    convo.ask("message", {
      userId: "u",
      channel: "web_widget",
      text: `How long should naps be? (${i})`,
    });
  const count = () => t.k.store.count("memories", coach.creatorId);
  {
    await using _first = await t.startWorker();
    for (let i = 0; i < 3; i++) await ask(i);
    await eventually(async () => (await count()) === 3, { what: "first three remembered" });
  }
  // No worker: the turns commit, their events wait.
  for (let i = 3; i < 8; i++) await ask(i);
  await sleep(500);
  assert.equal(await count(), 3);
  // Two nodes' workers on the one durable consumer: each event is applied by one of them.
  const other = await connect({ servers: NATS_URL });
  try {
    await using a = await t.startWorker();
    await using b = await t.startWorker({}, { nc: other });
    await eventually(async () => (await count()) === 8, { what: "all eight remembered" });
    await t.idle();
    assert.equal(a.stats.applied + b.stats.applied, 5);
    const turns = (await t.k.store.list("memories", coach.creatorId)).map((r) => r.meta.turn);
    assert.deepEqual(turns.sort((x, y) => Number(x) - Number(y)), [2, 4, 6, 8, 10, 12, 14, 16]);
  } finally {
    await other.close();
  }
});

/** A store whose upserts wait at a gate (a slow or stalled Chroma write). */
class GatedStore extends VectorStore {
  readonly gate = Promise.withResolvers<void>();
  readonly entered = Promise.withResolvers<void>();
  override async upsert(...args: Parameters<VectorStore["upsert"]>): Promise<void> {
    this.entered.resolve();
    await this.gate.promise;
    return await super.upsert(...args);
  }
}

Deno.test("vector index - a worker that dies mid-event leaves it to another after ack_wait", async () => {
  await using t = await setup();
  const creatorId = crypto.randomUUID();
  const stalled = new GatedStore(t.env.chroma.client, {
    prefix: t.env.chroma.prefix,
    embedder: t.k.embedder,
  });
  const doomed = await connect({ servers: NATS_URL });
  const app = `doomed-${crypto.randomUUID().slice(0, 8)}`;
  const doomedPool = new pg.Pool({ connectionString: t.env.db.url, application_name: app });
  doomedPool.on("error", () => {});
  const dying = await t.startWorker({ ackWaitMs: 1500 }, {
    nc: doomed,
    store: stalled,
    pool: doomedPool,
  });
  const put: IndexPut = {
    creatorId,
    documentId: `${creatorId}:c`,
    gen: crypto.randomUUID(),
    id: `${creatorId}:c:x:2`,
    text: "User: how long should naps be?\nCoach: 20 minutes at most.",
  };
  try {
    await t.publish("index.memories.put", put);
    await stalled.entered.promise;
    // The node is gone before its ack: its NATS and Postgres connections with it.
    await doomed.close();
    await t.k.pool.query(
      "select pg_terminate_backend(pid) from pg_stat_activity where application_name = $1",
      [app],
    );
    await using survivor = await t.startWorker({ ackWaitMs: 1500 });
    await eventually(() => survivor.stats.applied === 1, { what: "redelivered to the survivor" });
    assert.equal(await t.k.store.count("memories", creatorId), 1);
  } finally {
    stalled.gate.resolve();
    await dying.stop();
    await doomedPool.end();
  }
});

Deno.test("vector index - an erase racing a put of the same generation wins", async () => {
  await using t = await setup();
  const deps = { pool: t.k.pool, store: t.k.store, embedder: t.k.embedder };
  const creatorId = crypto.randomUUID();
  const documentId = `${creatorId}:c`;
  const gen = crypto.randomUUID();
  const put: IndexPut = {
    creatorId,
    documentId,
    gen,
    id: `${documentId}:${gen}:2`,
    text: "User: naps?\nCoach: 20 minutes.",
  };
  const erase: IndexErase = { creatorId, documentId, gen };
  // One worker's put is inside its Chroma write when another worker applies the erase.
  const slow = new GatedStore(t.env.chroma.client, {
    prefix: t.env.chroma.prefix,
    embedder: t.k.embedder,
  });
  const putting = applyIndexEvent({ ...deps, store: slow }, "memories", "put", put);
  await slow.entered.promise;
  let erased = false;
  const erasing = applyIndexEvent(deps, "memories", "erase", erase).then(() => erased = true);
  await sleep(300);
  assert.equal(erased, false, "the erase did not wait for the put in flight");
  slow.gate.resolve();
  assert.equal(await putting, "applied");
  await erasing;
  assert.equal(await t.k.store.count("memories", creatorId), 0);
  // And afterwards a put of the erased generation is dropped.
  assert.equal(await applyIndexEvent(deps, "memories", "put", put), "dropped");
  assert.equal(await t.k.store.count("memories", creatorId), 0);

  // Versions: an older one applied after a newer one is dropped.
  const g2 = crypto.randomUUID();
  const profile = (version: number, text: string): IndexPut => ({
    creatorId,
    documentId: `${creatorId}:u`,
    gen: g2,
    id: `${creatorId}:u:${g2}`,
    version,
    text,
  });
  assert.equal(await applyIndexEvent(deps, "profiles", "put", profile(2, "Goals: run")), "applied");
  assert.equal(await applyIndexEvent(deps, "profiles", "put", profile(1, "Goals: nap")), "dropped");
  const [p] = await t.k.store.list("profiles", creatorId);
  assert.equal(p?.text, "Goals: run");
});

Deno.test("vector index - malformed and failing events are dead-lettered with their reason, and the queue moves on", async () => {
  await using t = await setup();
  const poisoned: Embedder = {
    id: t.k.embedder.id,
    dimensions: t.k.embedder.dimensions,
    embed: (texts, opts) =>
      texts.some((x) => x.includes("POISON"))
        ? Promise.reject(new Error("model crashed on this text"))
        : t.k.embedder.embed(texts, opts),
  };
  await using worker = await t.startWorker({ maxDeliver: 2, retryDelayMs: 50 }, {
    embedder: poisoned,
  });
  const creatorId = crypto.randomUUID();
  const put = (n: number, text: string): IndexPut => ({
    creatorId,
    documentId: `${creatorId}:c`,
    gen: "6f1c1b0e-8f4a-4a43-9c3e-0d8f4b1a2c3d",
    id: `${creatorId}:c:${n}`,
    text,
  });
  const js = jetstream(t.nats.nc);
  await js.publish(`${t.nats.prefix}.evt.index.memories.put`, "{not json");
  await t.publish("index.memories.put", { creatorId: "nope", text: "" });
  await t.publish("index.chunks.erase", { creatorId, documentId: "d", gen: crypto.randomUUID() });
  await t.publish("index.memories.put", put(1, "User: POISON\nCoach: ..."));
  await t.publish("index.memories.put", put(2, "User: naps?\nCoach: 20 minutes at most."));
  await eventually(() => worker.stats.deadLettered === 4 && worker.stats.applied === 1, {
    what: "four dead letters and one applied",
  });
  assert.equal(await t.k.store.count("memories", creatorId), 1);
  const dead = await t.sys.deadLetters.list();
  const reasons = dead.map((d) => `${d.subject.slice(t.nats.prefix.length)} ${d.reason}`).sort();
  assert.equal(reasons.length, 4);
  assert.match(reasons[0]!, /^\.evt\.index\.chunks\.erase unknown index event subject/);
  assert.match(
    reasons[1]!,
    /^\.evt\.index\.memories\.put failed 2 times, last: Error: model crashed/,
  );
  assert.match(reasons[2]!, /^\.evt\.index\.memories\.put malformed index event: body is not JSON/);
  assert.match(
    reasons[3]!,
    /^\.evt\.index\.memories\.put malformed index event: creatorId: .*documentId/,
  );
  assert.equal(handled(worker), 5);
});
