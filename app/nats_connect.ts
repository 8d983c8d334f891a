import { credsAuthenticator, type NodeConnectionOptions } from "@nats-io/transport-node";

/** How the node authenticates to NATS, beside what its URL carries. */
export interface NatsAuth {
  user?: string;
  password?: string;
  /** Path of a `.creds` file (decentralised JWT auth). */
  credsFile?: string;
}

export class NatsConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "NatsConfigError";
  }
}

/**
 * Connection options for `natsUrl` (one URL or several, comma-separated): credentials in a URL
 * (`nats://user:pass@host:4222`, or `nats://token@host`) are taken out of it, since the client
 * does not read them there; NATS_USER / NATS_PASSWORD / NATS_CREDS come on top.
 * @throws NatsConfigError when two ways of authenticating are given at once
 */
export async function natsConnectOptions(
  natsUrl: string,
  { user, password, credsFile }: NatsAuth = {},
): Promise<NodeConnectionOptions> {
  const servers: string[] = [];
  let fromUrl: { user?: string; pass?: string; token?: string } | undefined;
  for (const raw of natsUrl.split(",").map((s) => s.trim()).filter(Boolean)) {
    const withScheme = /^[a-z]+:\/\//i.test(raw) ? raw : `nats://${raw}`;
    const url = new URL(withScheme);
    if (url.username || url.password) {
      const found = url.password
        ? { user: decodeURIComponent(url.username), pass: decodeURIComponent(url.password) }
        : { token: decodeURIComponent(url.username) };
      fromUrl ??= found;
      url.username = "";
      url.password = "";
    }
    servers.push(`${url.protocol}//${url.host}`);
  }
  const ways = [fromUrl, user ?? password, credsFile].filter((w) => w !== undefined).length;
  if (ways > 1) {
    throw new NatsConfigError(
      "NATS credentials are given twice: use one of credentials in NATS_URL, " +
        "NATS_USER/NATS_PASSWORD, or NATS_CREDS",
    );
  }
  const options: NodeConnectionOptions = { servers };
  if (fromUrl) Object.assign(options, fromUrl);
  if (user !== undefined || password !== undefined) {
    Object.assign(options, { user, pass: password });
  }
  if (credsFile) options.authenticator = credsAuthenticator(await Deno.readFile(credsFile));
  return options;
}

/** `natsUrl` without any credentials it carries, for logs and the start summary. */
export function redactNatsUrl(natsUrl: string): string {
  return natsUrl.replace(/\/\/[^@/,]*@/g, "//");
}
