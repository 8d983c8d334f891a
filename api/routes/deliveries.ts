/**
 * Deliveries: every message Coachd sent or tried to send to an end user, with its status
 * (queued → sending → sent → delivered → read, or failed / skipped with a reason), what the
 * provider charged for, and its attempts. Creators read them to see what fails and why.
 */
import { type OpenAPIHono, z } from "@hono/zod-openapi";
import type { ApiEnv } from "../env.ts";
import { iso, listPage, pageOf, PageQuery } from "../lib/pagination.ts";
import { ALL_ROLES, jsonResponse, protectedRoute } from "../lib/route.ts";
import { inTenant } from "../lib/tenant.ts";
import { DELIVERY_STATUSES } from "../../channels/core/delivery_status.ts";

const Delivery = z.object({
  id: z.uuid(),
  end_user_id: z.uuid().nullable(),
  conversation_id: z.uuid().nullable(),
  channel: z.string(),
  connection_id: z.uuid().nullable(),
  purpose: z.string(),
  status: z.enum(DELIVERY_STATUSES),
  reason: z.string().nullable(),
  attempts: z.number().int(),
  provider_message_ids: z.array(z.string()),
  pricing_category: z.string().nullable(),
  billable: z.boolean().nullable(),
  text: z.string(),
  queued_at: z.string(),
  sent_at: z.string().nullable(),
  delivered_at: z.string().nullable(),
  read_at: z.string().nullable(),
  finished_at: z.string().nullable(),
}).openapi("Delivery");

const Query = PageQuery.extend({
  channel: z.string().max(32).optional(),
  status: z.enum(DELIVERY_STATUSES).optional(),
  end_user_id: z.uuid().optional(),
  conversation_id: z.uuid().optional(),
});

interface Row {
  id: string;
  end_user_id: string | null;
  conversation_id: string | null;
  channel: string;
  connection_id: string | null;
  purpose: string;
  status: z.infer<typeof Delivery>["status"];
  reason: string | null;
  attempts: number;
  provider_message_ids: string[];
  pricing_category: string | null;
  billable: boolean | null;
  content: { text?: string };
  queued_at: Date;
  sent_at: Date | null;
  delivered_at: Date | null;
  read_at: Date | null;
  finished_at: Date | null;
}

export function registerDeliveries(app: OpenAPIHono<ApiEnv>) {
  app.openapi(
    protectedRoute(ALL_ROLES, {
      method: "get",
      path: "/deliveries",
      tags: ["channels"],
      summary: "Messages sent to end users and how far they got, newest first",
      description: "Filter by channel and status, e.g. `?channel=whatsapp&status=failed`.",
      request: { query: Query },
      responses: {
        200: jsonResponse(pageOf(Delivery), "A page of deliveries"),
      },
    }),
    async (c) => {
      const q = c.req.valid("query");
      const page = await inTenant(c, (client) =>
        listPage<Row & Record<string, unknown>>(client, {
          from: "deliveries",
          sortColumn: "queued_at",
          equal: {
            channel: q.channel,
            status: q.status,
            end_user_id: q.end_user_id,
            conversation_id: q.conversation_id,
          },
          limit: q.limit,
          cursor: q.cursor,
        }));
      return c.json({
        data: page.rows.map((r) => ({
          id: r.id,
          end_user_id: r.end_user_id,
          conversation_id: r.conversation_id,
          channel: r.channel,
          connection_id: r.connection_id,
          purpose: r.purpose,
          status: r.status,
          reason: r.reason,
          attempts: r.attempts,
          provider_message_ids: r.provider_message_ids,
          pricing_category: r.pricing_category,
          billable: r.billable,
          text: r.content.text ?? "",
          queued_at: iso(r.queued_at)!,
          sent_at: iso(r.sent_at),
          delivered_at: iso(r.delivered_at),
          read_at: iso(r.read_at),
          finished_at: iso(r.finished_at),
        })),
        next_cursor: page.nextCursor,
      }, 200);
    },
  );
}
