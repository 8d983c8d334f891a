import { Counter, Gauge, Histogram, Registry } from "prom-client";

/** The runtime's Prometheus metrics, in a registry of its own (several systems may share a process). */
export function createRuntimeMetrics(labels: { node: string }) {
  const registry = new Registry();
  registry.setDefaultLabels(labels);
  const registers = [registry];
  return {
    registry,
    turns: new Counter({
      name: "coachd_actor_turns_total",
      help: "Turns run, by actor type and outcome",
      labelNames: ["type", "outcome"] as const,
      registers,
    }),
    turnLatency: new Histogram({
      name: "coachd_actor_turn_seconds",
      help: "From delivery to commit of a turn",
      labelNames: ["type"] as const,
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers,
    }),
    commitBatch: new Histogram({
      name: "coachd_commit_batch_size",
      help: "Turns per group commit",
      buckets: [1, 2, 4, 8, 16, 32, 64, 128, 256, 512],
      registers,
    }),
    commitLatency: new Histogram({
      name: "coachd_commit_seconds",
      help: "Duration of one group commit (one Postgres round trip, one fsync)",
      buckets: [0.0005, 0.001, 0.002, 0.004, 0.008, 0.016, 0.032, 0.064, 0.128, 0.5],
      registers,
    }),
    resident: new Gauge({ name: "coachd_resident_actors", help: "Actors in memory", registers }),
    ownedPartitions: new Gauge({
      name: "coachd_owned_partitions",
      help: "Partitions leased",
      registers,
    }),
    mailboxLag: new Gauge({
      name: "coachd_mailbox_lag_messages",
      help: "Messages waiting in the mailboxes of owned partitions",
      registers,
    }),
    reminderLateness: new Histogram({
      name: "coachd_reminder_lateness_seconds",
      help: "Delay between a reminder's due time and its delivery to the mailbox",
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 5, 30],
      registers,
    }),
    remindersHeld: new Gauge({
      name: "coachd_reminders_in_window",
      help: "Reminders held in memory (due within the loading window)",
      registers,
    }),
    outboxBacklog: new Gauge({
      name: "coachd_outbox_backlog",
      help: "Outbox rows committed but not yet published",
      registers,
    }),
    deadLetters: new Counter({
      name: "coachd_dead_letters_total",
      help: "Messages sent to the dead-letter stream",
      labelNames: ["reason"] as const,
      registers,
    }),
  };
}

/** The metrics of one `ActorSystem` (`system.metrics.registry` serves them). */
export type RuntimeMetrics = ReturnType<typeof createRuntimeMetrics>;
