import { Counter, Gauge, Histogram, Registry } from "prom-client";

/**
 * The analytics projection's Prometheus metrics (merged into the node's `/metrics`): how far it
 * is behind the stream, what it applied, and the business events it saw by name (no creator or
 * person labels: operators see the platform's totals, creators their own figures in the API).
 */
export function createAnalyticsMetrics(labels: { node: string }) {
  const registry = new Registry();
  registry.setDefaultLabels(labels);
  const registers = [registry];
  return {
    registry,
    events: new Counter({
      name: "coachd_analytics_events_total",
      help: "Events read by the analytics projection, by outcome (applied, duplicate, rejected)",
      labelNames: ["outcome"] as const,
      registers,
    }),
    business: new Counter({
      name: "coachd_business_events_total",
      help: "Projected domain events by name (conversation.message, nudge.sent, " +
        "program.completed, badge.awarded, subscription.changed...)",
      labelNames: ["event"] as const,
      registers,
    }),
    position: new Gauge({
      name: "coachd_analytics_position",
      help: "Stream sequence the analytics read models have committed",
      registers,
    }),
    lag: new Gauge({
      name: "coachd_analytics_lag_events",
      help: "Events in the stream the analytics projection has not committed yet",
      registers,
    }),
    batchSeconds: new Histogram({
      name: "coachd_analytics_batch_seconds",
      help: "One projection batch: its rows and position in one transaction",
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers,
    }),
  };
}
export type AnalyticsMetrics = ReturnType<typeof createAnalyticsMetrics>;
