import { type OpenAPIHono, z } from "@hono/zod-openapi";
import { hashPassword } from "../auth/credentials.ts";
import type { ApiEnv } from "../env.ts";
import { ConflictError, ForbiddenError, NotFoundError } from "../errors.ts";
import { iso, listPage, pageOf, PageQuery } from "../lib/pagination.ts";
import {
  ADMINS,
  ALL_ROLES,
  jsonBody,
  jsonResponse,
  protectedRoute,
  uuidParam,
} from "../lib/route.ts";
import { audit, inTenant } from "../lib/tenant.ts";
import { Email, Password } from "./auth.ts";

const RoleEnum = z.enum(["owner", "admin", "editor", "viewer"]);
const Member = z.object({
  id: z.uuid(),
  email: z.string(),
  name: z.string(),
  role: RoleEnum,
  created_at: z.string(),
}).openapi("Member");

const Me = z.object({
  creator: z.object({
    id: z.uuid(),
    email: z.string(),
    name: z.string(),
    subscription_tier: z.string(),
  }),
  role: RoleEnum,
  kind: z.enum(["jwt", "api_key"]),
  subject: z.string(),
}).openapi("Me");

interface Row {
  id: string;
  email: string;
  name: string;
  role: z.infer<typeof RoleEnum>;
  created_at: Date;
}
const toJson = (r: Row) => ({
  id: r.id,
  email: r.email,
  name: r.name,
  role: r.role,
  created_at: iso(r.created_at)!,
});
const COLUMNS = "t.id, t.email, t.name, t.role, t.created_at";
const Id = uuidParam("memberId");
const tags = ["members"];

/** The caller's account, and the creator's team members with their roles. */
export function registerMembers(app: OpenAPIHono<ApiEnv>) {
  app.openapi(
    protectedRoute(ALL_ROLES, {
      method: "get",
      path: "/me",
      tags,
      summary: "Who am I: creator account and role",
      responses: { 200: jsonResponse(Me, "The caller") },
    }),
    async (c) => {
      const auth = c.get("auth");
      const creator = await inTenant(
        c,
        async (client) =>
          (await client.query("select id, email, name, subscription_tier from creators")).rows[0],
      );
      return c.json({ creator, role: auth.role, kind: auth.kind, subject: auth.subject }, 200);
    },
  );

  app.openapi(
    protectedRoute(ALL_ROLES, {
      method: "get",
      path: "/members",
      tags,
      summary: "List team members",
      request: { query: PageQuery },
      responses: { 200: jsonResponse(pageOf(Member), "A page of members") },
    }),
    async (c) => {
      const q = c.req.valid("query");
      const page = await inTenant(c, (client) =>
        listPage<Row & Record<string, unknown>>(client, {
          from: "creator_members",
          columns: COLUMNS,
          limit: q.limit,
          cursor: q.cursor,
        }));
      return c.json({ data: page.rows.map(toJson), next_cursor: page.nextCursor }, 200);
    },
  );

  app.openapi(
    protectedRoute(ADMINS, {
      method: "post",
      path: "/members",
      tags,
      summary: "Add a team member with an initial password",
      request: {
        body: jsonBody(z.strictObject({
          email: Email,
          name: z.string().max(200).default(""),
          password: Password,
          role: z.enum(["admin", "editor", "viewer"]),
        })),
      },
      responses: { 201: jsonResponse(Member, "Created") },
    }),
    async (c) => {
      const body = c.req.valid("json");
      const passwordHash = await hashPassword(body.password);
      const row = await inTenant(c, async (client) => {
        // Global uniqueness: RLS hides other tenants' members, the unique index does not.
        const { rows: [m] } = await client.query<Row>(
          `insert into creator_members (creator_id, email, name, password_hash, role)
           values (app_creator_id(), $1, $2, $3, $4) on conflict do nothing
           returning ${COLUMNS.replaceAll("t.", "")}`,
          [body.email, body.name, passwordHash, body.role],
        );
        if (!m) {
          throw new ConflictError("This e-mail already has an account", [
            { field: "body.email", message: "already registered" },
          ]);
        }
        await audit(client, c, "member.create", { type: "member", id: m.id }, { role: m.role });
        return m;
      });
      return c.json(toJson(row), 201);
    },
  );

  app.openapi(
    protectedRoute(ADMINS, {
      method: "patch",
      path: "/members/{memberId}",
      tags,
      summary: "Change a member's role",
      request: {
        params: Id,
        body: jsonBody(z.strictObject({ role: z.enum(["admin", "editor", "viewer"]) })),
      },
      responses: { 200: jsonResponse(Member, "Updated") },
    }),
    async (c) => {
      const { memberId } = c.req.valid("param");
      const { role } = c.req.valid("json");
      const row = await inTenant(c, async (client) => {
        const { rows: [current] } = await client.query<Row>(
          "select role from creator_members where id = $1 for update",
          [memberId],
        );
        if (!current) return undefined;
        if (current.role === "owner") throw new ForbiddenError("The owner's role cannot change");
        const { rows: [m] } = await client.query<Row>(
          `update creator_members set role = $2, updated_at = now() where id = $1
           returning ${COLUMNS.replaceAll("t.", "")}`,
          [memberId, role],
        );
        // Outstanding refresh tokens would re-issue the old role; make the member sign in again.
        await client.query("update refresh_tokens set revoked_at = now() where member_id = $1", [
          memberId,
        ]);
        await audit(client, c, "member.update", { type: "member", id: memberId }, { role });
        return m;
      });
      if (!row) throw new NotFoundError("Member", memberId);
      return c.json(toJson(row), 200);
    },
  );

  app.openapi(
    protectedRoute(ADMINS, {
      method: "delete",
      path: "/members/{memberId}",
      tags,
      summary: "Remove a team member",
      request: { params: Id },
      responses: { 204: { description: "Removed" } },
    }),
    async (c) => {
      const { memberId } = c.req.valid("param");
      const found = await inTenant(c, async (client) => {
        const { rows: [current] } = await client.query<Row>(
          "select role from creator_members where id = $1 for update",
          [memberId],
        );
        if (!current) return false;
        if (current.role === "owner") throw new ForbiddenError("The owner cannot be removed");
        await client.query("delete from creator_members where id = $1", [memberId]);
        await audit(client, c, "member.delete", { type: "member", id: memberId });
        return true;
      });
      if (!found) throw new NotFoundError("Member", memberId);
      return c.body(null, 204);
    },
  );
}
