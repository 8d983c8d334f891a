import type { JetStreamClient, JetStreamManager } from "@nats-io/jetstream";
import { decodeJson, H, headersToRecord, makeHeaders } from "./envelope.ts";

/** A message on the dead-letter stream, with why and when it was rejected. */
export interface DeadLetter {
  /** Its sequence in the dead-letter stream (what `replay` takes). */
  seq: number;
  /** The subject the message was addressed to: a mailbox, or an event a worker rejected. */
  subject: string;
  /** Why it was rejected. */
  reason: string;
  /** When, as an ISO timestamp. */
  deadAt: string;
  /** The original message's headers, plus the `Coachd-Dead-*` ones. */
  headers: Record<string, string>;
  /** The body as JSON when it parses, else as text. */
  body: unknown;
}

/**
 * The dead-letter stream: messages a turn rejected (unknown kind, invalid input, a terminal
 * error, too many deliveries), and events a durable event consumer could not apply, are kept with
 * their reason until an operator replays or drops them.
 */
export class DeadLetters {
  /** The dead letters of the cluster with `prefix`, in `stream`. */
  constructor(
    private readonly js: JetStreamClient,
    private readonly jsm: JetStreamManager,
    private readonly stream: string,
    private readonly prefix: string,
  ) {}

  /** Stores a rejected message. Resolves once JetStream has it. */
  async put(
    { subject, data, headers, reason }: {
      subject: string;
      data: Uint8Array;
      headers: Record<string, string>;
      reason: string;
    },
  ): Promise<void> {
    // Mailbox letters keep their `<partition>.<type>.<id>` tail; events keep `evt.<subject>`.
    const tail = subject.startsWith(`${this.prefix}.mbx.`)
      ? subject.slice(this.prefix.length + 5)
      : subject.startsWith(`${this.prefix}.evt.`)
      ? subject.slice(this.prefix.length + 1)
      : `unroutable.${subject.replaceAll(".", "_")}`;
    const { [H.msgId]: msgId, ...rest } = headers;
    await this.js.publish(`${this.prefix}.dlq.${tail}`, data, {
      // One dead letter per original message, even if two nodes reject it.
      msgID: msgId ? `dead:${msgId}` : undefined,
      headers: makeHeaders({
        ...rest,
        [H.deadSubject]: subject,
        [H.deadReason]: reason.slice(0, 2000),
        [H.deadAt]: new Date().toISOString(),
        "Coachd-Original-Msg-Id": msgId,
      }),
    });
  }

  /** Dead letters from sequence `fromSeq` on, oldest first, at most `limit`. */
  async list({ fromSeq = 1, limit = 100 } = {}): Promise<DeadLetter[]> {
    const out: DeadLetter[] = [];
    let seq = fromSeq;
    while (out.length < limit) {
      const m = await this.jsm.direct.getMessage(this.stream, {
        seq,
        next_by_subj: `${this.prefix}.dlq.>`,
      }).catch(() => null);
      if (!m) break;
      const headers = headersToRecord(m.header);
      let body: unknown;
      try {
        body = decodeJson(m.data);
      } catch {
        body = new TextDecoder().decode(m.data);
      }
      out.push({
        seq: m.seq,
        subject: headers[H.deadSubject] ?? m.subject,
        reason: headers[H.deadReason] ?? "",
        deadAt: headers[H.deadAt] ?? m.timestamp,
        headers,
        body,
      });
      seq = m.seq + 1;
    }
    return out;
  }

  /**
   * Publishes the dead letter back to its mailbox or event subject (as a new message) and removes
   * it.
   */
  async replay(seq: number): Promise<{ subject: string }> {
    const m = await this.jsm.streams.getMessage(this.stream, { seq });
    if (!m) throw new DeadLetterNotFoundError(seq);
    const headers = headersToRecord(m.header);
    const subject = headers[H.deadSubject];
    const returnable = subject &&
      (subject.startsWith(`${this.prefix}.mbx.`) || subject.startsWith(`${this.prefix}.evt.`));
    if (!returnable) {
      throw new DeadLetterNotFoundError(seq, "it has no mailbox or event subject to return to");
    }
    const keep: Record<string, string> = {};
    for (const k of [H.chain, H.traceparent, H.due, H.reminder, H.actor]) {
      if (headers[k]) keep[k] = headers[k]!;
    }
    await this.js.publish(subject, m.data, {
      msgID: `replay:${this.stream}:${seq}`,
      headers: makeHeaders(keep),
    });
    await this.jsm.streams.deleteMessage(this.stream, seq, false);
    return { subject };
  }

  /** Dead letters held. */
  async count(): Promise<number> {
    const info = await this.jsm.streams.info(this.stream);
    return info.state.messages;
  }
}

/** `DeadLetters.replay` was given a sequence that holds no replayable dead letter. */
export class DeadLetterNotFoundError extends Error {
  /** `why`: what is wrong with dead letter `seq`. */
  constructor(readonly seq: number, why = "no such message") {
    super(`Cannot replay dead letter ${seq}: ${why}`);
    this.name = "DeadLetterNotFoundError";
  }
}
