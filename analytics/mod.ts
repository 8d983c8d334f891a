/**
 * Analytics: the event catalog, the projection of the events stream into pseudonymous read
 * models, the reports creators read, and one person's export and erasure.
 * @module
 */
import type pg from "pg";
import type { NatsConnection } from "@nats-io/transport-node";
import type { Clock, Logger } from "../runtime/mod.ts";
import { SecretBox } from "../db/secrets.ts";
import { withTenant } from "../db/tenant.ts";
import { Pseudonyms } from "./privacy/pseudonyms.ts";
import type { AnalyticsMetrics } from "./metrics.ts";
import { erasePerson, exportPerson, type PersonExport } from "./privacy/erasure.ts";
import { type Projection, startProjection } from "./projections/runner.ts";
import {
  MIN_GROUP,
  readReport,
  type Report,
  type ReportQuery,
  type Row,
} from "./reports/report.ts";

export {
  EVENT_FAMILIES,
  type EventDefinition,
  eventDefinition,
  EVENTS,
  PROJECTED_EVENTS,
} from "./events/catalog.ts";
export { REPORTS } from "./reports/definitions.ts";
export {
  type Column,
  GRANULARITIES,
  type Granularity,
  MIN_GROUP,
  type Report,
  type ReportQuery,
  type Row,
  rowSchema,
  toCsv,
} from "./reports/report.ts";
export {
  checkpointOf,
  lastProjectedSeq,
  type Projection,
  waitForCheckpoint,
} from "./projections/runner.ts";
export { replayFromTables, resetProjection } from "./projections/rebuild.ts";
export type { PersonExport } from "./privacy/erasure.ts";
export { Pseudonyms } from "./privacy/pseudonyms.ts";
export { type AnalyticsMetrics, createAnalyticsMetrics } from "./metrics.ts";

export interface AnalyticsOptions {
  pool: pg.Pool;
  /** The node's secrets key (32 bytes): seals the per-creator pseudonym keys. */
  secretsKey: Uint8Array;
  /** Breakdown rows describing fewer people are suppressed (default 5). */
  minGroup?: number;
}

/** What the API and the node use of analytics. */
export class Analytics {
  readonly pool: pg.Pool;
  readonly pseudonyms: Pseudonyms;
  readonly minGroup: number;

  constructor(o: AnalyticsOptions) {
    this.pool = o.pool;
    this.pseudonyms = new Pseudonyms(o.pool, new SecretBox(o.secretsKey));
    this.minGroup = o.minGroup ?? MIN_GROUP;
  }

  /** A report for the creator of `q`, as that tenant (row-level security applies). */
  report(report: Report, q: ReportQuery): Promise<Row[]> {
    return withTenant(this.pool, q.creatorId, (c) => readReport(c, report, q, this.minGroup));
  }

  /** Starts projecting the events stream (one node at a time does). */
  project(
    o: {
      nc: NatsConnection;
      prefix: string;
      log: Logger;
      clock?: Clock;
      batchSize?: number;
      lockRetryMs?: number;
      resetCheckMs?: number;
      metrics?: AnalyticsMetrics;
    },
  ): Projection {
    return startProjection({ ...o, pool: this.pool, keys: this.pseudonyms });
  }

  exportPerson(creatorId: string, endUserId: string): Promise<PersonExport> {
    return exportPerson(this.pool, this.pseudonyms, creatorId, endUserId);
  }

  erasePerson(creatorId: string, endUserId: string): Promise<number> {
    return erasePerson(this.pool, this.pseudonyms, creatorId, endUserId);
  }
}
