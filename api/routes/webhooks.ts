/**
 * Outbound webhooks: endpoints subscribed to event types (the signing secret shown once), their
 * delivery log, and replay. Targets in private address ranges are refused unless the node allows
 * them (WEBHOOKS_ALLOW_PRIVATE).
 */
import { type OpenAPIHono, z } from "@hono/zod-openapi";
import type { Context } from "hono";
import {
  checkTarget,
  newWebhookSecret,
  sealSecret,
  TargetRefusedError,
  WEBHOOK_EVENT_DESCRIPTIONS,
  WEBHOOK_EVENT_TYPES,
} from "../../business/mod.ts";
import type { ApiEnv } from "../env.ts";
import { NotFoundError, ValidationError } from "../errors.ts";
import { iso } from "../lib/pagination.ts";
import {
  ADMINS,
  ALL_ROLES,
  jsonBody,
  jsonResponse,
  protectedRoute,
  uuidParam,
} from "../lib/route.ts";
import { audit, inTenant } from "../lib/tenant.ts";

const tags = ["webhooks"];
const EventType = z.enum(WEBHOOK_EVENT_TYPES);
const Endpoint = z.object({
  id: z.uuid(),
  url: z.string(),
  description: z.string(),
  event_types: z.array(EventType),
  status: z.enum(["enabled", "disabled"]),
  disabled_reason: z.string().nullable(),
  created_at: z.string(),
  updated_at: z.string(),
}).openapi("WebhookEndpoint");
const CreatedEndpoint = Endpoint.extend({
  secret: z.string().openapi({ description: "The signing secret (`whsec_...`), shown once" }),
}).openapi("CreatedWebhookEndpoint");
const Delivery = z.object({
  id: z.uuid(),
  endpoint_id: z.uuid(),
  message_id: z.string(),
  event_id: z.string(),
  event_type: z.string(),
  payload: z.unknown(),
  status: z.enum(["pending", "succeeded", "failed"]),
  attempts: z.number().int(),
  next_attempt_at: z.string().nullable(),
  last_attempt_at: z.string().nullable(),
  last_status_code: z.number().int().nullable(),
  last_error: z.string().nullable(),
  created_at: z.string(),
}).openapi("WebhookDelivery");
const EndpointInput = z.strictObject({
  url: z.url().max(2000),
  event_types: z.array(EventType).min(1).max(WEBHOOK_EVENT_TYPES.length),
  description: z.string().max(500).optional(),
});
const EndpointId = uuidParam("endpointId");
const DeliveryId = uuidParam("deliveryId");

interface EndpointRow {
  id: string;
  url: string;
  description: string;
  event_types: string[];
  status: "enabled" | "disabled";
  disabled_reason: string | null;
  created_at: Date;
  updated_at: Date;
}
const ENDPOINT_COLUMNS =
  "id, url, description, event_types, status, disabled_reason, created_at, updated_at";
const endpointJson = (r: EndpointRow) => ({
  ...r,
  event_types: r.event_types as z.infer<typeof EventType>[],
  created_at: iso(r.created_at)!,
  updated_at: iso(r.updated_at)!,
});
// deno-lint-ignore no-explicit-any -- rows of webhook_deliveries
const deliveryJson = (r: any) => ({
  id: r.id,
  endpoint_id: r.endpoint_id,
  message_id: r.message_id,
  event_id: r.event_id,
  event_type: r.event_type,
  payload: r.payload,
  status: r.status,
  attempts: r.attempts,
  next_attempt_at: iso(r.next_attempt_at),
  last_attempt_at: iso(r.last_attempt_at),
  last_status_code: r.last_status_code,
  last_error: r.last_error,
  created_at: iso(r.created_at)!,
});

async function allowedTarget(c: Context<ApiEnv>, url: string): Promise<void> {
  // Without the business services, private targets stay refused.
  const webhooks = c.get("services").business?.webhooks ?? { allowPrivate: false };
  try {
    await checkTarget(url, webhooks);
  } catch (err) {
    if (err instanceof TargetRefusedError) {
      throw new ValidationError("The webhook URL is not allowed", [
        { field: "body.url", message: err.message },
      ]);
    }
    throw err;
  }
}

export function registerWebhooks(app: OpenAPIHono<ApiEnv>) {
  app.openapi(
    protectedRoute(ALL_ROLES, {
      method: "get",
      path: "/webhooks/event-types",
      tags,
      summary: "The event types an endpoint can subscribe to",
      responses: {
        200: jsonResponse(
          z.object({ data: z.array(z.object({ type: EventType, description: z.string() })) }),
          "Event types",
        ),
      },
    }),
    (c) =>
      c.json({
        data: WEBHOOK_EVENT_TYPES.map((type) => ({
          type,
          description: WEBHOOK_EVENT_DESCRIPTIONS[type],
        })),
      }, 200),
  );

  app.openapi(
    protectedRoute(ADMINS, {
      method: "post",
      path: "/webhooks/endpoints",
      tags,
      summary: "Subscribe an endpoint to events; the signing secret is shown once",
      request: { body: jsonBody(EndpointInput) },
      responses: { 201: jsonResponse(CreatedEndpoint, "Created") },
    }),
    async (c) => {
      const body = c.req.valid("json");
      await allowedTarget(c, body.url);
      const creatorId = c.get("auth").creatorId;
      const id = crypto.randomUUID();
      const secret = newWebhookSecret();
      // The API's box: the same SECRETS_KEY as the dispatcher's.
      const sealed = await sealSecret(c.get("services").secrets, creatorId, id, secret);
      const row = await inTenant(c, async (client) => {
        const { rows: [r] } = await client.query<EndpointRow>(
          `insert into webhook_endpoints (id, creator_id, url, description, event_types, secret_iv,
             secret_ciphertext) values ($1, app_creator_id(), $2, $3, $4, $5, $6)
           returning ${ENDPOINT_COLUMNS}`,
          [
            id,
            body.url,
            body.description ?? "",
            [...new Set(body.event_types)],
            sealed.iv,
            sealed.ciphertext,
          ],
        );
        await audit(client, c, "webhook_endpoint.create", { type: "webhook_endpoint", id }, {
          event_types: body.event_types,
        });
        return r!;
      });
      return c.json({ ...endpointJson(row), secret }, 201);
    },
  );

  app.openapi(
    protectedRoute(ALL_ROLES, {
      method: "get",
      path: "/webhooks/endpoints",
      tags,
      summary: "List webhook endpoints",
      responses: { 200: jsonResponse(z.object({ data: z.array(Endpoint) }), "Endpoints") },
    }),
    async (c) => {
      const rows = await inTenant(c, async (client) =>
        (await client.query<EndpointRow>(
          `select ${ENDPOINT_COLUMNS} from webhook_endpoints order by created_at, id limit 500`,
        )).rows);
      return c.json({ data: rows.map(endpointJson) }, 200);
    },
  );

  app.openapi(
    protectedRoute(ALL_ROLES, {
      method: "get",
      path: "/webhooks/endpoints/{endpointId}",
      tags,
      summary: "Get a webhook endpoint",
      request: { params: EndpointId },
      responses: { 200: jsonResponse(Endpoint, "The endpoint") },
    }),
    async (c) => {
      const { endpointId } = c.req.valid("param");
      const row = await inTenant(c, async (client) =>
        (await client.query<EndpointRow>(
          `select ${ENDPOINT_COLUMNS} from webhook_endpoints where id = $1`,
          [endpointId],
        )).rows[0]);
      if (!row) throw new NotFoundError("Webhook endpoint", endpointId);
      return c.json(endpointJson(row), 200);
    },
  );

  app.openapi(
    protectedRoute(ADMINS, {
      method: "patch",
      path: "/webhooks/endpoints/{endpointId}",
      tags,
      summary: "Change an endpoint, or enable it again after it was disabled",
      request: {
        params: EndpointId,
        body: jsonBody(
          EndpointInput.partial().extend({ status: z.enum(["enabled", "disabled"]).optional() }),
        ),
      },
      responses: { 200: jsonResponse(Endpoint, "The endpoint") },
    }),
    async (c) => {
      const { endpointId } = c.req.valid("param");
      const body = c.req.valid("json");
      if (body.url) await allowedTarget(c, body.url);
      const row = await inTenant(c, async (client) => {
        const { rows: [r] } = await client.query<EndpointRow>(
          `update webhook_endpoints set url = coalesce($2, url),
             description = coalesce($3, description), event_types = coalesce($4, event_types),
             status = coalesce($5, status),
             disabled_reason = case when $5 = 'enabled' then null
                                    when $5 = 'disabled' then 'disabled by the creator'
                                    else disabled_reason end,
             updated_at = now()
           where id = $1 returning ${ENDPOINT_COLUMNS}`,
          [
            endpointId,
            body.url ?? null,
            body.description ?? null,
            body.event_types ? [...new Set(body.event_types)] : null,
            body.status ?? null,
          ],
        );
        if (r) {
          await audit(client, c, "webhook_endpoint.update", {
            type: "webhook_endpoint",
            id: endpointId,
          }, { status: body.status, event_types: body.event_types });
        }
        return r;
      });
      if (!row) throw new NotFoundError("Webhook endpoint", endpointId);
      return c.json(endpointJson(row), 200);
    },
  );

  app.openapi(
    protectedRoute(ADMINS, {
      method: "delete",
      path: "/webhooks/endpoints/{endpointId}",
      tags,
      summary: "Delete an endpoint and its delivery log",
      request: { params: EndpointId },
      responses: { 204: { description: "Deleted" } },
    }),
    async (c) => {
      const { endpointId } = c.req.valid("param");
      const gone = await inTenant(c, async (client) => {
        const { rowCount } = await client.query("delete from webhook_endpoints where id = $1", [
          endpointId,
        ]);
        if (rowCount) {
          await audit(client, c, "webhook_endpoint.delete", {
            type: "webhook_endpoint",
            id: endpointId,
          });
        }
        return rowCount === 1;
      });
      if (!gone) throw new NotFoundError("Webhook endpoint", endpointId);
      return c.body(null, 204);
    },
  );

  app.openapi(
    protectedRoute(ALL_ROLES, {
      method: "get",
      path: "/webhooks/endpoints/{endpointId}/deliveries",
      tags,
      summary: "The delivery log of an endpoint, newest first",
      request: {
        params: EndpointId,
        query: z.object({
          status: z.enum(["pending", "succeeded", "failed"]).optional(),
          limit: z.coerce.number().int().min(1).max(200).default(50),
        }),
      },
      responses: { 200: jsonResponse(z.object({ data: z.array(Delivery) }), "Deliveries") },
    }),
    async (c) => {
      const { endpointId } = c.req.valid("param");
      const q = c.req.valid("query");
      const rows = await inTenant(c, async (client) => {
        const known = await client.query("select 1 from webhook_endpoints where id = $1", [
          endpointId,
        ]);
        if (!known.rowCount) throw new NotFoundError("Webhook endpoint", endpointId);
        return (await client.query(
          `select * from webhook_deliveries where endpoint_id = $1 and ($2::text is null or status = $2)
           order by created_at desc, id desc limit $3`,
          [endpointId, q.status ?? null, q.limit],
        )).rows;
      });
      return c.json({ data: rows.map(deliveryJson) }, 200);
    },
  );

  app.openapi(
    protectedRoute(ADMINS, {
      method: "post",
      path: "/webhooks/deliveries/{deliveryId}/replay",
      tags,
      summary: "Send a delivery again now (same webhook-id, so receivers can deduplicate)",
      request: { params: DeliveryId },
      responses: { 202: jsonResponse(Delivery, "Queued again") },
    }),
    async (c) => {
      const { deliveryId } = c.req.valid("param");
      const row = await inTenant(c, async (client) => {
        const { rows: [r] } = await client.query(
          `update webhook_deliveries set status = 'pending', attempts = 0, next_attempt_at = now()
            where id = $1 returning *`,
          [deliveryId],
        );
        if (r) {
          await audit(client, c, "webhook_delivery.replay", {
            type: "webhook_delivery",
            id: deliveryId,
          });
        }
        return r;
      });
      if (!row) throw new NotFoundError("Webhook delivery", deliveryId);
      return c.json(deliveryJson(row), 202);
    },
  );
}
