/**
 * Speaks the first lines of the NATS protocol by hand: CONNECT (without credentials, or with
 * `auth`), then PING.
 * A server that requires authentication answers `-ERR 'Authorization Violation'`; an open one
 * answers PONG. (A client library that is refused can leave a socket erroring after the test.)
 */
export async function anonymousConnect(
  port: number,
  auth: { user?: string; pass?: string } = {},
): Promise<"accepted" | "refused"> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  try {
    const connect = JSON.stringify({ verbose: false, ...auth });
    await conn.write(new TextEncoder().encode(`CONNECT ${connect}\r\nPING\r\n`));
    let text = "";
    const buf = new Uint8Array(4096);
    const deadline = Date.now() + 5000;
    while (Date.now() < deadline) {
      const n = await conn.read(buf);
      if (n === null) break;
      text += new TextDecoder().decode(buf.subarray(0, n));
      if (/authorization violation/i.test(text)) return "refused";
      if (/\bPONG\r\n/.test(text)) return "accepted";
    }
    throw new Error(`No answer to CONNECT from 127.0.0.1:${port}: ${JSON.stringify(text)}`);
  } finally {
    try {
      conn.close();
    } catch { /* closed by the server */ }
  }
}
