/** Prometheus view of the providers' circuit breakers: `coachd_provider_breaker_open{provider}`. */
import { Gauge, type Registry } from "prom-client";
import type { ProviderBreakers } from "../knowledge/mod.ts";

/** Adds the gauge to `registry` (the runtime's, so it carries the node label). */
export function registerBreakerMetrics(breakers: ProviderBreakers, registry: Registry): void {
  new Gauge({
    name: "coachd_provider_breaker_open",
    help: "1 while the provider's circuit breaker is open (calls refused), else 0",
    labelNames: ["provider"],
    registers: [registry],
    collect() {
      this.reset();
      for (const [provider, b] of Object.entries(breakers.describe())) {
        this.set({ provider }, b.state === "open" ? 1 : 0);
      }
    },
  });
}
