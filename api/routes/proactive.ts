/**
 * The proactive coach as creators configure and read it: `GET/PUT /proactive-settings` (when to
 * nudge, caps, WhatsApp templates outside the window and their monthly budget; kept in
 * creators.settings.proactive and told to the creator's proactive actor, which the UserActors
 * ask at send time), and `GET /nudges`, every nudge sent or skipped with its reason and outcome.
 */
import { type OpenAPIHono, z } from "@hono/zod-openapi";
import type { ApiEnv } from "../env.ts";
import { iso, listPage, pageOf, PageQuery } from "../lib/pagination.ts";
import { ADMINS, ALL_ROLES, jsonResponse, protectedRoute } from "../lib/route.ts";
import { audit, inTenant, tellActor } from "../lib/tenant.ts";
import {
  ProactiveSettings,
  ProactiveSettingsUpdate,
} from "../../actors/user/proactive/settings.ts";
import { proactiveAddress } from "../../actors/user/proactive/budget_actor.ts";
import { NudgeTrigger } from "../../actors/user/proactive/events.ts";

const Settings = ProactiveSettings.openapi("ProactiveSettings");

const Nudge = z.object({
  id: z.uuid(),
  end_user_id: z.uuid(),
  trigger: NudgeTrigger,
  step: z.number().int().nullable(),
  status: z.enum(["sent", "skipped"]),
  reason: z.string().nullable(),
  retry_at: z.string().nullable(),
  channel: z.string().nullable(),
  kind: z.enum(["text", "template"]).nullable(),
  delivery_id: z.uuid().nullable(),
  local_hour: z.number().int().nullable(),
  at: z.string(),
  replied_at: z.string().nullable(),
  opted_out_at: z.string().nullable(),
}).openapi("Nudge");

const NudgeQuery = PageQuery.extend({
  status: z.enum(["sent", "skipped"]).optional(),
  trigger: NudgeTrigger.optional(),
  end_user_id: z.uuid().optional(),
});

interface NudgeRow {
  id: string;
  end_user_id: string;
  trigger: z.infer<typeof NudgeTrigger>;
  step: number | null;
  status: "sent" | "skipped";
  reason: string | null;
  retry_at: Date | null;
  channel: string | null;
  kind: "text" | "template" | null;
  delivery_id: string | null;
  local_hour: number | null;
  at: Date;
  replied_at: Date | null;
  opted_out_at: Date | null;
}

export function registerProactive(app: OpenAPIHono<ApiEnv>) {
  app.openapi(
    protectedRoute(ALL_ROLES, {
      method: "get",
      path: "/proactive-settings",
      tags: ["proactive"],
      summary: "The creator's proactive settings (defaults for what was never set)",
      responses: { 200: jsonResponse(Settings, "The settings in effect") },
    }),
    async (c) => {
      const stored = await inTenant(
        c,
        async (client) =>
          (await client.query<{ p: unknown }>("select settings -> 'proactive' p from creators"))
            .rows[0]?.p,
      );
      return c.json(ProactiveSettings.parse(stored ?? {}), 200);
    },
  );

  app.openapi(
    protectedRoute(ADMINS, {
      method: "put",
      path: "/proactive-settings",
      tags: ["proactive"],
      summary: "Change proactive settings; absent fields keep their value",
      request: {
        body: { content: { "application/json": { schema: ProactiveSettingsUpdate } } },
      },
      responses: { 200: jsonResponse(Settings, "The settings now in effect") },
    }),
    async (c) => {
      const update = c.req.valid("json");
      const auth = c.get("auth");
      const saved = await inTenant(c, async (client) => {
        const { rows } = await client.query<{ p: unknown; v: Date }>(
          "select settings -> 'proactive' p, now() v from creators for update",
        );
        const next = ProactiveSettings.parse({ ...(rows[0]?.p ?? {}), ...update });
        await client.query(
          `update creators set settings = jsonb_set(settings, '{proactive}', $1::jsonb)`,
          [JSON.stringify(next)],
        );
        await audit(client, c, "proactive_settings.update", { type: "proactive_settings" }, {
          fields: Object.keys(update),
        });
        await tellActor(client, c, proactiveAddress(auth.creatorId), "configure", next, {
          msgId: `proactive-settings:${auth.creatorId}:${rows[0]!.v.getTime()}`,
        });
        return next;
      });
      return c.json(saved, 200);
    },
  );

  app.openapi(
    protectedRoute(ALL_ROLES, {
      method: "get",
      path: "/nudges",
      tags: ["proactive"],
      summary: "Nudges sent or skipped (with the reason) and their outcome, newest first",
      description: "Filter with `?status=skipped&trigger=inactivity`.",
      request: { query: NudgeQuery },
      responses: { 200: jsonResponse(pageOf(Nudge), "A page of nudges") },
    }),
    async (c) => {
      const q = c.req.valid("query");
      const page = await inTenant(
        c,
        (client) =>
          listPage<NudgeRow & Record<string, unknown>>(client, {
            from: "nudges",
            sortColumn: "at",
            equal: { status: q.status, trigger: q.trigger, end_user_id: q.end_user_id },
            limit: q.limit,
            cursor: q.cursor,
          }),
      );
      return c.json({
        data: page.rows.map((r) => ({
          id: r.id,
          end_user_id: r.end_user_id,
          trigger: r.trigger,
          step: r.step,
          status: r.status,
          reason: r.reason,
          retry_at: iso(r.retry_at),
          channel: r.channel,
          kind: r.kind,
          delivery_id: r.delivery_id,
          local_hour: r.local_hour,
          at: iso(r.at)!,
          replied_at: iso(r.replied_at),
          opted_out_at: iso(r.opted_out_at),
        })),
        next_cursor: page.nextCursor,
      }, 200);
    },
  );
}
