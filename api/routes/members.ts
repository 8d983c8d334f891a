import { type OpenAPIHono, z } from "@hono/zod-openapi";
import { hashPassword } from "../auth/credentials.ts";
import type { ApiEnv } from "../env.ts";
import { ConflictError, ForbiddenError } from "../errors.ts";
import { tenantTable } from "../lib/crud.ts";
import { iso } from "../lib/pagination.ts";
import { resourceRoutes } from "../lib/resource.ts";
import { ADMINS, ALL_ROLES, jsonResponse, protectedRoute } from "../lib/route.ts";
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
const COLUMNS = "id, email, name, role, created_at";
const members = tenantTable({
  table: "creator_members",
  type: "member",
  name: "Member",
  columns: COLUMNS,
  updatable: ["role"],
  toJson,
});
const MemberInput = z.strictObject({
  email: Email,
  name: z.string().max(200).default(""),
  password: Password,
  role: z.enum(["admin", "editor", "viewer"]),
});
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

  resourceRoutes(app, {
    table: members,
    tags,
    schema: Member,
    path: "/members",
    idParam: "memberId",
    list: { roles: ALL_ROLES, summary: "List team members", description: "A page of members" },
    create: {
      roles: ADMINS,
      summary: "Add a team member with an initial password",
      body: MemberInput,
      location: false,
      prepare: async (_c, body) => ({ ...body, passwordHash: await hashPassword(body.password) }),
      run: async (client, c, body) => {
        // Global uniqueness: RLS hides other tenants' members, the unique index does not.
        const { rows: [m] } = await client.query<Row>(
          `insert into creator_members (creator_id, email, name, password_hash, role)
           values (app_creator_id(), $1, $2, $3, $4) on conflict do nothing
           returning ${COLUMNS}`,
          [body.email, body.name, body.passwordHash, body.role],
        );
        if (!m) {
          throw new ConflictError("This e-mail already has an account", [
            { field: "body.email", message: "already registered" },
          ]);
        }
        await audit(client, c, "member.create", { type: "member", id: m.id }, { role: m.role });
        return m;
      },
    },
    patch: {
      roles: ADMINS,
      summary: "Change a member's role",
      body: z.strictObject({ role: z.enum(["admin", "editor", "viewer"]) }),
      run: async (client, c, memberId, { role }) => {
        const current = await members.find(client, memberId, { lock: true });
        if (current.role === "owner") throw new ForbiddenError("The owner's role cannot change");
        const m = await members.update(client, c, {
          id: memberId,
          set: { role },
          details: { role },
        });
        // Outstanding refresh tokens would re-issue the old role; make the member sign in again.
        await client.query("update refresh_tokens set revoked_at = now() where member_id = $1", [
          memberId,
        ]);
        return m;
      },
    },
    delete: {
      roles: ADMINS,
      summary: "Remove a team member",
      description: "Removed",
      check: async (client, memberId) => {
        const current = await members.find(client, memberId, { lock: true });
        if (current.role === "owner") throw new ForbiddenError("The owner cannot be removed");
      },
    },
  });
}
