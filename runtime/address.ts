import { InvalidActorAddressError } from "./errors.ts";

const TYPE_RE = /^[a-z][a-z0-9_-]{0,63}$/;
const MAX_ID_LENGTH = 256;
const SAFE_CHAR = /[A-Za-z0-9_\-=+@:~]/;

/** 32-bit FNV-1a over UTF-16 code units: stable across nodes and cheap. */
export function fnv1a(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/**
 * A 52-bit hash of a message id, at or above 2^51 (so never equal to a stream sequence, which
 * rows written before ids were hashed may still hold): what an actor remembers of the messages it
 * applied. Two 32-bit FNV-1a variants; a collision inside one actor's window of 128 is about as
 * likely as 128 in 2^51.
 */
export function messageKey(msgId: string): number {
  let a = 0x811c9dc5;
  let b = 0x050c5d1f;
  for (let i = 0; i < msgId.length; i++) {
    const c = msgId.charCodeAt(i);
    a = Math.imul(a ^ c, 0x01000193);
    b = Math.imul(b ^ c, 0x5bd1e995);
    b ^= b >>> 15;
  }
  return ((b >>> 12) | 0x80000) * 0x1_0000_0000 + (a >>> 0);
}

/** FNV-1a followed by murmur3's finaliser, so short keys that differ in one character spread. */
function mixedHash(text: string): number {
  let h = fnv1a(text);
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

export function partitionOf(type: string, id: string, partitions: number): number {
  return mixedHash(`${type}:${id}`) % partitions;
}

/** Throws InvalidActorAddressError unless `type` and `id` can address an actor. */
export function checkAddress(type: string, id: string): void {
  if (!TYPE_RE.test(type)) {
    throw new InvalidActorAddressError(type, id, "type must match [a-z][a-z0-9_-]{0,63}");
  }
  if (id.length === 0) throw new InvalidActorAddressError(type, id, "id is empty");
  if (id.length > MAX_ID_LENGTH) {
    throw new InvalidActorAddressError(type, id, `id is longer than ${MAX_ID_LENGTH} characters`);
  }
}

/** Encodes an id as one NATS subject token: unsafe characters become %XX of their UTF-8 bytes. */
export function encodeToken(id: string): string {
  let out = "";
  for (const ch of id) {
    if (SAFE_CHAR.test(ch)) {
      out += ch;
      continue;
    }
    for (const b of new TextEncoder().encode(ch)) {
      out += "%" + b.toString(16).toUpperCase().padStart(2, "0");
    }
  }
  return out;
}

export function decodeToken(token: string): string {
  return decodeURIComponent(token);
}

/** Builds `<prefix>.mbx.<partition>.<type>.<id>`. */
export function mailboxSubject(prefix: string, partition: number, type: string, id: string) {
  return `${prefix}.mbx.${partition}.${type}.${encodeToken(id)}`;
}

export interface ParsedMailboxSubject {
  partition: number;
  type: string;
  id: string;
}

export function parseMailboxSubject(prefix: string, subject: string): ParsedMailboxSubject | null {
  const parts = subject.split(".");
  if (parts.length !== 5 || parts[0] !== prefix || parts[1] !== "mbx") return null;
  const partition = Number(parts[2]);
  if (!Number.isInteger(partition)) return null;
  try {
    return { partition, type: parts[3]!, id: decodeToken(parts[4]!) };
  } catch {
    return null;
  }
}

/** Rendezvous (highest random weight) hashing: the preferred owner of a partition. */
export function preferredOwner(partition: number, nodes: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestScore = -1;
  for (const node of nodes) {
    const score = mixedHash(`${node}#${partition}`);
    if (score > bestScore || (score === bestScore && best !== undefined && node < best)) {
      best = node;
      bestScore = score;
    }
  }
  return best;
}
