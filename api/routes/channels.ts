import { type OpenAPIHono, z } from "@hono/zod-openapi";
import { randomToken } from "../auth/credentials.ts";
import type { ApiEnv, ChannelConnector } from "../env.ts";
import { ApiError, ValidationError } from "../errors.ts";
import type { Context } from "hono";
import { ChannelCredentialsError } from "../../channels/connect.ts";
import { ProviderError } from "../../channels/core/sender.ts";
import { Channel as DeliveryChannel } from "../../actors/mod.ts";
import { creatorAddress } from "../lib/actors.ts";
import { channelContext, readChannelSecrets } from "../../channels/core/connection_secrets.ts";
import { tenantTable } from "../lib/crud.ts";
import { WidgetLook } from "../../channels/widget/settings.ts";
import { iso } from "../lib/pagination.ts";
import { resourceRoutes } from "../lib/resource.ts";
import { ADMINS, ALL_ROLES } from "../lib/route.ts";
import { audit, tellActor } from "../lib/tenant.ts";

const Kind = DeliveryChannel;
const ChannelStatus = z.enum(["active", "disabled"]);
const Secret = z.string().min(8).max(1000);
const Origin = z.url().max(300).regex(/^https?:\/\/[^/]+$/, "an origin: scheme://host[:port]");

/**
 * WhatsApp message templates the creator had approved by Meta, by delivery purpose (or
 * `default`): outside the 24-hour window only these may be sent.
 */
const Templates = z.partialRecord(
  z.enum(["default", "answer", "creator_reply", "notice", "nudge", "program", "badge"]),
  z.strictObject({
    name: z.string().regex(/^[a-z0-9_]{1,512}$/, "a template name: lowercase, digits, _"),
    language: z.string().regex(/^[a-z]{2,3}(_[A-Z]{2})?$/, "a template language, e.g. en or en_US"),
    body_variables: z.number().int().min(0).max(10).default(1),
  }),
).openapi("WhatsAppTemplates");

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
    templates: Templates.optional(),
    /** Messages per second the number may send (WhatsApp's default tier: 80). */
    messages_per_second: z.number().int().min(1).max(1000).optional(),
  }),
  z.strictObject({
    kind: z.literal("web_widget"),
    name: z.string().min(1).max(200),
    allowed_origins: z.array(Origin).min(1).max(50),
    /** Title, colours, greeting, quick replies and theme of the widget (docs/widget.md). */
    look: WidgetLook.optional(),
  }),
  // The creator's own app: its public key lets devices register (docs/mobile.md).
  z.strictObject({
    kind: z.literal("mobile_app"),
    name: z.string().min(1).max(200),
  }),
]).openapi("ChannelInput");

const SECRET_FIELDS: Record<z.infer<typeof Kind>, string[]> = {
  telegram: ["bot_token"],
  whatsapp: ["access_token", "app_secret"],
  web_widget: [],
  mobile_app: [],
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
const PatchInput = z.strictObject({
  name: z.string().min(1).max(200).optional(),
  status: ChannelStatus.optional(),
  allowed_origins: z.array(Origin).min(1).max(50).optional(),
  templates: Templates.optional(),
  look: WidgetLook.optional(),
});

/** What a new connection stores: given secrets apart, generated ones added, hints in config. */
function prepareConnection(body: z.infer<typeof ChannelInput>) {
  const given: Record<string, string> = {};
  for (const field of SECRET_FIELDS[body.kind]) {
    given[field] = (body as unknown as Record<string, string>)[field]!;
  }
  const generated: Record<string, string> = body.kind === "telegram"
    ? { webhook_secret: randomToken("", 24) }
    : body.kind === "web_widget"
    ? { identity_secret: randomToken("wis_", 24) }
    : body.kind === "mobile_app"
    ? {}
    : { verify_token: randomToken("", 24) };
  const config: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(body)) {
    if (k !== "kind" && k !== "name" && !(k in given)) config[k] = v;
  }
  config.secret_hints = Object.fromEntries(
    Object.entries(given).map(([k, v]) => [k, hint(v)]),
  );
  const publicKey = body.kind === "web_widget"
    ? randomToken("wk_", 18)
    : body.kind === "mobile_app"
    ? randomToken("ak_", 18)
    : null;
  return { body, given, generated, config, publicKey };
}

/** Channel connections: Telegram bots, WhatsApp numbers, web widgets; secrets sealed at rest. */
export function registerChannels(app: OpenAPIHono<ApiEnv>) {
  resourceRoutes(app, {
    table: channels,
    tags: ["channels"],
    schema: Channel,
    path: "/channels",
    idParam: "channelId",
    list: {
      roles: ALL_ROLES,
      summary: "List channel connections",
      description: "A page of channels",
      query: { kind: Kind.optional() },
      filter: (q) => ({ equal: { kind: q.kind } }),
    },
    create: {
      roles: ADMINS,
      summary: "Connect a channel; generated secrets are shown once",
      description: "Connected",
      body: ChannelInput,
      schema: CreatedChannel,
      prepare: (_c, body) => prepareConnection(body),
      run: async (client, c, { body, given, generated, config, publicKey }) => {
        const { secrets } = c.get("services");
        const creatorId = c.get("auth").creatorId;
        const { rows: [ch] } = await client.query<Row>(
          `insert into channel_connections (creator_id, kind, name, config, public_key)
           values (app_creator_id(), $1, $2, $3, $4) returning ${COLUMNS}`,
          [body.kind, body.name, config, publicKey],
        );
        const sealed = await secrets.seal(
          JSON.stringify({ ...given, ...generated }),
          channelContext(creatorId, ch!.id),
        );
        // The provider checks the credentials before anything is kept: a refusal rolls it back.
        const linked = await connectWithProvider(c, {
          id: ch!.id,
          creatorId,
          kind: body.kind,
          config,
          secrets: { ...given, ...generated },
        });
        const { rows: [stored] } = await client.query<Row>(
          `update channel_connections set secret_iv = $2, secret_ciphertext = $3,
                  config = config || $4 where id = $1 returning ${COLUMNS}`,
          [ch!.id, sealed.iv, sealed.ciphertext, linked],
        );
        await audit(client, c, "channel.connect", { type: "channel", id: ch!.id }, {
          kind: body.kind,
        });
        await tellActor(client, c, creatorAddress(creatorId), "channelConnected", {
          channelId: ch!.id,
          kind: body.kind,
        }, { msgId: `channelConnected:${ch!.id}` });
        return stored!;
      },
      respond: (row, { generated }) => ({ ...toJson(row), generated_secrets: generated }),
    },
    get: {
      roles: ALL_ROLES,
      summary: "Get a channel connection (never its secrets)",
      description: "The channel",
    },
    patch: {
      roles: ADMINS,
      summary: "Rename, enable/disable a channel, change widget origins or WhatsApp templates",
      body: PatchInput,
      run: async (client, c, channelId, patch) => {
        const creatorId = c.get("auth").creatorId;
        const cur = await channels.find(client, channelId, { lock: true });
        if (patch.allowed_origins && cur.kind !== "web_widget") {
          throw new ValidationError("Only web widgets have allowed origins", [
            { field: "body.allowed_origins", message: `not valid for a ${cur.kind} channel` },
          ]);
        }
        if (patch.look && cur.kind !== "web_widget") {
          throw new ValidationError("Only web widgets have a look", [
            { field: "body.look", message: `not valid for a ${cur.kind} channel` },
          ]);
        }
        if (patch.templates && cur.kind !== "whatsapp") {
          throw new ValidationError("Only WhatsApp numbers have message templates", [
            { field: "body.templates", message: `not valid for a ${cur.kind} channel` },
          ]);
        }
        const config = {
          ...cur.config,
          ...(patch.allowed_origins ? { allowed_origins: patch.allowed_origins } : {}),
          ...(patch.templates ? { templates: patch.templates } : {}),
          ...(patch.look ? { look: patch.look } : {}),
        };
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
      },
      afterCommit: (c, row) => Promise.resolve(c.get("services").channels?.changed(row.id)),
    },
    delete: {
      roles: ADMINS,
      summary: "Disconnect and delete a channel and its secrets",
      run: async (client, c, channelId) => {
        const creatorId = c.get("auth").creatorId;
        const { pool, secrets: box, channels: connector } = c.get("services");
        // Read before the row goes: the provider side is undone with them after the commit.
        const secrets = connector
          ? await readChannelSecrets(pool, box, creatorId, channelId) ?? {}
          : {};
        const ch = await channels.remove(client, c, { id: channelId });
        await tellActor(client, c, creatorAddress(creatorId), "channelDisconnected", {
          channelId,
          kind: ch.kind,
        }, { msgId: `channelDeleted:${channelId}` });
        return { ...ch, secrets };
      },
      afterCommit: async (c, id, removed) => {
        const connector = c.get("services").channels;
        if (!connector) return;
        connector.changed(id);
        await connector.disconnect({
          id,
          creatorId: c.get("auth").creatorId,
          kind: removed.kind,
          config: removed.config,
          secrets: removed.secrets,
        }).catch((err) =>
          c.get("services").log.warn("provider side of a deleted channel not undone", {
            channel: id,
            error: String(err),
          })
        );
      },
    },
  });
}

/**
 * Has the channels check a new connection with its provider; a refusal is a 422 naming the
 * field, an unreachable provider a 502.
 */
async function connectWithProvider(
  c: Context<ApiEnv>,
  ch: Parameters<ChannelConnector["connect"]>[0],
): Promise<Record<string, unknown>> {
  const connector = c.get("services").channels;
  if (!connector) return {};
  try {
    return await connector.connect(ch);
  } catch (err) {
    if (err instanceof ChannelCredentialsError) {
      throw new ValidationError("The provider refused the credentials", [
        { field: err.field, message: err.message },
      ]);
    }
    if (err instanceof ProviderError) {
      throw new ApiError(
        502,
        "Provider unavailable",
        `The ${ch.kind} API did not answer: ${err.message}`,
      );
    }
    throw err;
  }
}
