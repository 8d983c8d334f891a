import type { NatsConnection } from "@nats-io/transport-node";
import { type ServiceMsg, Svcm } from "@nats-io/services";
import type pg from "pg";
import { z } from "zod";
import type { DeadLetters } from "./dead_letters.ts";
import { decodeJson, encodeJson } from "./envelope.ts";

export interface AdminServiceOptions {
  prefix: string;
  pool: pg.Pool;
  deadLetters: DeadLetters;
  rebalance: () => void;
  nodeId: string;
}

const ActorQuery = z.object({ type: z.string().min(1), id: z.string().min(1) });
const DeadListQuery = z.object({
  fromSeq: z.number().int().min(1).optional(),
  limit: z.number().int().min(1).max(1000).optional(),
});
const ReplayQuery = z.object({ seq: z.number().int().min(1) });

/**
 * The operators' NATS micro service `<prefix>-admin` (see `nats micro ls`). Endpoints answer on
 * `<prefix>.admin.<name>` with JSON; every node runs it in one queue group, and all answers come
 * from Postgres or JetStream, so any node can answer.
 */
export async function startAdminService(
  nc: NatsConnection,
  o: AdminServiceOptions,
): Promise<() => Promise<void>> {
  // The services package is built on its own copy of nats-core; the connection is the same.
  // deno-lint-ignore no-explicit-any
  const svcm = new Svcm(nc as any);
  const service = await svcm.add({
    name: `${o.prefix}-admin`,
    version: "0.1.0",
    description: "Coachd actor runtime administration",
    metadata: { node: o.nodeId },
  });
  const group = service.addGroup(`${o.prefix}.admin`);
  const endpoint = (name: string, run: (body: unknown) => Promise<unknown>) => {
    group.addEndpoint(name.replaceAll(".", "-"), {
      subject: name,
      handler: (err, msg) => {
        if (err) return;
        void respond(msg, run);
      },
      metadata: { description: name },
    });
  };
  endpoint("nodes", async () => {
    const { rows } = await o.pool.query(
      `select n.node_id, n.instance, n.started_at, n.heartbeat_at, n.draining,
              (select count(*)::int from rt_partitions p where p.owner = n.instance and p.lease_until > now()) as partitions
       from rt_nodes n order by n.node_id, n.instance`,
    );
    return { nodes: rows };
  });
  endpoint("partitions", async () => {
    const { rows } = await o.pool.query(
      `select p.partition, n.node_id as owner, p.owner as instance, p.epoch, p.lease_until,
              p.lease_until > now() as leased
       from rt_partitions p left join rt_nodes n on n.instance = p.owner order by p.partition`,
    );
    return { partitions: rows };
  });
  endpoint("actor", async (body) => {
    const q = ActorQuery.parse(body);
    const [state, reminders] = await Promise.all([
      o.pool.query(
        `select partition, version, state, updated_at from rt_actor_state
         where actor_type = $1 and actor_id = $2`,
        [q.type, q.id],
      ),
      o.pool.query(
        `select name, due_at, period_ms, payload from rt_reminders
         where actor_type = $1 and actor_id = $2 order by due_at`,
        [q.type, q.id],
      ),
    ]);
    return { actor: q, state: state.rows[0] ?? null, reminders: reminders.rows };
  });
  endpoint("dead.list", async (body) => {
    const q = DeadListQuery.parse(body ?? {});
    return { deadLetters: await o.deadLetters.list(q) };
  });
  endpoint("dead.replay", async (body) => {
    const q = ReplayQuery.parse(body);
    return { replayed: q.seq, ...(await o.deadLetters.replay(q.seq)) };
  });
  endpoint("rebalance", () => {
    o.rebalance();
    return Promise.resolve({ ok: true });
  });
  return async () => {
    await service.stop();
  };
}

async function respond(msg: ServiceMsg, run: (body: unknown) => Promise<unknown>) {
  let body: unknown = {};
  if (msg.data.length > 0) {
    try {
      body = decodeJson(msg.data);
    } catch {
      msg.respondError(400, "request body must be JSON");
      return;
    }
  }
  try {
    msg.respond(encodeJson(await run(body)));
  } catch (err) {
    if (err instanceof z.ZodError) {
      const what = err.issues.map((i) => `${i.path.join(".") || "(body)"}: ${i.message}`).join(
        "; ",
      );
      msg.respondError(400, `invalid request: ${what}`);
    } else {
      msg.respondError(500, err instanceof Error ? err.message : String(err));
    }
  }
}
