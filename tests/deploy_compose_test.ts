/**
 * docker-compose.yml's observability profile: Prometheus with the shipped alert rules and a
 * scrape job for every job the rules name, Grafana provisioned with the shipped dashboards and
 * datasources, Jaeger receiving the node's OTLP traces; none of them starts without the flag.
 */
import { LAYERS } from "./layers.ts";
import assert from "node:assert/strict";
import { parse } from "yaml";

const read = (path: string) => Deno.readTextFile(new URL(`../${path}`, import.meta.url));
const exists = (path: string) =>
  Deno.stat(new URL(`../${path}`, import.meta.url)).then(() => true, () => false);

Deno.test("docker compose --profile observability - Prometheus, Grafana and Jaeger, wired to the node and the shipped files", async () => {
  const compose = parse(await read("docker-compose.yml"));
  const profiled = Object.entries(compose.services as Record<string, { profiles?: string[] }>)
    .filter(([, s]) => s.profiles?.includes("observability")).map(([name]) => name).sort();
  assert.deepEqual(profiled, [
    "grafana",
    "jaeger",
    "nats-exporter",
    "postgres-exporter",
    "prometheus",
  ]);
  for (const core of ["nats", "postgres", "chroma", "migrate", "node"]) {
    assert.equal(compose.services[core].profiles, undefined, `${core} starts without a profile`);
  }

  // Prometheus: the alert rules mounted where rule_files points, a job per job the rules name.
  const prom = compose.services.prometheus;
  const config = parse(compose.configs.prometheus_yml.content);
  const rulesMount = prom.volumes.find((v: string) =>
    v.startsWith("./deploy/prometheus/alerts.yml:")
  );
  assert.ok(rulesMount, "alerts.yml is mounted");
  assert.deepEqual(config.rule_files, [rulesMount.split(":")[1]]);
  const jobs = config.scrape_configs.map((j: { job_name: string }) => j.job_name);
  const rules = parse(await read("deploy/prometheus/alerts.yml"));
  const named = new Set<string>();
  for (const g of rules.groups) {
    for (const r of g.rules) {
      for (const m of r.expr.matchAll(/job=~?"([^"]+)"/g)) named.add(m[1]);
    }
  }
  for (const pattern of named) {
    const re = new RegExp(`^${pattern}$`);
    assert.ok(jobs.some((j: string) => re.test(j)), `a scrape job matches job=~"${pattern}"`);
  }
  assert.ok(
    config.scrape_configs.some((j: { static_configs: { targets: string[] }[] }) =>
      j.static_configs[0]!.targets.includes("node:8080")
    ),
  );

  // Grafana: provisioning and dashboards mounted from the repository, and they exist.
  const grafana = compose.services.grafana;
  for (const v of grafana.volumes as string[]) {
    if (!v.startsWith("./")) continue;
    assert.ok(await exists(v.split(":")[0]!.slice(2)), `${v} exists`);
  }
  const ds = parse(await read("deploy/grafana/provisioning/datasources/coachd.yml"));
  assert.ok(
    ds.datasources.some((d: { type: string; url: string }) =>
      d.type === "prometheus" && d.url === "http://prometheus:9090"
    ),
  );
  const provider = parse(await read("deploy/grafana/provisioning/dashboards/coachd.yml"));
  const dashboardsMount = grafana.volumes.find((v: string) => v.startsWith("./deploy/grafana:"));
  assert.equal(provider.providers[0].options.path, dashboardsMount.split(":")[1]);
  const dashboards = [...Deno.readDirSync(new URL("../deploy/grafana", import.meta.url))]
    .filter((e) => e.name.endsWith(".json"));
  assert.ok(dashboards.length >= 1);
  // Every coachd_* metric a dashboard plots is one the code exports.
  const exported = new Set<string>();
  for (const dir of LAYERS) {
    for (const f of walk(new URL(`../${dir}`, import.meta.url).pathname)) {
      for (const m of Deno.readTextFileSync(f).matchAll(/name: "(coachd_[a-z_]+)"/g)) {
        exported.add(m[1]!);
      }
    }
  }
  for (const d of dashboards) {
    const dashboard = JSON.parse(await read(`deploy/grafana/${d.name}`));
    for (const p of dashboard.panels) {
      for (const t of p.targets ?? []) {
        for (const m of String(t.expr).matchAll(/\bcoachd_[a-z_]+/g)) {
          const name = m[0].replace(/_(bucket|sum|count)$/, "");
          assert.ok(exported.has(name), `${d.name} "${p.title}" plots ${name}`);
        }
      }
    }
  }

  // Jaeger gets the node's spans: Deno's OpenTelemetry pointed at its OTLP port.
  const env = compose.services.node.environment;
  assert.equal(env.OTEL_DENO, "true");
  assert.equal(env.OTEL_EXPORTER_OTLP_ENDPOINT, "http://jaeger:4318");
  assert.ok(compose.services.jaeger.ports.some((p: string) => p.startsWith("127.0.0.1:16686")));
});

function* walk(dir: string): Generator<string> {
  for (const e of Deno.readDirSync(dir)) {
    const path = `${dir}/${e.name}`;
    if (e.isDirectory) yield* walk(path);
    else if (e.name.endsWith(".ts") && !e.name.endsWith("_test.ts")) yield path;
  }
}
