/**
 * What the app shows of the person: their profile (as the coach knows it), the identities they
 * linked, their preferences for proactive messages (time zone, quiet hours, channel for nudges,
 * opt-out: the UserActor's own, so STOP on Telegram and the app's switch are one), and badges.
 */
import { createRoute, type OpenAPIHono, z } from "@hono/zod-openapi";
import type { Context, MiddlewareHandler } from "hono";
import { withTenant } from "../../db/tenant.ts";
import type { ActorSystem } from "../../runtime/mod.ts";
import { ProfileUpdate, userAddress } from "../../actors/mod.ts";
import { PreferencesUpdate } from "../../actors/contracts/user.ts";
import { iso } from "../lib/pagination.ts";
import { errorResponses, jsonBody, jsonResponse } from "../lib/route.ts";
import type { AppEnv } from "./app_auth.ts";

const tags = ["app"];
const Json = z.record(z.string(), z.unknown());

const Me = z.object({
  end_user_id: z.uuid(),
  display_name: z.string(),
  locale: z.string().nullable(),
  identities: z.array(z.object({ channel: z.string(), display_name: z.string() })),
  profile: Json,
}).openapi("AppProfile");

const PreferencesOut = z.object({
  timeZone: z.string().optional(),
  quietHours: z.object({ start: z.string(), end: z.string() }),
  nudgeChannel: z.string().optional(),
  proactive: z.boolean(),
}).openapi("AppPreferences");

const Badge = z.object({
  id: z.uuid(),
  name: z.string(),
  description: z.string(),
  icon_url: z.string().nullable(),
  awarded_at: z.string(),
}).openapi("AppBadge");

export function registerAppProfile(
  app: OpenAPIHono<AppEnv>,
  o: { system: () => ActorSystem; auth: MiddlewareHandler<AppEnv> },
) {
  const secured = { middleware: [o.auth], security: [{ bearerAuth: [] }], tags };
  const actor = (s: { creatorId: string; endUserId: string }) =>
    userAddress(s.creatorId, s.endUserId);

  const me = async (c: Context<AppEnv>) => {
    const s = c.get("endUser");
    const profile = await o.system().client.ask(actor(s), "getProfile", null);
    const rows = await withTenant(c.get("services").pool, s.creatorId, async (tx) => {
      const u = await tx.query<{ display_name: string; locale: string | null }>(
        "select display_name, locale from end_users where id = $1",
        [s.endUserId],
      );
      const ids = await tx.query<{ channel: string; display_name: string }>(
        `select channel, display_name from channel_identities where end_user_id = $1
          order by created_at, id`,
        [s.endUserId],
      );
      return { user: u.rows[0], identities: ids.rows };
    });
    return {
      end_user_id: s.endUserId,
      display_name: rows.user?.display_name ?? "",
      locale: rows.user?.locale ?? null,
      identities: rows.identities,
      profile: JSON.parse(JSON.stringify(profile)),
    };
  };

  app.openapi(
    createRoute({
      ...secured,
      method: "get",
      path: "/me",
      summary: "The person: profile, linked identities",
      responses: { ...errorResponses, 200: jsonResponse(Me, "The person") },
    }),
    async (c) => c.json(await me(c), 200),
  );

  app.openapi(
    createRoute({
      ...secured,
      method: "patch",
      path: "/me",
      summary: "Change the name, goals, language or free-form preferences the coach keeps",
      request: { body: jsonBody(ProfileUpdate.strict()) },
      responses: { ...errorResponses, 200: jsonResponse(Me, "The person") },
    }),
    async (c) => {
      await o.system().client.ask(actor(c.get("endUser")), "updateProfile", c.req.valid("json"));
      return c.json(await me(c), 200);
    },
  );

  app.openapi(
    createRoute({
      ...secured,
      method: "get",
      path: "/preferences",
      summary: "Preferences for proactive messages",
      responses: { ...errorResponses, 200: jsonResponse(PreferencesOut, "The preferences") },
    }),
    async (c) =>
      c.json(await o.system().client.ask(actor(c.get("endUser")), "getPreferences", null), 200),
  );

  app.openapi(
    createRoute({
      ...secured,
      method: "patch",
      path: "/preferences",
      summary: "Change time zone, quiet hours, channel for nudges (null: automatic) or opt out",
      request: { body: jsonBody(PreferencesUpdate) },
      responses: { ...errorResponses, 200: jsonResponse(PreferencesOut, "The preferences") },
    }),
    async (c) =>
      c.json(
        await o.system().client.ask(
          actor(c.get("endUser")),
          "updatePreferences",
          c.req.valid("json"),
        ),
        200,
      ),
  );

  app.openapi(
    createRoute({
      ...secured,
      method: "get",
      path: "/badges",
      summary: "Badges the person earned",
      responses: {
        ...errorResponses,
        200: jsonResponse(z.object({ data: z.array(Badge) }), "The badges"),
      },
    }),
    async (c) => {
      const s = c.get("endUser");
      const rows = await withTenant(
        c.get("services").pool,
        s.creatorId,
        async (tx) =>
          (await tx.query<{
            id: string;
            name: string;
            description: string;
            icon_url: string | null;
            awarded_at: Date;
          }>(
            `select b.id, b.name, b.description, b.icon_url, ub.awarded_at
             from user_badges ub join badges b on b.id = ub.badge_id
            where ub.end_user_id = $1 order by ub.awarded_at, b.id`,
            [s.endUserId],
          )).rows,
      );
      return c.json({ data: rows.map((r) => ({ ...r, awarded_at: iso(r.awarded_at)! })) }, 200);
    },
  );
}
