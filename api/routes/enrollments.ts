/**
 * Programs and the people in them: creators enrol one person, a list or a segment in a program's
 * published version; pause, resume, skip, restart or unenrol someone; read a person's learned
 * profile, badges and achievements; list segments (by language, drop-off risk, channel, program).
 * Changes are told to each person's UserActor in the request's transaction.
 */
import { type OpenAPIHono, z } from "@hono/zod-openapi";
import type pg from "pg";
import type { ApiEnv } from "../env.ts";
import { ConflictError, NotFoundError } from "../errors.ts";
import { Channel, FlowDefinition, ProgramControlAction } from "../../actors/mod.ts";
import { userAddress } from "../lib/actors.ts";
import { iso } from "../lib/pagination.ts";
import {
  ALL_ROLES,
  jsonBody,
  jsonResponse,
  protectedRoute,
  uuidParam,
  WRITERS,
} from "../lib/route.ts";
import { audit, inTenant, tellActor } from "../lib/tenant.ts";

const Json = z.record(z.string(), z.unknown());
const RiskLevel = z.enum(["low", "medium", "high"]);
const ProgressStatus = z.enum(["active", "paused", "completed", "unenrolled"]);

const Segment = z.strictObject({
  language: z.string().max(35).optional().openapi({ description: "BCP 47 tag, e.g. fr" }),
  risk: RiskLevel.optional(),
  channel: Channel.optional(),
  program_id: z.uuid().optional(),
  program_status: ProgressStatus.optional(),
});
type Segment = z.infer<typeof Segment>;
const SEGMENT_LIMIT = 1000;

const EnrollInput = z.strictObject({
  end_user_ids: z.array(z.uuid()).min(1).max(SEGMENT_LIMIT).optional(),
  segment: Segment.optional(),
  /** Start over for people already in the program (with the newest version). */
  restart: z.boolean().optional(),
}).refine((b) => (b.end_user_ids ? 1 : 0) + (b.segment ? 1 : 0) === 1, {
  message: "give end_user_ids or segment",
  path: ["end_user_ids"],
}).openapi("EnrollmentRequest");

const SegmentMember = z.object({
  id: z.uuid(),
  display_name: z.string(),
  channel: z.string(),
  language: z.string().nullable(),
  risk: z.string().nullable(),
  risk_score: z.number().nullable(),
  last_active_at: z.string().nullable(),
}).openapi("SegmentMember");

const Progress = z.object({
  end_user_id: z.uuid(),
  program_id: z.uuid(),
  program_version: z.number().int(),
  current_step: z.string().nullable(),
  status: z.string(),
  data: Json,
  started_at: z.string(),
  updated_at: z.string(),
  completed_at: z.string().nullable(),
}).openapi("ProgramProgress");

const ProgramIdParam = uuidParam("programId");
const EndUserIdParam = uuidParam("endUserId");

/** People of the caller's creator matching the segment (row-level security scopes it). */
async function segmentMembers(client: pg.PoolClient, s: Segment, limit = SEGMENT_LIMIT) {
  const { rows } = await client.query<{
    id: string;
    display_name: string;
    channel: string;
    language: string | null;
    risk: string | null;
    risk_score: number | null;
    last_active_at: Date | null;
  }>(
    `select u.id, u.display_name, u.channel,
            u.profile #>> '{insights,language}' as language,
            u.profile #>> '{insights,risk,level}' as risk,
            (u.profile #>> '{insights,risk,score}')::int as risk_score,
            u.last_active_at
       from end_users u
      where ($1::text is null or u.profile #>> '{insights,language}' = $1)
        and ($2::text is null or u.profile #>> '{insights,risk,level}' = $2)
        and ($3::text is null or u.channel = $3)
        and ($4::uuid is null or exists (
              select 1 from program_progress pp
               where pp.end_user_id = u.id and pp.program_id = $4
                 and ($5::text is null or pp.status = $5)))
      order by u.created_at, u.id limit $6`,
    [
      s.language ?? null,
      s.risk ?? null,
      s.channel ?? null,
      s.program_id ?? null,
      s.program_status ?? null,
      limit,
    ],
  );
  return rows;
}

async function mustHaveEndUser(client: pg.PoolClient, id: string) {
  const { rowCount } = await client.query("select 1 from end_users where id = $1", [id]);
  if (!rowCount) throw new NotFoundError("End user", id);
}

export function registerEnrollments(app: OpenAPIHono<ApiEnv>) {
  app.openapi(
    protectedRoute(WRITERS, {
      method: "post",
      path: "/programs/{programId}/enrollments",
      tags: ["programs"],
      summary: "Enrol people (a list or a segment) in the program's published version",
      request: { params: ProgramIdParam, body: jsonBody(EnrollInput) },
      responses: {
        202: jsonResponse(
          z.object({ program_version: z.number().int(), end_user_ids: z.array(z.uuid()) }),
          "Told to each person's actor",
        ),
      },
    }),
    async (c) => {
      const { programId } = c.req.valid("param");
      const body = c.req.valid("json");
      const auth = c.get("auth");
      const result = await inTenant(c, async (client) => {
        const { rows: [p] } = await client.query<
          { name: string; status: string; version: number | null; flow: unknown }
        >(
          `select p.name, p.status, v.version, v.flow_definition flow from programs p
             left join program_versions v on v.program_id = p.id and v.version = p.published_version
            where p.id = $1`,
          [programId],
        );
        if (!p) throw new NotFoundError("Program", programId);
        if (p.status !== "published" || p.version === null) {
          throw new ConflictError("Publish the program before enrolling people in it");
        }
        let ids: string[];
        if (body.end_user_ids) {
          ids = [...new Set(body.end_user_ids)];
          const { rows } = await client.query<{ id: string }>(
            "select id from end_users where id = any($1::uuid[])",
            [ids],
          );
          // Another creator's people are as unknown here as people who do not exist.
          const missing = ids.find((id) => !rows.some((r) => r.id === id));
          if (missing) throw new NotFoundError("End user", missing);
        } else {
          ids = (await segmentMembers(client, body.segment!)).map((r) => r.id);
        }
        const flow = FlowDefinition.parse(p.flow);
        for (const endUserId of ids) {
          await tellActor(client, c, userAddress(auth.creatorId, endUserId), "enroll", {
            programId,
            version: p.version,
            name: p.name,
            flow,
            by: "creator",
            ...(body.restart ? { restart: true } : {}),
          }, { msgId: `enroll:${programId}:${p.version}:${endUserId}:${c.get("requestId")}` });
        }
        await audit(client, c, "program.enroll", { type: "program", id: programId }, {
          version: p.version,
          count: ids.length,
          by: body.segment ? "segment" : "list",
        });
        return { program_version: p.version, end_user_ids: ids };
      });
      return c.json(result, 202);
    },
  );

  app.openapi(
    protectedRoute(ALL_ROLES, {
      method: "get",
      path: "/programs/{programId}/enrollments",
      tags: ["programs"],
      summary: "The progress of everyone in the program",
      request: { params: ProgramIdParam, query: z.object({ status: ProgressStatus.optional() }) },
      responses: { 200: jsonResponse(z.object({ data: z.array(Progress) }), "Progress") },
    }),
    async (c) => {
      const { programId } = c.req.valid("param");
      const { status } = c.req.valid("query");
      const rows = await inTenant(c, async (client) => {
        const { rowCount } = await client.query("select 1 from programs where id = $1", [
          programId,
        ]);
        if (!rowCount) throw new NotFoundError("Program", programId);
        return (await client.query(
          `select end_user_id, program_id, program_version, current_step, status, data,
                  started_at, updated_at, completed_at
             from program_progress where program_id = $1 and ($2::text is null or status = $2)
            order by started_at, end_user_id limit 5000`,
          [programId, status ?? null],
        )).rows;
      });
      return c.json({
        data: rows.map((r) => ({
          ...r,
          started_at: iso(r.started_at)!,
          updated_at: iso(r.updated_at)!,
          completed_at: iso(r.completed_at),
        })),
      }, 200);
    },
  );

  app.openapi(
    protectedRoute(WRITERS, {
      method: "post",
      path: "/end-users/{endUserId}/programs/{programId}/{action}",
      tags: ["end users"],
      summary: "Pause, resume, skip the current step, restart or unenrol a person",
      request: {
        params: EndUserIdParam.merge(ProgramIdParam).extend({
          action: z.enum(ProgramControlAction.options).openapi({
            param: { name: "action", in: "path" },
          }),
        }),
      },
      responses: { 202: jsonResponse(z.object({ action: z.string() }), "Told to the actor") },
    }),
    async (c) => {
      const { endUserId, programId, action } = c.req.valid("param");
      const auth = c.get("auth");
      await inTenant(c, async (client) => {
        await mustHaveEndUser(client, endUserId);
        const { rowCount } = await client.query("select 1 from programs where id = $1", [
          programId,
        ]);
        if (!rowCount) throw new NotFoundError("Program", programId);
        await tellActor(client, c, userAddress(auth.creatorId, endUserId), "programControl", {
          programId,
          action,
        }, { msgId: `program-control:${endUserId}:${programId}:${c.get("requestId")}` });
        await audit(client, c, `program.${action}`, { type: "end_user", id: endUserId }, {
          programId,
        });
      });
      return c.json({ action }, 202);
    },
  );

  app.openapi(
    protectedRoute(ALL_ROLES, {
      method: "get",
      path: "/end-users/{endUserId}/profile",
      tags: ["end users"],
      summary: "What the coach learned about a person: language, mood, active hours, drop-off risk",
      request: { params: EndUserIdParam },
      responses: {
        200: jsonResponse(
          z.object({
            end_user_id: z.uuid(),
            insights: Json.nullable(),
            reported_at: z.string().nullable(),
          }).openapi("LearnedProfile"),
          "The learned profile",
        ),
      },
    }),
    async (c) => {
      const { endUserId } = c.req.valid("param");
      const row = await inTenant(
        c,
        async (client) =>
          (await client.query<{ profile: Record<string, unknown> }>(
            "select profile from end_users where id = $1",
            [endUserId],
          )).rows[0],
      );
      if (!row) throw new NotFoundError("End user", endUserId);
      const at = row.profile.insights_at;
      return c.json({
        end_user_id: endUserId,
        insights: (row.profile.insights as Record<string, unknown> | undefined) ?? null,
        reported_at: typeof at === "number" ? new Date(at).toISOString() : null,
      }, 200);
    },
  );

  app.openapi(
    protectedRoute(ALL_ROLES, {
      method: "get",
      path: "/end-users/{endUserId}/badges",
      tags: ["end users"],
      summary: "The badges a person earned and their achievements",
      request: { params: EndUserIdParam },
      responses: {
        200: jsonResponse(
          z.object({
            badges: z.array(z.object({
              badge_id: z.uuid(),
              name: z.string(),
              awarded_at: z.string(),
            })),
            achievements: z.array(z.object({
              kind: z.string(),
              title: z.string(),
              data: Json,
              achieved_at: z.string(),
            })),
          }).openapi("EarnedBadges"),
          "Badges and achievements",
        ),
      },
    }),
    async (c) => {
      const { endUserId } = c.req.valid("param");
      const { badges, achievements } = await inTenant(c, async (client) => {
        await mustHaveEndUser(client, endUserId);
        const badges = (await client.query(
          `select ub.badge_id, b.name, ub.awarded_at from user_badges ub
             join badges b on b.id = ub.badge_id
            where ub.end_user_id = $1 order by ub.awarded_at, ub.badge_id`,
          [endUserId],
        )).rows;
        const achievements = (await client.query(
          `select kind, title, data, achieved_at from achievements where end_user_id = $1
            order by achieved_at, id`,
          [endUserId],
        )).rows;
        return { badges, achievements };
      });
      return c.json({
        badges: badges.map((b) => ({ ...b, awarded_at: iso(b.awarded_at)! })),
        achievements: achievements.map((a) => ({ ...a, achieved_at: iso(a.achieved_at)! })),
      }, 200);
    },
  );

  app.openapi(
    protectedRoute(ALL_ROLES, {
      method: "get",
      path: "/segments",
      tags: ["end users"],
      summary: "People matching a segment: language, drop-off risk, channel, program and status",
      request: { query: Segment },
      responses: {
        200: jsonResponse(z.object({ data: z.array(SegmentMember) }), "The segment's people"),
      },
    }),
    async (c) => {
      const segment = c.req.valid("query");
      const rows = await inTenant(c, (client) => segmentMembers(client, segment));
      return c.json({
        data: rows.map((r) => ({ ...r, last_active_at: iso(r.last_active_at) })),
      }, 200);
    },
  );
}
