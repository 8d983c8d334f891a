/**
 * Deliveries: every message Coachd sent or tried to send to an end user, with its status
 * (queued → sending → sent → delivered → read, or failed / skipped with a reason), what the
 * provider charged for, and its attempts. Creators read them to see what fails and why.
 */
import { type OpenAPIHono, z } from "@hono/zod-openapi";
import { Buffer } from "node:buffer";
import type { ApiEnv } from "../env.ts";
import { ValidationError } from "../errors.ts";
import { iso } from "../lib/pagination.ts";
import { ALL_ROLES, jsonResponse, protectedRoute } from "../lib/route.ts";
import { inTenant } from "../lib/tenant.ts";
import { DELIVERY_STATUSES } from "../../channels/core/delivery_status.ts";

const Delivery = z.object({
  id: z.string(),
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

const Cursor = z.object({ t: z.string().max(40), id: z.string().max(300) });

const Query = z.object({
  channel: z.string().max(32).optional(),
  status: z.enum(DELIVERY_STATUSES).optional(),
  end_user_id: z.uuid().optional(),
  conversation_id: z.uuid().optional(),
  limit: z.coerce.number().int().min(1).max(200).default(50),
  cursor: z.string().max(500).optional().openapi({
    description: "next_cursor of the previous page",
  }),
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
  _t: string;
}

function decode(cursor: string): z.infer<typeof Cursor> {
  try {
    const at = Cursor.parse(JSON.parse(Buffer.from(cursor, "base64url").toString("utf8")));
    if (!Number.isNaN(Date.parse(at.t.replace(" ", "T")))) return at;
  } catch { /* below */ }
  {
    throw new ValidationError("The cursor is not one this API issued", [
      { field: "query.cursor", message: "invalid cursor" },
    ]);
  }
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
        200: jsonResponse(
          z.object({ data: z.array(Delivery), next_cursor: z.string().nullable() }),
          "A page of deliveries",
        ),
      },
    }),
    async (c) => {
      const q = c.req.valid("query");
      const values: unknown[] = [];
      const where: string[] = [];
      for (
        const [column, value] of Object.entries({
          channel: q.channel,
          status: q.status,
          end_user_id: q.end_user_id,
          conversation_id: q.conversation_id,
        })
      ) {
        if (value === undefined) continue;
        values.push(value);
        where.push(`${column} = $${values.length}`);
      }
      if (q.cursor) {
        const at = decode(q.cursor);
        values.push(at.t, at.id);
        where.push(`(queued_at, id) < ($${values.length - 1}::timestamptz, $${values.length})`);
      }
      values.push(q.limit + 1);
      const rows = await inTenant(c, async (client) =>
        (await client.query<Row>(
          `select *, queued_at::text _t from deliveries
            ${where.length ? `where ${where.join(" and ")}` : ""}
            order by queued_at desc, id desc limit $${values.length}`,
          values,
        )).rows);
      const page = rows.slice(0, q.limit);
      const last = page[page.length - 1];
      return c.json({
        data: page.map((r) => ({
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
        next_cursor: rows.length > q.limit && last
          ? Buffer.from(JSON.stringify({ t: last._t, id: last.id })).toString("base64url")
          : null,
      }, 200);
    },
  );
}
