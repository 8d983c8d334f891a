import { Buffer } from "node:buffer";

const encodeBase64 = (b: Uint8Array) => Buffer.from(b).toString("base64");
const decodeBase64 = (t: string) => new Uint8Array(Buffer.from(t, "base64"));

/**
 * Returns `configured` (base64) when set; otherwise the secret stored in `<dataDir>/<name>`,
 * creating it with `bytes` random bytes on first use so a zero-config node keeps its tokens and
 * encrypted data valid across restarts. The file is created with mode 0600.
 */
export async function loadOrCreateSecret(
  { configured, dataDir, name, bytes = 32 }: {
    configured?: string;
    dataDir: string;
    name: string;
    bytes?: number;
  },
): Promise<Uint8Array> {
  if (configured) return decodeBase64(configured);
  const path = `${dataDir}/${name}`;
  try {
    return decodeBase64((await Deno.readTextFile(path)).trim());
  } catch (err) {
    if (!(err instanceof Deno.errors.NotFound)) throw err;
  }
  await Deno.mkdir(dataDir, { recursive: true });
  const secret = crypto.getRandomValues(new Uint8Array(bytes));
  try {
    await Deno.writeTextFile(path, encodeBase64(secret) + "\n", { createNew: true, mode: 0o600 });
    return secret;
  } catch (err) {
    // Another process on the same data dir won the race: use its secret.
    if (err instanceof Deno.errors.AlreadyExists) {
      return decodeBase64((await Deno.readTextFile(path)).trim());
    }
    throw err;
  }
}

export class SecretKeyError extends Error {
  constructor(length: number) {
    super(`SECRETS_KEY must decode to 32 bytes, got ${length}`);
    this.name = "SecretKeyError";
  }
}

export interface Sealed {
  iv: Uint8Array;
  ciphertext: Uint8Array;
}

/** AES-256-GCM encryption of small secrets, bound to a context string (additional data). */
export class SecretBox {
  readonly #key: Promise<CryptoKey>;

  /** @throws SecretKeyError unless `raw` is 32 bytes. */
  constructor(raw: Uint8Array) {
    if (raw.length !== 32) throw new SecretKeyError(raw.length);
    this.#key = crypto.subtle.importKey("raw", raw as BufferSource, "AES-GCM", false, [
      "encrypt",
      "decrypt",
    ]);
  }

  async seal(plaintext: string, context: string): Promise<Sealed> {
    const iv = crypto.getRandomValues(new Uint8Array(12));
    const data = await crypto.subtle.encrypt(
      { name: "AES-GCM", iv, additionalData: new TextEncoder().encode(context) },
      await this.#key,
      new TextEncoder().encode(plaintext),
    );
    return { iv, ciphertext: new Uint8Array(data) };
  }

  async open(sealed: Sealed, context: string): Promise<string> {
    const data = await crypto.subtle.decrypt(
      {
        name: "AES-GCM",
        iv: sealed.iv as BufferSource,
        additionalData: new TextEncoder().encode(context),
      },
      await this.#key,
      sealed.ciphertext as BufferSource,
    );
    return new TextDecoder().decode(data);
  }
}
