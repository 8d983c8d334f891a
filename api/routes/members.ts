import { type OpenAPIHono, z } from "@hono/zod-openapi";
import { hashPassword } from "../auth/credentials.ts";
import { enforceLimit } from "./billing_limits.ts";
import type { ApiEnv } from "../env.ts";
import { ConflictError, ForbiddenError } from "../errors.ts";
import { tenantTable } from "../lib/crud.ts";
import { iso } from "../lib/pagination.ts";
import { resourceRoutes } from "../lib/resource.ts";
import { ADMINS, ALL_ROLES, jsonResponse, protectedRoute } from "../lib/route.ts";
import { audit, inTenant } from "../lib/tenant.ts";
import { endSessions } from "../auth/sessions.ts";
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
  kind: z.enum(["jwt", "api_key", "oauth"]),
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
      prepare: async (c, body) => {
        await enforceLimit(c, "members");
        return { ...body, passwordHash: await hashPassword(body.password) };
      },
      run: async (client, c, body) => {
        // E-mails are unique within a team only (migration 0110), so a conflict names a member
        // of this creator and says nothing about other tenants.
        const { rows: [m] } = await client.query<Row>(
          `insert into creator_members (creator_id, email, name, password_hash, role)
           values (app_creator_id(), $1, $2, $3, $4) on conflict do nothing
           returning ${COLUMNS}`,
          [body.email, body.name, body.passwordHash, body.role],
        );
        if (!m) {
          throw new ConflictError("This e-mail is already a member of this team", [
            { field: "body.email", message: "already a member" },
          ]);
        }
        await audit(client, c, "member.create", { type: "member", id: m.id }, { role: m.role });
        return m;
      },
      afterCommit: async (c, m) => {
        const s = c.get("services");
        const team = await inTenant(
          c,
          async (client) =>
            (await client.query<{ name: string }>("select name from creators")).rows[0]?.name ?? "",
        );
        // The member exists either way; a notice that cannot be sent is logged, not an error.
        await s.mailer.send({
          kind: "member_invitation",
          email: m.email,
          name: m.name,
          team,
          role: m.role,
        }).catch((err) =>
          s.log.error("account notice not sent", { kind: "member_invitation", error: String(err) })
        );
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
        // The member signs in again under the new role: their sessions (access and refresh
        // tokens) end on every node.
        await endSessions(client, { memberId });
        return m;
      },
      afterCommit: (c, m) =>
        c.get("services").sessions.ended({ kind: "members", memberIds: [m.id] }),
    },
    delete: {
      roles: ADMINS,
      summary: "Remove a team member",
      description: "Removed",
      run: async (client, c, memberId) => {
        const current = await members.find(client, memberId, { lock: true });
        if (current.role === "owner") throw new ForbiddenError("The owner cannot be removed");
        // The member's API keys go with them (and keys those keys made): revoked, not re-owned,
        // so nothing they set up keeps acting once they are gone.
        const { rows: keys } = await client.query<{ id: string }>(
          `with recursive made(id) as (
             select id from api_keys where created_by = $1
             union select k.id from api_keys k join made on k.created_by = made.id)
           update api_keys set revoked_at = now()
           where id in (select id from made) and revoked_at is null returning id`,
          [memberId],
        );
        for (const key of keys) {
          await audit(client, c, "api_key.revoke", { type: "api_key", id: key.id }, {
            reason: "member_removed",
            member_id: memberId,
          });
        }
        // Sessions and refresh tokens go by `on delete cascade`.
        return await members.remove(client, c, {
          id: memberId,
          details: { api_keys_revoked: keys.length },
        });
      },
      afterCommit: (c, memberId) =>
        c.get("services").sessions.ended({ kind: "members", memberIds: [memberId] }),
    },
  });
}
