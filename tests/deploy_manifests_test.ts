/**
 * The Kubernetes manifests as they would be applied: `kubectl kustomize` renders the base and the
 * production overlay, and every object is checked twice against its API's schema — at run time
 * by the validators of the `kubernetes-models` packages (types, required fields, enums) and at
 * type-check time, as an object literal of the model's interface (a misspelt or unknown field
 * fails `deno check`). CloudNativePG has no models package: tests/fixtures/cnpg/types.ts holds
 * the part of its API the manifests use. The alert rules are checked for structure and for the
 * metrics they name.
 */
import { LAYERS } from "./layers.ts";
import { kubectl } from "./kubectl.ts";
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { parse, parseAllDocuments } from "yaml";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const BASE = "deploy/k8s";
const PRODUCTION = "deploy/overlays/production";

type Manifest =
  & { apiVersion: string; kind: string; metadata: { name: string } }
  & Record<
    string,
    unknown
  >;

/** Where the model of each kind lives: the module and its class / interface name. */
const MODELS: Record<string, string> = {
  "v1/Namespace": "kubernetes-models/v1/Namespace",
  "v1/ConfigMap": "kubernetes-models/v1/ConfigMap",
  "v1/Service": "kubernetes-models/v1/Service",
  "v1/PersistentVolumeClaim": "kubernetes-models/v1/PersistentVolumeClaim",
  "apps/v1/Deployment": "kubernetes-models/apps/v1/Deployment",
  "apps/v1/StatefulSet": "kubernetes-models/apps/v1/StatefulSet",
  "autoscaling/v2/HorizontalPodAutoscaler":
    "kubernetes-models/autoscaling/v2/HorizontalPodAutoscaler",
  "policy/v1/PodDisruptionBudget": "kubernetes-models/policy/v1/PodDisruptionBudget",
  "networking.k8s.io/v1/NetworkPolicy": "kubernetes-models/networking.k8s.io/v1/NetworkPolicy",
  "batch/v1/CronJob": "kubernetes-models/batch/v1/CronJob",
  "keda.sh/v1alpha1/ScaledObject": "@kubernetes-models/keda/keda.sh/v1alpha1/ScaledObject",
  "argoproj.io/v1alpha1/Rollout": "@kubernetes-models/argo-rollouts/argoproj.io/v1alpha1/Rollout",
  "argoproj.io/v1alpha1/AnalysisTemplate":
    "@kubernetes-models/argo-rollouts/argoproj.io/v1alpha1/AnalysisTemplate",
  "monitoring.coreos.com/v1/PrometheusRule":
    "@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/PrometheusRule",
  "postgresql.cnpg.io/v1/Cluster": "./fixtures/cnpg/types.ts",
  "postgresql.cnpg.io/v1/ScheduledBackup": "./fixtures/cnpg/types.ts",
};

const keyOf = (m: Manifest) => `${m.apiVersion}/${m.kind}`;

async function render(dir: string): Promise<Manifest[]> {
  const out = await new Deno.Command(await kubectl(), {
    args: ["kustomize", dir],
    cwd: ROOT,
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.ok(out.success, new TextDecoder().decode(out.stderr));
  return parseAllDocuments(new TextDecoder().decode(out.stdout)).map((d) => d.toJS());
}

/** Run-time validation; returns one line per invalid object. */
async function validate(manifests: Manifest[]): Promise<string[]> {
  const problems: string[] = [];
  for (const m of manifests) {
    const module = MODELS[keyOf(m)];
    if (!module) {
      problems.push(`${keyOf(m)} ${m.metadata.name}: no schema known for this kind`);
      continue;
    }
    if (module.startsWith("./")) continue; // CloudNativePG: type-checked only
    const Model = (await import(module))[m.kind];
    try {
      new Model(m).validate();
    } catch (err) {
      problems.push(`${keyOf(m)} ${m.metadata.name}: ${(err as Error).message}`);
    }
  }
  return problems;
}

/** Type-checks every manifest as a literal of its model's interface; returns the errors. */
async function typeCheck(manifests: Manifest[]): Promise<string> {
  const dir = await Deno.makeTempDir({ dir: `${ROOT}/tests`, prefix: ".manifests-" });
  try {
    const imports = new Map<string, Set<string>>();
    const lines: string[] = [];
    manifests.forEach((m, i) => {
      const module = MODELS[keyOf(m)];
      if (!module) return;
      const from = module.startsWith("./") ? `../${module.slice(2)}` : module;
      imports.set(from, (imports.get(from) ?? new Set()).add(`I${m.kind}`));
      lines.push(`// ${keyOf(m)} ${m.metadata.name}`);
      lines.push(`export const m${i}: I${m.kind} = ${JSON.stringify(m, null, 2)};`);
    });
    const head = [...imports].map(([from, names]) =>
      `import type { ${[...names].join(", ")} } from "${from}";`
    );
    const file = `${dir}/manifests.ts`;
    await Deno.writeTextFile(file, [...head, ...lines].join("\n") + "\n");
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["check", "--quiet", file],
      cwd: ROOT,
      stdout: "piped",
      stderr: "piped",
    }).output();
    return out.success ? "" : new TextDecoder().decode(out.stderr);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("manifests - the base and the production overlay render and match the Kubernetes and CRD schemas", async () => {
  const base = await render(BASE);
  const production = await render(PRODUCTION);
  const kinds = new Set(production.map(keyOf));
  for (
    const k of [
      "keda.sh/v1alpha1/ScaledObject",
      "argoproj.io/v1alpha1/Rollout",
      "argoproj.io/v1alpha1/AnalysisTemplate",
      "monitoring.coreos.com/v1/PrometheusRule",
      "postgresql.cnpg.io/v1/ScheduledBackup",
      "batch/v1/CronJob",
    ]
  ) assert.ok(kinds.has(k), `the production overlay has a ${k}`);
  assert.ok(base.some((m) => m.kind === "HorizontalPodAutoscaler"));
  assert.ok(
    !production.some((m) => m.kind === "HorizontalPodAutoscaler"),
    "KEDA owns the autoscaler in production",
  );
  const all = [...base, ...production];
  assert.deepEqual(await validate(all), []);
  assert.equal(await typeCheck(all), "");
});

Deno.test("manifests - the production overlay wires autoscaling, rollout and backups together", async () => {
  const production = await render(PRODUCTION);
  const find = (kind: string, name?: string) =>
    // deno-lint-ignore no-explicit-any -- manifests are read by path
    production.find((m) => m.kind === kind && (!name || m.metadata.name === name)) as any;
  const rollout = find("Rollout");
  const deployment = find("Deployment", "coachd-node");
  assert.equal(rollout.spec.workloadRef.name, deployment.metadata.name);
  assert.deepEqual(rollout.spec.selector.matchLabels, deployment.spec.selector.matchLabels);
  const templates = rollout.spec.strategy.canary.analysis.templates.map(
    (t: { templateName: string }) => t.templateName,
  );
  assert.deepEqual(templates, [find("AnalysisTemplate").metadata.name]);
  const scaled = find("ScaledObject");
  assert.deepEqual(scaled.spec.scaleTargetRef, {
    apiVersion: "argoproj.io/v1alpha1",
    kind: "Rollout",
    name: rollout.metadata.name,
  });
  const types = scaled.spec.triggers.map((t: { type: string }) => t.type).sort();
  assert.deepEqual(types, ["cpu", "nats-jetstream", "prometheus"]);
  const js = scaled.spec.triggers.find((t: { type: string }) => t.type === "nats-jetstream");
  const config = find("ConfigMap", "coachd-config").data;
  assert.equal(js.metadata.stream, `${config.NATS_PREFIX}_events`);
  assert.equal(js.metadata.consumer, "deliveries");
  const cluster = find("Cluster");
  assert.ok(cluster.spec.backup.barmanObjectStore.destinationPath.startsWith("s3://"));
  assert.match(cluster.spec.backup.retentionPolicy, /^\d+[dwm]$/);
  assert.equal(find("ScheduledBackup").spec.cluster.name, cluster.metadata.name);
  assert.equal(find("ScheduledBackup").spec.schedule.split(" ").length, 6, "CNPG cron has seconds");
  // Every metric the analysis and the KEDA query read is one the nodes export.
  const exported = await exportedMetrics();
  const queries = [
    ...find("AnalysisTemplate").spec.metrics.map((
      m: { provider: { prometheus: { query: string } } },
    ) => m.provider.prometheus.query),
    scaled.spec.triggers.find((t: { type: string }) => t.type === "prometheus").metadata.query,
  ];
  for (const q of queries) for (const name of coachdMetrics(q)) assert.ok(exported.has(name), name);
});

Deno.test("manifests - a misspelt field or a value of the wrong type fails the checks", async () => {
  const production = await render(PRODUCTION);
  // deno-lint-ignore no-explicit-any -- mutating rendered objects
  const pick = (kind: string) => structuredClone(production.find((m) => m.kind === kind)) as any;
  const deployment = pick("Deployment");
  deployment.spec.template.spec.containers[0].imagePullPolcy = "Always";
  const scaled = pick("ScaledObject");
  scaled.spec.minReplicaCount = "three";
  const cluster = pick("Cluster");
  cluster.spec.backup.retentionPolcy = "30d";
  const rule = pick("PrometheusRule");
  rule.spec.groups[0].rules[0].fore = "10m";
  const errors = await typeCheck([deployment, scaled, cluster, rule]);
  for (const typo of ["imagePullPolcy", "minReplicaCount", "retentionPolcy", "fore"]) {
    assert.match(errors, new RegExp(typo), `${typo} is reported`);
  }
  assert.match((await validate([scaled])).join("\n"), /minReplicaCount must be integer/);
});

Deno.test("alert rules - well formed, PrometheusRule equal to alerts.yml, every coachd metric exported", async () => {
  const rules = parse(await Deno.readTextFile(`${ROOT}/deploy/prometheus/alerts.yml`));
  const crd = parse(
    await Deno.readTextFile(`${ROOT}/${PRODUCTION}/prometheus-rule.yaml`),
  );
  assert.deepEqual(crd.spec, rules, "the PrometheusRule carries alerts.yml's groups");
  const exported = await exportedMetrics();
  const names = new Set<string>();
  for (const g of rules.groups) {
    assert.equal(typeof g.name, "string");
    assert.ok(g.rules.length > 0, `${g.name} has rules`);
    for (const r of g.rules) {
      assert.deepEqual(
        Object.keys(r).filter((k) =>
          !["alert", "expr", "for", "labels", "annotations"].includes(k)
        ),
        [],
        `${r.alert}: only known keys`,
      );
      assert.match(r.alert, /^Coachd[A-Z][A-Za-z]+$/);
      assert.ok(!names.has(r.alert), `${r.alert} is unique`);
      names.add(r.alert);
      assert.equal(typeof r.expr, "string");
      assert.equal(balanced(r.expr), true, `${r.alert}: balanced brackets`);
      if (r.for !== undefined) assert.match(r.for, /^\d+[smh]$/, `${r.alert}: for`);
      assert.ok(
        ["info", "warning", "critical"].includes(r.labels?.severity),
        `${r.alert} severity`,
      );
      assert.ok(r.annotations?.summary && r.annotations?.description, `${r.alert} annotations`);
      for (const m of coachdMetrics(r.expr)) {
        assert.ok(exported.has(m), `${r.alert} uses ${m}, which the code does not export`);
      }
    }
  }
  for (
    const wanted of [
      "CoachdMailboxLag",
      "CoachdDeadLetters",
      "CoachdDeliveryFailures",
      "CoachdReminderLateness",
      "CoachdLeaseChurn",
      "CoachdPostgresDown",
      "CoachdNatsDown",
    ]
  ) assert.ok(names.has(wanted), wanted);
});

/** `coachd_*` metric names in a PromQL expression, histogram suffixes removed. */
function coachdMetrics(expr: string): string[] {
  return [...expr.matchAll(/\bcoachd_[a-z_]+/g)].map((m) =>
    m[0].replace(/_(bucket|sum|count)$/, "")
  );
}

/** Every metric name registered with prom-client in the product code. */
async function exportedMetrics(): Promise<Set<string>> {
  const names = new Set<string>();
  for (const dir of LAYERS) {
    for await (const file of walk(`${ROOT}/${dir}`)) {
      const text = await Deno.readTextFile(file);
      for (const m of text.matchAll(/name: "(coachd_[a-z_]+)"/g)) names.add(m[1]!);
    }
  }
  return names;
}

async function* walk(dir: string): AsyncGenerator<string> {
  for await (const e of Deno.readDir(dir)) {
    const path = `${dir}/${e.name}`;
    if (e.isDirectory) yield* walk(path);
    else if (e.name.endsWith(".ts") && !e.name.endsWith("_test.ts")) yield path;
  }
}

function balanced(expr: string): boolean {
  const pairs: Record<string, string> = { ")": "(", "]": "[", "}": "{" };
  const stack: string[] = [];
  for (const ch of expr.replace(/"[^"]*"/g, "")) {
    if ("([{".includes(ch)) stack.push(ch);
    else if (pairs[ch] && stack.pop() !== pairs[ch]) return false;
  }
  return stack.length === 0;
}
