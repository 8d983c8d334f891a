import { Counter, Histogram, Registry } from "prom-client";

/** The channels' Prometheus metrics, in a registry of their own (merged into `/metrics`). */
export function createChannelMetrics(labels: { node: string }) {
  const registry = new Registry();
  registry.setDefaultLabels(labels);
  const registers = [registry];
  return {
    registry,
    inbound: new Counter({
      name: "coachd_inbound_messages_total",
      help:
        "Messages received from providers, by channel and outcome (accepted, duplicate, rejected)",
      labelNames: ["channel", "outcome"] as const,
      registers,
    }),
    deliveries: new Counter({
      name: "coachd_deliveries_total",
      help: "Deliveries that reached a status, by channel and status",
      labelNames: ["channel", "status"] as const,
      registers,
    }),
    sendLatency: new Histogram({
      name: "coachd_delivery_send_seconds",
      help: "One provider send call, request to answer",
      labelNames: ["channel"] as const,
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    }),
    retries: new Counter({
      name: "coachd_delivery_retries_total",
      help: "Send attempts retried, by channel and reason",
      labelNames: ["channel", "reason"] as const,
      registers,
    }),
  };
}
export type ChannelMetrics = ReturnType<typeof createChannelMetrics>;
