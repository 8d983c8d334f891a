import { type OpenAPIHono, z } from "@hono/zod-openapi";
import type { ApiEnv } from "../env.ts";
import { tenantTable } from "../lib/crud.ts";
import { iso } from "../lib/pagination.ts";
import { resourceRoutes } from "../lib/resource.ts";
import { ALL_ROLES } from "../lib/route.ts";

const Conversation = z.object({
  id: z.uuid(),
  end_user_id: z.uuid(),
  channel: z.string(),
  program_id: z.uuid().nullable(),
  status: z.string(),
  started_at: z.string(),
  last_message_at: z.string().nullable(),
  message_count: z.number().int(),
}).openapi("Conversation");

const Message = z.object({
  id: z.uuid(),
  conversation_id: z.uuid(),
  end_user_id: z.uuid(),
  role: z.enum(["user", "assistant", "system", "creator"]),
  content: z.string(),
  metadata: z.record(z.string(), z.unknown()),
  created_at: z.string(),
}).openapi("Message");

interface ConvRow {
  id: string;
  end_user_id: string;
  channel: string;
  program_id: string | null;
  status: string;
  started_at: Date;
  last_message_at: Date | null;
  message_count: number;
}
interface MsgRow {
  id: string;
  conversation_id: string;
  end_user_id: string;
  role: z.infer<typeof Message>["role"];
  content: string;
  metadata: Record<string, unknown>;
  created_at: Date;
}
const CONV_COLUMNS = `t.id, t.end_user_id, t.channel, t.program_id, t.status, t.started_at,
  t.last_message_at, (select count(*)::int from messages m where m.conversation_id = t.id) message_count`;
const MSG_COLUMNS =
  "t.id, t.conversation_id, t.end_user_id, t.role, t.content, t.metadata, t.created_at";
const convJson = (r: ConvRow) => ({
  ...r,
  started_at: iso(r.started_at)!,
  last_message_at: iso(r.last_message_at),
});
const msgJson = (r: MsgRow) => ({
  id: r.id,
  conversation_id: r.conversation_id,
  end_user_id: r.end_user_id,
  role: r.role,
  content: r.content,
  metadata: r.metadata,
  created_at: iso(r.created_at)!,
});
const conversations = tenantTable({
  table: "conversations",
  type: "conversation",
  name: "Conversation",
  columns: CONV_COLUMNS,
  toJson: convJson,
});
const messages = tenantTable({
  table: "messages",
  type: "message",
  name: "Message",
  columns: MSG_COLUMNS,
  toJson: msgJson,
});
const tags = ["conversations"];
const MessageRole = z.enum(["user", "assistant", "system", "creator"]);

/** Conversations and messages: read-only for creators, with full-text message search. */
export function registerConversations(app: OpenAPIHono<ApiEnv>) {
  resourceRoutes(app, {
    table: conversations,
    tags,
    schema: Conversation,
    path: "/conversations",
    idParam: "conversationId",
    list: {
      roles: ALL_ROLES,
      summary: "List conversations",
      description: "A page of conversations",
      query: {
        end_user_id: z.uuid().optional(),
        channel: z.string().max(32).optional(),
        status: z.enum(["open", "closed", "handoff"]).optional(),
      },
      filter: (q) => ({
        equal: { end_user_id: q.end_user_id, channel: q.channel, status: q.status },
      }),
    },
    get: { roles: ALL_ROLES, summary: "Get a conversation", description: "The conversation" },
  });

  resourceRoutes(app, {
    table: messages,
    tags,
    schema: Message,
    path: "/conversations/{conversationId}/messages",
    idParam: "messageId",
    parent: { param: "conversationId", table: conversations },
    parentColumn: "conversation_id",
    list: {
      roles: ALL_ROLES,
      summary: "A conversation's messages, newest first",
      description: "A page of messages",
    },
  });

  resourceRoutes(app, {
    table: messages,
    tags,
    schema: Message,
    path: "/messages/search",
    idParam: "messageId",
    list: {
      roles: ALL_ROLES,
      summary: "Full-text search over all messages",
      description: "Matching messages, newest first",
      query: {
        q: z.string().min(1).max(200),
        end_user_id: z.uuid().optional(),
        role: MessageRole.optional(),
      },
      filter: (q) => ({
        where: ["to_tsvector('simple', t.content) @@ plainto_tsquery('simple', $1)"],
        params: [q.q],
        equal: { end_user_id: q.end_user_id, role: q.role },
      }),
    },
  });
}
