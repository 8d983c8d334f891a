/**
 * Who may do what on a Coachd NATS: nodes (everything: mailboxes, streams, the admin service's
 * replies) and operators (the `coachd-admin` micro service, service discovery and read-only
 * JetStream information, never a mailbox). The embedded nats-server is configured from here; the
 * shipped configurations (docker-compose.yml, deploy/k8s/nats-values.yaml) list the same subjects.
 */

export interface NatsPermissions {
  publish: string[];
  subscribe: string[];
}

/** What the operator user may publish and subscribe to, for the cluster's `prefix`. */
export function operatorPermissions(prefix: string): NatsPermissions {
  return {
    publish: [
      `${prefix}.admin.>`, // the admin service's endpoints
      "$SRV.>", // nats micro ls / info / stats
      "$JS.API.INFO",
      "$JS.API.STREAM.NAMES",
      "$JS.API.STREAM.LIST",
      "$JS.API.STREAM.INFO.>",
      "$JS.API.CONSUMER.NAMES.>",
      "$JS.API.CONSUMER.LIST.>",
      "$JS.API.CONSUMER.INFO.>",
    ],
    subscribe: ["_INBOX.>"], // replies to its own requests
  };
}

export interface NatsUsers {
  node: { user: string; password: string };
  operator: { user: string; password: string };
}

/** The nats-server configuration of the embedded server: loopback, JetStream, two users. */
export function natsServerConfig(
  { port, storeDir, prefix, users }: {
    port: number;
    storeDir: string;
    prefix: string;
    users: NatsUsers;
  },
): string {
  const q = (s: string) => JSON.stringify(s);
  const list = (xs: string[]) => `[${xs.map(q).join(", ")}]`;
  const op = operatorPermissions(prefix);
  return [
    `listen: "127.0.0.1:${port}"`,
    `jetstream { store_dir: ${q(storeDir)} }`,
    "authorization {",
    "  users: [",
    `    { user: ${q(users.node.user)}, password: ${q(users.node.password)} }`,
    `    { user: ${q(users.operator.user)}, password: ${q(users.operator.password)},`,
    `      permissions: { publish: { allow: ${list(op.publish)} },`,
    `                     subscribe: { allow: ${list(op.subscribe)} } } }`,
    "  ]",
    "}",
    "",
  ].join("\n");
}
