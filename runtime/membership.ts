import type pg from "pg";
import { preferredOwner } from "./address.ts";

export interface MembershipOptions {
  instance: string;
  nodeId: string;
  address?: string;
  partitions: number;
  leaseMs: number;
  /** A node whose heartbeat is older than this is not a candidate owner. */
  nodeTtlMs: number;
}

/** What one membership round decided for this node. */
export interface MembershipPlan {
  /** Partitions taken this round, with their new epoch. */
  taken: Map<number, number>;
  /** Partitions this node believed it owned but no longer does (lease lost to another node). */
  lost: number[];
  /** Partitions this node owns but another live node should: release them after draining. */
  handOver: number[];
  liveNodes: string[];
}

/**
 * Node heartbeats and fenced partition leases, all in Postgres so that its clock is the only one
 * that matters. Every take bumps the partition's epoch; commits carry the epoch they were made
 * under and are refused once it has moved on.
 */
export class Membership {
  readonly #pool: pg.Pool;
  readonly #o: MembershipOptions;
  /** partition -> epoch for the leases this node holds. */
  readonly owned = new Map<number, number>();

  constructor(pool: pg.Pool, opts: MembershipOptions) {
    this.#pool = pool;
    this.#o = opts;
  }

  async register(): Promise<void> {
    await this.#pool.query(
      `insert into rt_partitions (partition) select generate_series(0, $1::int - 1)
       on conflict do nothing`,
      [this.#o.partitions],
    );
    await this.#pool.query(
      `insert into rt_nodes (instance, node_id, address) values ($1, $2, $3)
       on conflict (instance) do update set heartbeat_at = now(), draining = false`,
      [this.#o.instance, this.#o.nodeId, this.#o.address ?? null],
    );
  }

  /** One round: heartbeat, renew, then decide what to take and hand over. */
  async round({ draining = false, blocked = new Set<number>() } = {}): Promise<MembershipPlan> {
    const { instance, nodeId, leaseMs, nodeTtlMs } = this.#o;
    await this.#pool.query(
      `update rt_nodes set heartbeat_at = now(), draining = $2 where instance = $1`,
      [instance, draining],
    );
    // Forget nodes gone for long; their leases expired long ago.
    await this.#pool.query(
      `delete from rt_nodes where heartbeat_at < now() - interval '10 minutes'`,
    );
    const lost: number[] = [];
    if (this.owned.size > 0) {
      const { rows } = await this.#pool.query<{ partition: number; epoch: string }>(
        `update rt_partitions set lease_until = now() + make_interval(secs => $2::float8 / 1000)
         where owner = $1 and partition = any($3::int[]) returning partition, epoch`,
        [instance, leaseMs, [...this.owned.keys()]],
      );
      const renewed = new Map(rows.map((r) => [r.partition, Number(r.epoch)]));
      for (const [p, epoch] of this.owned) {
        if (renewed.get(p) !== epoch) {
          lost.push(p);
          this.owned.delete(p);
        }
      }
    }
    const { rows: nodes } = await this.#pool.query<{ node_id: string }>(
      `select distinct node_id from rt_nodes
       where heartbeat_at > now() - make_interval(secs => $1::float8 / 1000) and not draining`,
      [nodeTtlMs],
    );
    const liveNodes = nodes.map((n) => n.node_id).sort();
    const { rows: parts } = await this.#pool.query<
      { partition: number; owner: string | null; free: boolean }
    >(
      `select partition, owner, (owner is null or lease_until < now()) as free from rt_partitions
       where partition < $1`,
      [this.#o.partitions],
    );
    const toTake: number[] = [];
    const handOver: number[] = [];
    for (const part of parts) {
      const preferred = preferredOwner(part.partition, liveNodes);
      const mine = this.owned.has(part.partition);
      if (mine && preferred !== undefined && preferred !== nodeId) handOver.push(part.partition);
      else if (
        !mine && !draining && preferred === nodeId && part.free && !blocked.has(part.partition)
      ) toTake.push(part.partition);
    }
    const taken = new Map<number, number>();
    if (toTake.length > 0) {
      const { rows } = await this.#pool.query<{ partition: number; epoch: string }>(
        `update rt_partitions set owner = $1, epoch = epoch + 1,
           lease_until = now() + make_interval(secs => $2::float8 / 1000)
         where partition = any($3::int[]) and (owner is null or lease_until < now())
         returning partition, epoch`,
        [instance, leaseMs, toTake],
      );
      for (const r of rows) {
        taken.set(r.partition, Number(r.epoch));
        this.owned.set(r.partition, Number(r.epoch));
      }
    }
    return { taken, lost, handOver, liveNodes };
  }

  /**
   * Gives partitions back (after their turns finished) so the preferred node takes them at once.
   * Each is released only if still held at the given epoch.
   */
  async release(partitions: { partition: number; epoch: number }[]): Promise<void> {
    if (partitions.length === 0) return;
    await this.#pool.query(
      `update rt_partitions rp set owner = null, lease_until = '-infinity'
       from unnest($2::int[], $3::bigint[]) as x(p, e)
       where rp.partition = x.p and rp.epoch = x.e and rp.owner = $1`,
      [this.#o.instance, partitions.map((p) => p.partition), partitions.map((p) => p.epoch)],
    );
    for (const { partition } of partitions) this.owned.delete(partition);
  }

  async leave(): Promise<void> {
    await this.release([...this.owned].map(([partition, epoch]) => ({ partition, epoch })));
    await this.#pool.query(`delete from rt_nodes where instance = $1`, [this.#o.instance]);
  }
}
