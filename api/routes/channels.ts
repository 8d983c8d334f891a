import { type OpenAPIHono, z } from "@hono/zod-openapi";
import { randomToken } from "../auth/credentials.ts";
import type { ApiEnv } from "../env.ts";
import { ValidationError } from "../errors.ts";
import { Channel as DeliveryChannel } from "../../actors/mod.ts";
import { creatorAddress } from "../lib/actors.ts";
import { channelContext } from "../lib/channel_secrets.ts";
import { tenantTable } from "../lib/crud.ts";
import { iso, pageOf, PageQuery } from "../lib/pagination.ts";
import {
  ADMINS,
  ALL_ROLES,
  jsonBody,
  jsonResponse,
  protectedRoute,
  uuidParam,
} from "../lib/route.ts";
import { audit, inTenant, tellActor } from "../lib/tenant.ts";

// The mobile app has no connection settings yet: creators connect the other channels.
const Kind = DeliveryChannel.exclude(["mobile_app"]);
const ChannelStatus = z.enum(["active", "disabled"]);
const Secret = z.string().min(8).max(1000);
const Origin = z.url().max(300).regex(/^https?:\/\/[^/]+$/, "an origin: scheme://host[:port]");

const ChannelInput = z.discriminatedUnion("kind", [
  z.strictObject({
    kind: z.literal("telegram"),
    name: z.string().min(1).max(200),
    bot_token: Secret.regex(/^\d+:[A-Za-z0-9_-]+$/, "a Telegram bot token (123456:ABC...)"),
  }),
  z.strictObject({
    kind: z.literal("whatsapp"),
    name: z.string().min(1).max(200),
    phone_number: z.string().regex(/^\+[1-9]\d{6,14}$/, "E.164, e.g. +15551234567"),
    phone_number_id: z.string().regex(/^\d{5,32}$/),
    business_account_id: z.string().regex(/^\d{5,32}$/).optional(),
    access_token: Secret,
    app_secret: Secret,
  }),
  z.strictObject({
    kind: z.literal("web_widget"),
    name: z.string().min(1).max(200),
    allowed_origins: z.array(Origin).min(1).max(50),
  }),
]).openapi("ChannelInput");

const SECRET_FIELDS: Record<z.infer<typeof Kind>, string[]> = {
  telegram: ["bot_token"],
  whatsapp: ["access_token", "app_secret"],
  web_widget: [],
};

const Channel = z.object({
  id: z.uuid(),
  kind: Kind,
  name: z.string(),
  status: ChannelStatus,
  config: z.record(z.string(), z.unknown()),
  public_key: z.string().nullable(),
  secret_hints: z.record(z.string(), z.string()).openapi({
    description: "Last characters of each stored secret; the secrets are never returned",
  }),
  created_at: z.string(),
  updated_at: z.string(),
}).openapi("Channel");

const CreatedChannel = Channel.extend({
  generated_secrets: z.record(z.string(), z.string()).openapi({
    description: "Secrets generated for you (webhook secret, widget identity secret); shown once",
  }),
}).openapi("CreatedChannel");

interface Row {
  id: string;
  kind: z.infer<typeof Kind>;
  name: string;
  status: z.infer<typeof ChannelStatus>;
  config: Record<string, unknown> & { secret_hints?: Record<string, string> };
  public_key: string | null;
  created_at: Date;
  updated_at: Date;
}
const COLUMNS = "id, kind, name, status, config, public_key, created_at, updated_at";
const toJson = (r: Row) => {
  const { secret_hints = {}, ...config } = r.config;
  return {
    ...r,
    config,
    secret_hints,
    created_at: iso(r.created_at)!,
    updated_at: iso(r.updated_at)!,
  };
};
const hint = (secret: string) => `…${secret.slice(-4)}`;
const channels = tenantTable({
  table: "channel_connections",
  type: "channel",
  name: "Channel",
  columns: COLUMNS,
  updatable: ["name", "status", "config"],
  toJson,
});
const Id = uuidParam("channelId");
const tags = ["channels"];

/** Channel connections: Telegram bots, WhatsApp numbers, web widgets; secrets sealed at rest. */
export function registerChannels(app: OpenAPIHono<ApiEnv>) {
  app.openapi(
    protectedRoute(ALL_ROLES, {
      method: "get",
      path: "/channels",
      tags,
      summary: "List channel connections",
      request: { query: PageQuery.extend({ kind: Kind.optional() }) },
      responses: { 200: jsonResponse(pageOf(Channel), "A page of channels") },
    }),
    async (c) => {
      const q = c.req.valid("query");
      const page = await inTenant(c, (client) =>
        channels.list(client, {
          equal: { kind: q.kind },
          limit: q.limit,
          cursor: q.cursor,
        }));
      return c.json(page, 200);
    },
  );

  app.openapi(
    protectedRoute(ADMINS, {
      method: "post",
      path: "/channels",
      tags,
      summary: "Connect a channel; generated secrets are shown once",
      request: { body: jsonBody(ChannelInput) },
      responses: { 201: jsonResponse(CreatedChannel, "Connected") },
    }),
    async (c) => {
      const body = c.req.valid("json");
      const { secrets } = c.get("services");
      const creatorId = c.get("auth").creatorId;
      const given: Record<string, string> = {};
      for (const field of SECRET_FIELDS[body.kind]) {
        given[field] = (body as unknown as Record<string, string>)[field]!;
      }
      const generated: Record<string, string> = body.kind === "telegram"
        ? { webhook_secret: randomToken("", 24) }
        : body.kind === "web_widget"
        ? { identity_secret: randomToken("wis_", 24) }
        : { verify_token: randomToken("", 24) };
      const config: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(body)) {
        if (k !== "kind" && k !== "name" && !(k in given)) config[k] = v;
      }
      config.secret_hints = Object.fromEntries(
        Object.entries(given).map(([k, v]) => [k, hint(v)]),
      );
      const publicKey = body.kind === "web_widget" ? randomToken("wk_", 18) : null;
      const row = await inTenant(c, async (client) => {
        const { rows: [ch] } = await client.query<Row>(
          `insert into channel_connections (creator_id, kind, name, config, public_key)
           values (app_creator_id(), $1, $2, $3, $4) returning ${COLUMNS}`,
          [body.kind, body.name, config, publicKey],
        );
        const sealed = await secrets.seal(
          JSON.stringify({ ...given, ...generated }),
          channelContext(creatorId, ch!.id),
        );
        await client.query(
          "update channel_connections set secret_iv = $2, secret_ciphertext = $3 where id = $1",
          [ch!.id, sealed.iv, sealed.ciphertext],
        );
        await audit(client, c, "channel.connect", { type: "channel", id: ch!.id }, {
          kind: body.kind,
        });
        await tellActor(client, c, creatorAddress(creatorId), "channelConnected", {
          channelId: ch!.id,
          kind: body.kind,
        }, { msgId: `channelConnected:${ch!.id}` });
        return ch!;
      });
      c.header("location", `/v1/channels/${row.id}`);
      return c.json({ ...toJson(row), generated_secrets: generated }, 201);
    },
  );

  app.openapi(
    protectedRoute(ALL_ROLES, {
      method: "get",
      path: "/channels/{channelId}",
      tags,
      summary: "Get a channel connection (never its secrets)",
      request: { params: Id },
      responses: { 200: jsonResponse(Channel, "The channel") },
    }),
    async (c) => {
      const { channelId } = c.req.valid("param");
      const row = await inTenant(c, (client) => channels.find(client, channelId));
      return c.json(toJson(row), 200);
    },
  );

  app.openapi(
    protectedRoute(ADMINS, {
      method: "patch",
      path: "/channels/{channelId}",
      tags,
      summary: "Rename, enable/disable a channel, change widget origins",
      request: {
        params: Id,
        body: jsonBody(z.strictObject({
          name: z.string().min(1).max(200).optional(),
          status: ChannelStatus.optional(),
          allowed_origins: z.array(Origin).min(1).max(50).optional(),
        })),
      },
      responses: { 200: jsonResponse(Channel, "Updated") },
    }),
    async (c) => {
      const { channelId } = c.req.valid("param");
      const patch = c.req.valid("json");

      const creatorId = c.get("auth").creatorId;
      const row = await inTenant(c, async (client) => {
        const cur = await channels.find(client, channelId, { lock: true });
        if (patch.allowed_origins && cur.kind !== "web_widget") {
          throw new ValidationError("Only web widgets have allowed origins", [
            { field: "body.allowed_origins", message: `not valid for a ${cur.kind} channel` },
          ]);
        }
        const config = patch.allowed_origins
          ? { ...cur.config, allowed_origins: patch.allowed_origins }
          : cur.config;
        const ch = await channels.update(client, c, {
          id: channelId,
          set: { name: patch.name ?? cur.name, status: patch.status ?? cur.status, config },
          details: { fields: Object.keys(patch) },
        });
        if (patch.status && patch.status !== cur.status) {
          const kind = patch.status === "active" ? "channelConnected" : "channelDisconnected";
          await tellActor(
            client,
            c,
            creatorAddress(creatorId),
            kind,
            { channelId, kind: cur.kind },
            {
              msgId: `${kind}:${channelId}:${ch.updated_at.getTime()}`,
            },
          );
        }
        return ch;
      });
      return c.json(toJson(row), 200);
    },
  );

  app.openapi(
    protectedRoute(ADMINS, {
      method: "delete",
      path: "/channels/{channelId}",
      tags,
      summary: "Disconnect and delete a channel and its secrets",
      request: { params: Id },
      responses: { 204: { description: "Deleted" } },
    }),
    async (c) => {
      const { channelId } = c.req.valid("param");

      const creatorId = c.get("auth").creatorId;
      await inTenant(c, async (client) => {
        const ch = await channels.remove(client, c, { id: channelId });
        await tellActor(client, c, creatorAddress(creatorId), "channelDisconnected", {
          channelId,
          kind: ch.kind,
        }, { msgId: `channelDeleted:${channelId}` });
      });
      return c.body(null, 204);
    },
  );
}
