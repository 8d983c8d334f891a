/**
 * The real-time socket protocol, version 1 (docs/widget.md): JSON text frames, each with a
 * `type`. The client opens with `hello` (its token, and the last message id it saw when it
 * resumes); the server answers `ready`, then replays or pages history, then streams live events.
 */
import { z } from "zod";
import type { RealtimeMessage } from "./log.ts";

export const PROTOCOL_VERSION = 1;

/** Close codes the server uses (4000-4999 are the application's). */
export const CLOSE = {
  badFrame: 4400,
  unauthenticated: 4401,
  forbidden: 4403,
  helloTimeout: 4408,
  rateLimited: 4429,
  shuttingDown: 1001,
} as const;

export const ClientFrame = z.discriminatedUnion("type", [
  z.object({
    type: z.literal("hello"),
    v: z.literal(PROTOCOL_VERSION),
    token: z.string().min(1).max(4000),
    /** The last message id the client saw: everything after it is replayed. */
    after: z.number().int().min(0).optional(),
  }),
  z.object({
    type: z.literal("message"),
    /** The client's id of the message: sending it again (after a drop) is harmless. */
    cid: z.string().regex(/^[A-Za-z0-9_-]{8,64}$/),
    text: z.string().trim().min(1).max(4000),
    /** A quick reply's payload, when the person pressed one. */
    payload: z.string().min(1).max(64).optional(),
  }),
  z.object({ type: z.literal("typing"), on: z.boolean() }),
  z.object({
    type: z.literal("history"),
    before: z.number().int().min(1),
    limit: z.number().int().min(1).max(100).optional(),
  }),
  z.object({ type: z.literal("read"), upTo: z.number().int().min(1) }),
  z.object({ type: z.literal("ping"), t: z.number().optional() }),
]);
export type ClientFrame = z.infer<typeof ClientFrame>;

export type ServerFrame =
  | {
    type: "ready";
    v: typeof PROTOCOL_VERSION;
    visitor: { id: string; identified: boolean };
  }
  | { type: "message"; message: RealtimeMessage; live: boolean }
  /** A piece of message `id`'s text as it streams in; the `message` frame that follows is whole. */
  | { type: "delta"; id: number; text: string }
  | { type: "typing"; on: boolean; by: "coach" | "creator" }
  | {
    type: "status";
    cid: string;
    status: "received" | "failed" | "rate_limited";
    id?: number;
    reason?: string;
  }
  | { type: "history"; messages: RealtimeMessage[]; more: boolean; before?: number }
  | { type: "pong"; t?: number }
  | { type: "error"; code: string; message: string };
