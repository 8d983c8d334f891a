import { type OpenAPIHono, z } from "@hono/zod-openapi";
import type { ApiEnv } from "../env.ts";
import { NotFoundError } from "../errors.ts";
import { iso, listPage, pageOf, PageQuery } from "../lib/pagination.ts";
import { ALL_ROLES, jsonResponse, protectedRoute, uuidParam } from "../lib/route.ts";
import { inTenant } from "../lib/tenant.ts";

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
const tags = ["conversations"];
const Id = uuidParam("conversationId");

/** Conversations and messages: read-only for creators, with full-text message search. */
export function registerConversations(app: OpenAPIHono<ApiEnv>) {
  app.openapi(
    protectedRoute(ALL_ROLES, {
      method: "get",
      path: "/conversations",
      tags,
      summary: "List conversations",
      request: {
        query: PageQuery.extend({
          end_user_id: z.uuid().optional(),
          channel: z.string().max(32).optional(),
          status: z.enum(["open", "closed", "handoff"]).optional(),
        }),
      },
      responses: { 200: jsonResponse(pageOf(Conversation), "A page of conversations") },
    }),
    async (c) => {
      const q = c.req.valid("query");
      const where: string[] = [];
      const params: unknown[] = [];
      for (
        const [field, value] of [["end_user_id", q.end_user_id], ["channel", q.channel], [
          "status",
          q.status,
        ]] as const
      ) {
        if (value === undefined) continue;
        params.push(value);
        where.push(`t.${field} = $${params.length}`);
      }
      const page = await inTenant(
        c,
        (client) =>
          listPage<ConvRow & Record<string, unknown>>(client, {
            from: "conversations",
            columns: CONV_COLUMNS,
            where,
            params,
            limit: q.limit,
            cursor: q.cursor,
          }),
      );
      return c.json({ data: page.rows.map(convJson), next_cursor: page.nextCursor }, 200);
    },
  );

  app.openapi(
    protectedRoute(ALL_ROLES, {
      method: "get",
      path: "/conversations/{conversationId}",
      tags,
      summary: "Get a conversation",
      request: { params: Id },
      responses: { 200: jsonResponse(Conversation, "The conversation") },
    }),
    async (c) => {
      const { conversationId } = c.req.valid("param");
      const row = await inTenant(c, async (client) =>
        (await client.query<ConvRow>(
          `select ${CONV_COLUMNS} from conversations t where t.id = $1`,
          [conversationId],
        )).rows[0]);
      if (!row) throw new NotFoundError("Conversation", conversationId);
      return c.json(convJson(row), 200);
    },
  );

  app.openapi(
    protectedRoute(ALL_ROLES, {
      method: "get",
      path: "/conversations/{conversationId}/messages",
      tags,
      summary: "A conversation's messages, newest first",
      request: { params: Id, query: PageQuery },
      responses: { 200: jsonResponse(pageOf(Message), "A page of messages") },
    }),
    async (c) => {
      const { conversationId } = c.req.valid("param");
      const q = c.req.valid("query");
      const page = await inTenant(c, async (client) => {
        const conv = await client.query("select 1 from conversations where id = $1", [
          conversationId,
        ]);
        if (!conv.rowCount) throw new NotFoundError("Conversation", conversationId);
        return await listPage<MsgRow & Record<string, unknown>>(client, {
          from: "messages",
          columns: MSG_COLUMNS,
          where: ["t.conversation_id = $1"],
          params: [conversationId],
          limit: q.limit,
          cursor: q.cursor,
        });
      });
      return c.json({ data: page.rows.map(msgJson), next_cursor: page.nextCursor }, 200);
    },
  );

  app.openapi(
    protectedRoute(ALL_ROLES, {
      method: "get",
      path: "/messages/search",
      tags,
      summary: "Full-text search over all messages",
      request: {
        query: PageQuery.extend({
          q: z.string().min(1).max(200),
          end_user_id: z.uuid().optional(),
          role: z.enum(["user", "assistant", "system", "creator"]).optional(),
        }),
      },
      responses: { 200: jsonResponse(pageOf(Message), "Matching messages, newest first") },
    }),
    async (c) => {
      const q = c.req.valid("query");
      const where = ["to_tsvector('simple', t.content) @@ plainto_tsquery('simple', $1)"];
      const params: unknown[] = [q.q];
      if (q.end_user_id) {
        params.push(q.end_user_id);
        where.push(`t.end_user_id = $${params.length}`);
      }
      if (q.role) {
        params.push(q.role);
        where.push(`t.role = $${params.length}`);
      }
      const page = await inTenant(
        c,
        (client) =>
          listPage<MsgRow & Record<string, unknown>>(client, {
            from: "messages",
            columns: MSG_COLUMNS,
            where,
            params,
            limit: q.limit,
            cursor: q.cursor,
          }),
      );
      return c.json({ data: page.rows.map(msgJson), next_cursor: page.nextCursor }, 200);
    },
  );
}
