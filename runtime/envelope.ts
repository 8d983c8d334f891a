import { headers as natsHeaders, type MsgHdrs } from "@nats-io/transport-node";
import { PayloadTooLargeError, type RemoteError } from "./errors.ts";

/** Header names the runtime puts on mailbox messages. */
export const H = {
  msgId: "Nats-Msg-Id",
  reply: "Coachd-Reply",
  chain: "Coachd-Chain",
  due: "Coachd-Due",
  reminder: "Coachd-Reminder",
  deadReason: "Coachd-Dead-Reason",
  deadSubject: "Coachd-Dead-Subject",
  deadAt: "Coachd-Dead-At",
  traceparent: "traceparent",
  /** On events: the actor (`type/id`) whose committed turn emitted it. */
  actor: "Coachd-Actor",
} as const;

/** Wire body of a mailbox message. */
export interface Envelope {
  k: string;
  d?: unknown;
}

/** Wire body of an ask reply. */
export type ReplyBody = { ok: unknown } | { err: RemoteError };

const encoder = new TextEncoder();
const decoder = new TextDecoder();

export function encodeEnvelope(kind: string, data: unknown, maxBytes: number): Uint8Array {
  const bytes = encoder.encode(JSON.stringify({ k: kind, d: data }));
  if (bytes.length > maxBytes) throw new PayloadTooLargeError(bytes.length, maxBytes);
  return bytes;
}

/** Returns the envelope, or a reason why the bytes are not one. */
export function decodeEnvelope(bytes: Uint8Array): Envelope | { error: string } {
  let value: unknown;
  try {
    value = JSON.parse(decoder.decode(bytes));
  } catch (err) {
    return { error: `body is not JSON: ${(err as Error).message}` };
  }
  if (typeof value !== "object" || value === null || typeof (value as Envelope).k !== "string") {
    return { error: 'body is not an envelope {"k": kind, "d": data}' };
  }
  return value as Envelope;
}

export function encodeJson(value: unknown): Uint8Array {
  return encoder.encode(JSON.stringify(value));
}

export function decodeJson<T>(bytes: Uint8Array): T {
  return JSON.parse(decoder.decode(bytes)) as T;
}

export function makeHeaders(entries: Record<string, string | undefined>): MsgHdrs {
  const h = natsHeaders();
  for (const [k, v] of Object.entries(entries)) if (v !== undefined) h.set(k, v);
  return h;
}

export function headersToRecord(h: MsgHdrs | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  if (!h) return out;
  for (const [k, v] of h) if (v[0] !== undefined) out[k] = v[0];
  return out;
}
