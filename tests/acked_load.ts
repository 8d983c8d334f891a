/**
 * Load for failure tests: each actor gets tagged `add` tells in sequence, retried with the same id
 * until acknowledged, and afterwards every acknowledged tag must be in the actor's state exactly
 * once and in order.
 */
import assert from "node:assert/strict";
import type pg from "pg";
import type { ActorClient } from "../runtime/mod.ts";
import { counter } from "../runtime/testdata/actors.ts";
import { eventually, sleep } from "./harness.ts";

export interface AckedLoad {
  /**
   * Stops sending new tags, waits until each actor's tag in flight is acknowledged (a failed
   * attempt may still have been stored, so it is retried with the same id, never abandoned) and
   * resolves with the tags acknowledged to each actor, in order.
   */
  stop(): Promise<Map<string, number[]>>;
}

export function startAckedLoad(
  client: ActorClient,
  actors: string[],
  { pauseMs = 10, retryPauseMs = 50, finishTimeoutMs = 30_000 } = {},
): AckedLoad {
  const acked = new Map<string, number[]>(actors.map((id) => [id, []]));
  let stoppedAt: number | undefined;
  const senders = actors.map(async (id) => {
    for (let i = 0; stoppedAt === undefined; i++) {
      // Once tag i has been tried, it is sent until acknowledged: stopping in between would leave
      // a tell that the server stored (its acknowledgement lost) out of the acknowledged list.
      for (;;) {
        try {
          // The same id on a retry: a tell stored before its ack was lost is not stored twice.
          await client.ref(counter, id).tell("add", { by: 1, tag: i }, { msgId: `${id}:${i}` });
          break;
        } catch (err) {
          if (stoppedAt !== undefined && Date.now() - stoppedAt > finishTimeoutMs) {
            throw new Error(`${id}: tag ${i} still not acknowledged after stop: ${err}`);
          }
          await sleep(retryPauseMs);
        }
      }
      acked.get(id)!.push(i);
      await sleep(pauseMs);
    }
  });
  return {
    async stop() {
      stoppedAt = Date.now();
      await Promise.all(senders);
      return acked;
    },
  };
}

/** Waits until every actor caught up, then checks applied == acknowledged, in order, once each. */
export async function assertAppliedExactlyOnce(
  pool: pg.Pool,
  acked: Map<string, number[]>,
  { minPerActor = 1 } = {},
): Promise<void> {
  for (const [id, tags] of acked) {
    assert.ok(tags.length >= minPerActor, `${id}: only ${tags.length} acknowledged`);
    const state = await eventually(async () => {
      try {
        const { rows } = await pool.query(
          "select state from rt_actor_state where actor_type = 'counter' and actor_id = $1",
          [id],
        );
        const s = rows[0]?.state;
        return s && s.log.length >= tags.length ? s : null;
      } catch {
        return null; // the database may still be recovering
      }
    }, { timeoutMs: 30_000, what: `${id} caught up` });
    assert.deepEqual(state.log, tags, `${id}: applied differs from acknowledged`);
    assert.equal(state.n, tags.length);
    assert.equal(new Set(state.seen).size, state.seen.length, `${id}: a message applied twice`);
  }
}
