import { type OpenAPIHono, z } from "@hono/zod-openapi";
import type pg from "pg";
import type { ApiEnv } from "../env.ts";
import { NotFoundError } from "../errors.ts";
import { Channel, type Erase } from "../../actors/mod.ts";
import { conversationAddress, userAddress } from "../lib/actors.ts";
import { tenantTable } from "../lib/crud.ts";
import { iso } from "../lib/pagination.ts";
import { resourceRoutes } from "../lib/resource.ts";
import { ADMINS, ALL_ROLES, jsonResponse, protectedRoute, uuidParam } from "../lib/route.ts";
import { audit, inTenant, tellActor } from "../lib/tenant.ts";

const EndUser = z.object({
  id: z.uuid(),
  channel: z.string(),
  external_id: z.string(),
  display_name: z.string(),
  email: z.string().nullable(),
  locale: z.string().nullable(),
  timezone: z.string().nullable(),
  status: z.string(),
  created_at: z.string(),
  last_active_at: z.string().nullable(),
}).openapi("EndUser");

const Json = z.record(z.string(), z.unknown());
const EndUserDetail = EndUser.extend({
  profile: Json,
  progress: z.array(Json),
  badges: z.array(Json),
  achievements: z.array(Json),
  engagement_30d: z.object({
    messages_in: z.number().int(),
    messages_out: z.number().int(),
    sessions: z.number().int(),
    days_active: z.number().int(),
  }),
}).openapi("EndUserDetail");

const Export = z.object({
  exported_at: z.string(),
  user: Json,
  conversations: z.array(Json),
  messages: z.array(Json),
  interactions: z.array(Json),
  progress: z.array(Json),
  badges: z.array(Json),
  achievements: z.array(Json),
  engagement: z.array(Json),
}).openapi("EndUserExport");

interface Row {
  id: string;
  channel: string;
  external_id: string;
  display_name: string;
  email: string | null;
  locale: string | null;
  timezone: string | null;
  status: string;
  profile: Record<string, unknown>;
  created_at: Date;
  last_active_at: Date | null;
}
// Activity is kept per channel identity (the intake touches only the identity on its fast path).
const COLUMNS = `id, channel, external_id, display_name, email, locale, timezone, status, profile,
  created_at, greatest(last_active_at, (select max(ci.last_inbound_at) from channel_identities ci
    where ci.end_user_id = t.id)) last_active_at`;
const toJson = (r: Row) => {
  const { profile: _profile, ...rest } = r;
  return { ...rest, created_at: iso(r.created_at)!, last_active_at: iso(r.last_active_at) };
};
const endUsers = tenantTable({
  table: "end_users",
  type: "end_user",
  name: "End user",
  columns: COLUMNS,
  toJson,
});
/** The `q` filter of the list: part of the name or e-mail, or the exact channel id. */
const MATCHES_Q =
  "(t.display_name ilike '%' || $1 || '%' or t.email ilike '%' || $1 || '%' or t.external_id = $1)";
const Id = uuidParam("endUserId");
const tags = ["end users"];

async function rowsOf(client: pg.PoolClient, sql: string, id: string) {
  return (await client.query<Record<string, unknown>>(sql, [id])).rows;
}

/** End users: list and search, detail with progress, GDPR export and erasure. */
export function registerEndUsers(app: OpenAPIHono<ApiEnv>) {
  resourceRoutes(app, {
    table: endUsers,
    tags,
    schema: EndUser,
    path: "/end-users",
    idParam: "endUserId",
    list: {
      roles: ALL_ROLES,
      summary: "List end users",
      description: "A page of end users",
      query: {
        q: z.string().max(200).optional().openapi({ description: "name, e-mail or channel id" }),
        channel: Channel.optional(),
        status: z.enum(["active", "opted_out"]).optional(),
      },
      filter: (q) => ({
        where: q.q ? [MATCHES_Q] : [],
        params: q.q ? [q.q] : [],
        equal: { channel: q.channel, status: q.status },
      }),
    },
    get: {
      roles: ALL_ROLES,
      summary: "An end user with profile, program progress, badges and recent engagement",
      description: "The end user",
      schema: EndUserDetail,
      run: async (client, _c, endUserId) => {
        const u = await endUsers.find(client, endUserId);
        const progress = await rowsOf(
          client,
          `select pp.program_id, p.name program_name, pp.program_version, pp.current_step,
             pp.status, pp.started_at, pp.updated_at, pp.completed_at
           from program_progress pp join programs p on p.id = pp.program_id
           where pp.end_user_id = $1 order by pp.started_at`,
          endUserId,
        );
        const badges = await rowsOf(
          client,
          `select b.id, b.name, ub.awarded_at from user_badges ub join badges b on b.id = ub.badge_id
           where ub.end_user_id = $1 order by ub.awarded_at`,
          endUserId,
        );
        const achievements = await rowsOf(
          client,
          "select id, kind, title, data, achieved_at from achievements where end_user_id = $1 order by achieved_at",
          endUserId,
        );
        const { rows: [e] } = await client.query(
          `select coalesce(sum(messages_in), 0)::int messages_in,
             coalesce(sum(messages_out), 0)::int messages_out,
             coalesce(sum(sessions), 0)::int sessions, count(*)::int days_active
           from engagement_metrics where end_user_id = $1 and day > current_date - 30`,
          [endUserId],
        );
        return JSON.parse(JSON.stringify({
          ...toJson(u),
          profile: u.profile,
          progress,
          badges,
          achievements,
          engagement_30d: e,
        }));
      },
    },
    delete: {
      roles: ADMINS,
      summary: "Erase an end user: rows, actor state (via an erase message) and embeddings",
      description: "Erased",
      run: async (client, c, endUserId) => {
        const creatorId = c.get("auth").creatorId;
        const { rows: conversations } = await client.query<{ id: string }>(
          "select id from conversations where end_user_id = $1",
          [endUserId],
        );
        // Conversations, messages, progress, badges... go with it (on delete cascade).
        await endUsers.remove(client, c, {
          id: endUserId,
          details: { conversations: conversations.length },
        });
        // Inside the transaction: if the mailbox is unreachable nothing is deleted and the
        // caller retries, so no actor keeps state for a user the database forgot.
        const erase: Erase = { reason: "deleted_by_creator" };
        await tellActor(client, c, userAddress(creatorId, endUserId), "erase", erase, {
          msgId: `erase:${creatorId}:${endUserId}`,
        });
        for (const conv of conversations) {
          await tellActor(client, c, conversationAddress(creatorId, conv.id), "erase", erase, {
            msgId: `erase:${creatorId}:${conv.id}`,
          });
        }
      },
      afterCommit: async (c, endUserId) => {
        await c.get("services").onEndUserDeleted?.(c.get("auth").creatorId, endUserId);
      },
    },
  });

  app.openapi(
    protectedRoute(ADMINS, {
      method: "get",
      path: "/end-users/{endUserId}/export",
      tags,
      summary: "Everything stored about an end user, as one JSON document",
      request: { params: Id },
      responses: { 200: jsonResponse(Export, "The export") },
    }),
    async (c) => {
      const { endUserId } = c.req.valid("param");
      const data = await inTenant(c, async (client) => {
        const user = (await rowsOf(client, "select * from end_users where id = $1", endUserId))[0];
        if (!user) return undefined;
        const of = (table: string, order: string) =>
          rowsOf(
            client,
            `select * from ${table} where end_user_id = $1 order by ${order}`,
            endUserId,
          );
        const result = {
          exported_at: new Date().toISOString(),
          user,
          conversations: await of("conversations", "created_at, id"),
          messages: await of("messages", "created_at, id"),
          interactions: await of("user_interactions", "created_at, id"),
          progress: await of("program_progress", "started_at"),
          badges: await of("user_badges", "awarded_at"),
          achievements: await of("achievements", "achieved_at, id"),
          engagement: await of("engagement_metrics", "day"),
        };
        await audit(client, c, "end_user.export", { type: "end_user", id: endUserId });
        return result;
      });
      if (!data) throw new NotFoundError("End user", endUserId);
      c.header("content-disposition", `attachment; filename="end-user-${endUserId}.json"`);
      return c.json(JSON.parse(JSON.stringify(data)), 200);
    },
  );
}
