/**
 * Refuses webhook targets that would make the node call into a private network (SSRF): the host
 * is resolved and every address it resolves to must be public, unless private targets are
 * allowed by configuration (WEBHOOKS_ALLOW_PRIVATE, for tests and closed installations).
 */
import { lookup } from "node:dns/promises";
import { isIP } from "node:net";

export class TargetRefusedError extends Error {
  constructor(readonly url: string, reason: string) {
    super(`Webhook target ${url} is refused: ${reason}`);
    this.name = "TargetRefusedError";
  }
}

const v4 = (a: string) => a.split(".").map(Number) as [number, number, number, number];

/** Whether an IP address is loopback, private, link-local, shared, multicast or reserved. */
export function isPrivateAddress(address: string): boolean {
  if (isIP(address) === 4) {
    const [a, b, c] = v4(address);
    return a === 0 || a === 10 || a === 127 || (a === 100 && b >= 64 && b <= 127) ||
      (a === 169 && b === 254) || (a === 172 && b >= 16 && b <= 31) ||
      (a === 192 && b === 168) || (a === 192 && b === 0 && (c === 0 || c === 2)) ||
      (a === 198 && (b === 18 || b === 19)) || (a === 198 && b === 51 && c === 100) ||
      (a === 203 && b === 0 && c === 113) || a >= 224;
  }
  const v6 = address.toLowerCase().replace(/^\[|\]$/g, "");
  const mapped = v6.match(/^(?:0*:)*:?ffff:(\d+\.\d+\.\d+\.\d+)$/);
  if (mapped) return isPrivateAddress(mapped[1]!);
  return v6 === "::" || v6 === "::1" || /^f[cd]/.test(v6) || /^fe[89ab]/.test(v6) ||
    /^ff/.test(v6) || v6.startsWith("64:ff9b:") || v6.startsWith("2001:db8:") ||
    v6.startsWith("100:");
}

export type Resolve = (host: string) => Promise<string[]>;
const systemResolve: Resolve = async (host) =>
  (await lookup(host, { all: true, verbatim: true })).map((a) => a.address);

/**
 * Checks a target URL: http(s) only, no credentials in it, and every address of its host public
 * (unless `allowPrivate`).
 * @throws TargetRefusedError
 */
export async function checkTarget(
  raw: string,
  { allowPrivate = false, resolve = systemResolve }: { allowPrivate?: boolean; resolve?: Resolve } =
    {},
): Promise<URL> {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new TargetRefusedError(raw, "not a URL");
  }
  if (url.protocol !== "https:" && url.protocol !== "http:") {
    throw new TargetRefusedError(raw, "only http and https are allowed");
  }
  if (url.username || url.password) throw new TargetRefusedError(raw, "credentials in the URL");
  if (allowPrivate) return url;
  const host = url.hostname.replace(/^\[|\]$/g, "");
  let addresses: string[];
  try {
    addresses = isIP(host) ? [host] : await resolve(host);
  } catch {
    throw new TargetRefusedError(raw, `${host} does not resolve`);
  }
  if (!addresses.length) throw new TargetRefusedError(raw, `${host} does not resolve`);
  const inside = addresses.find(isPrivateAddress);
  if (inside) throw new TargetRefusedError(raw, `${host} resolves to a private address`);
  return url;
}
