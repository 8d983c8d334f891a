import type { EmbeddedPart } from "./node.ts";
import { redactNatsUrl } from "./nats_connect.ts";

/**
 * The few lines `deno task start` prints once the node is ready: where it listens, where its data
 * is and what it runs itself, so a newcomer knows what they have. No secret appears in it.
 */
export function startSummary(
  { nodeId, addr, dataDir, embedded, databaseUrl, natsUrl, chromaUrl }: {
    nodeId: string;
    addr: Deno.NetAddr;
    dataDir: string;
    embedded: EmbeddedPart[];
    databaseUrl: string;
    natsUrl: string;
    chromaUrl: string;
  },
): string {
  const host = addr.hostname === "0.0.0.0" || addr.hostname === "::" ? "localhost" : addr.hostname;
  const base = `http://${host}:${addr.port}`;
  const row = (name: string, text: string) => `  ${name.padEnd(9)} ${text}`;
  const lines = [
    `Coachd node ${nodeId} is ready`,
    row("API", `${base}/v1  (reference: ${base}/v1/docs)`),
    row("health", `${base}/readyz, metrics ${base}/metrics`),
    row("data", dataDir),
  ];
  const configured: Record<EmbeddedPart["name"], string> = {
    Postgres: `DATABASE_URL (${new URL(databaseUrl).host})`,
    NATS: `NATS_URL (${redactNatsUrl(natsUrl).replace(/nats:\/\//g, "")})`,
    Chroma: `CHROMA_URL (${new URL(chromaUrl).host})`,
  };
  for (const name of ["Postgres", "NATS", "Chroma"] as const) {
    const part = embedded.find((p) => p.name === name);
    if (!part) {
      lines.push(row(name, `from ${configured[name]}`));
      continue;
    }
    lines.push(row(name, `embedded on ${part.address}, data in ${part.data}`));
    if (part.note) lines.push(row("", part.note));
  }
  return lines.join("\n");
}
