/**
 * The configurations we ship (docker-compose.yml, deploy/k8s) are locked like the embedded
 * services: nothing published beyond loopback by default, no committed secret, NATS users with
 * the operator permissions the embedded server uses, and a NetworkPolicy in front of the data.
 */
import assert from "node:assert/strict";
import { operatorPermissions } from "../app/infra/nats_auth.ts";

const read = (path: string) => Deno.readTextFile(new URL(`../${path}`, import.meta.url));

Deno.test("docker-compose.yml publishes on 127.0.0.1 only and takes every credential from .env", async () => {
  const compose = await read("docker-compose.yml");
  const ports = [...compose.matchAll(/ports:\s*\[([^\]]*)\]/g)].flatMap((m) =>
    m[1]!.split(",").map((p) => p.trim().replaceAll('"', ""))
  );
  assert.ok(ports.length >= 5, ports.join(" "));
  const open = ports.filter((p) =>
    !/^(127\.0\.0\.1|\$\{COACHD_HTTP_BIND:-127\.0\.0\.1\}):/.test(p)
  );
  assert.deepEqual(open, []);
  // No literal password: each is a required variable.
  assert.doesNotMatch(compose, /POSTGRES_PASSWORD:\s*[a-z]/);
  assert.doesNotMatch(compose, /postgres:\/\/[^:]+:[a-z0-9]+@/i);
  for (const v of ["POSTGRES_PASSWORD", "NATS_NODE_PASSWORD", "JWT_SECRET", "SECRETS_KEY"]) {
    assert.match(compose, new RegExp(`\\$\\{${v}:\\?`), v);
  }
  const example = await read(".env.example");
  const filled = example.split("\n").filter((l) =>
    /^[A-Z_]+=.+/.test(l) && !l.startsWith("COACHD_HTTP_BIND=")
  );
  assert.deepEqual(filled, [], ".env.example must not carry secrets");
});

Deno.test("shipped NATS configurations require users, with the operator limited as on the embedded server", async () => {
  const { publish, subscribe } = operatorPermissions("coachd");
  const compose = (await read("docker-compose.yml")).replaceAll("$$", "$");
  const helm = await read("deploy/k8s/nats-values.yaml");
  const files: [string, string][] = [["docker-compose.yml", compose], ["nats-values.yaml", helm]];
  for (const [name, text] of files) {
    assert.match(text, /authorization/, name);
    assert.doesNotMatch(text, /no_auth_user/, name);
    for (const subject of [...publish, ...subscribe]) {
      assert.ok(text.includes(`"${subject}"`), `${name} lacks ${subject}`);
    }
    assert.ok(!text.includes('"coachd.mbx.'), `${name} lets the operator reach mailboxes`);
  }
});

Deno.test("deploy/k8s has NetworkPolicies: only nodes reach Postgres, NATS and Chroma", async () => {
  const policies = await read("deploy/k8s/network-policy.yaml");
  assert.ok((await read("deploy/k8s/kustomization.yaml")).includes("network-policy.yaml"));
  const docs = policies.split(/^---$/m);
  const policyFor = (selector: string) => docs.find((d) => d.includes(selector));
  assert.ok(docs.some((d) => /podSelector: \{\}/.test(d) && /policyTypes: \[Ingress\]/.test(d)));
  for (
    const [selector, port] of [
      ["cnpg.io/cluster: coachd-pg", 5432],
      ["app.kubernetes.io/name: nats", 4222],
      ["app: chroma", 8000],
    ] as const
  ) {
    const doc = policyFor(`matchLabels: { ${selector} }`);
    assert.ok(doc, selector);
    assert.match(doc, new RegExp(`app: coachd-node[\\s\\S]*port: ${port}`), selector);
  }
});
