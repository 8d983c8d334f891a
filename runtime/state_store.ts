import type pg from "pg";
import type { Activation } from "./activations.ts";
import { type CommitOutcome, Committer, type TurnWrite } from "./committer.ts";

export interface StateStoreOptions {
  /** This node's owner identity: commits are fenced against it. */
  instance: string;
  /** Identity of the mailbox stream's incarnation (see `StreamNames.mailboxId`). */
  mailboxId: string;
  commitConcurrency: number;
  /** Called after each group commit with its size and duration. */
  onBatch?: (size: number, ms: number) => void;
}

/**
 * Actor state in Postgres (`rt_actor_state`): loaded when an actor activates, written by group
 * commits that also carry the turn's outbox rows and reminder changes.
 */
export class StateStore {
  readonly #pool: pg.Pool;
  readonly #committer: Committer;

  constructor(pool: pg.Pool, o: StateStoreOptions) {
    this.#pool = pool;
    this.#committer = new Committer(pool, o.instance, o.mailboxId, {
      maxInFlight: o.commitConcurrency,
    });
    this.#committer.onBatch = o.onBatch;
  }

  /** Loads the actor's stored state, or its initial state when it has none. */
  async load(act: Activation): Promise<void> {
    const { rows } = await this.#pool.query<
      { version: string; state: unknown; recent_seqs: string[] }
    >(
      "select version, state, recent_seqs from rt_actor_state where actor_type = $1 and actor_id = $2",
      [act.type, act.id],
    );
    const row = rows[0];
    act.state = row ? row.state : act.def.initial(act.id);
    act.version = row ? Number(row.version) : 0;
    // Message keys (the column's name is older than them), valid across stream incarnations.
    act.recent = row ? row.recent_seqs.map(Number) : [];
    act.loaded = true;
  }

  /** Commits one turn's writes with the next group commit; "fenced" if the partition moved. */
  commit(write: TurnWrite): Promise<CommitOutcome> {
    return this.#committer.commit(write);
  }
}
