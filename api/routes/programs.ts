import { type OpenAPIHono, z } from "@hono/zod-openapi";
import type pg from "pg";
import type { ApiEnv } from "../env.ts";
import { ConflictError, NotFoundError, ValidationError } from "../errors.ts";
import { userAddress } from "../lib/actors.ts";
import { tenantTable } from "../lib/crud.ts";
import { iso } from "../lib/pagination.ts";
import { resourceRoutes } from "../lib/resource.ts";
import { ALL_ROLES, jsonResponse, protectedRoute, uuidParam, WRITERS } from "../lib/route.ts";
import { audit, inTenant, tellActor } from "../lib/tenant.ts";
import { awardedBadges, FlowDefinition } from "../schemas/flow.ts";

const Status = z.enum(["draft", "published", "unpublished"]);
const Program = z.object({
  id: z.uuid(),
  name: z.string(),
  description: z.string(),
  knowledge_base_id: z.uuid().nullable(),
  flow_definition: FlowDefinition,
  status: Status,
  published_version: z.number().int().nullable(),
  created_at: z.string(),
  updated_at: z.string(),
}).openapi("Program");
const ProgramVersion = z.object({
  version: z.number().int(),
  flow_definition: FlowDefinition,
  published_by: z.string(),
  published_at: z.string(),
}).openapi("ProgramVersion");

const ProgramInput = z.strictObject({
  name: z.string().min(1).max(200),
  description: z.string().max(4000).optional(),
  knowledge_base_id: z.uuid().nullable().optional(),
  flow_definition: FlowDefinition,
});

interface Row {
  id: string;
  name: string;
  description: string;
  knowledge_base_id: string | null;
  flow_definition: FlowDefinition;
  status: z.infer<typeof Status>;
  published_version: number | null;
  created_at: Date;
  updated_at: Date;
}
const COLUMNS = `id, name, description, knowledge_base_id, flow_definition, status,
  published_version, created_at, updated_at`;
const toJson = (r: Row) => ({
  ...r,
  created_at: iso(r.created_at)!,
  updated_at: iso(r.updated_at)!,
});
const programs = tenantTable({
  table: "programs",
  type: "program",
  name: "Program",
  columns: COLUMNS,
  updatable: ["name", "description", "knowledge_base_id", "flow_definition"],
  toJson,
});
const Id = uuidParam("programId");
const tags = ["programs"];

async function checkKnowledgeBase(client: pg.PoolClient, id: string | null | undefined) {
  if (!id) return;
  const kb = await client.query("select 1 from knowledge_bases where id = $1", [id]);
  if (!kb.rowCount) {
    throw new ValidationError("The knowledge base does not exist", [
      { field: "body.knowledge_base_id", message: "no such knowledge base" },
    ]);
  }
}

async function enrolledUsers(client: pg.PoolClient, programId: string): Promise<string[]> {
  const { rows } = await client.query<{ end_user_id: string }>(
    "select end_user_id from program_progress where program_id = $1 and status <> 'completed'",
    [programId],
  );
  return rows.map((r) => r.end_user_id);
}

/** Programs: drafts with a validated flow, published as immutable numbered versions. */
export function registerPrograms(app: OpenAPIHono<ApiEnv>) {
  resourceRoutes(app, {
    table: programs,
    tags,
    schema: Program,
    path: "/programs",
    idParam: "programId",
    list: {
      roles: ALL_ROLES,
      summary: "List programs",
      description: "A page of programs",
      query: { status: Status.optional() },
      filter: (q) => ({ equal: { status: q.status } }),
    },
    create: {
      roles: WRITERS,
      summary: "Create a draft program",
      body: ProgramInput,
      check: (client, body) => checkKnowledgeBase(client, body.knowledge_base_id),
      values: (body) => ({
        name: body.name,
        description: body.description ?? "",
        knowledge_base_id: body.knowledge_base_id ?? null,
        flow_definition: body.flow_definition,
      }),
    },
    get: { roles: ALL_ROLES, summary: "Get a program", description: "The program" },
    patch: {
      roles: WRITERS,
      summary: "Edit a program's draft (published versions stay as they are)",
      body: ProgramInput.partial(),
      check: (client, patch) => checkKnowledgeBase(client, patch.knowledge_base_id),
    },
    delete: {
      roles: WRITERS,
      summary: "Delete a program that was never published or is unpublished",
      check: async (client, id) => {
        const p = await programs.find(client, id, { lock: true });
        if (p.status === "published") {
          throw new ConflictError("Unpublish the program before deleting it");
        }
      },
    },
  });

  app.openapi(
    protectedRoute(WRITERS, {
      method: "post",
      path: "/programs/{programId}/publish",
      tags,
      summary: "Publish the draft as a new version and tell enrolled users' actors",
      request: { params: Id },
      responses: { 200: jsonResponse(Program, "Published") },
    }),
    async (c) => {
      const { programId } = c.req.valid("param");
      const auth = c.get("auth");

      const row = await inTenant(c, async (client) => {
        const p = await programs.find(client, programId, { lock: true });
        const badges = awardedBadges(p.flow_definition);
        if (badges.length) {
          const { rows } = await client.query<{ id: string }>(
            "select id from badges where id = any($1::uuid[])",
            [badges],
          );
          const missing = badges.filter((b) => !rows.some((r) => r.id === b));
          if (missing.length) {
            throw new ValidationError(
              "The flow awards badges that do not exist",
              missing.map((b) => ({
                field: "flow_definition.steps",
                message: `badge ${b} does not exist`,
              })),
            );
          }
        }
        const { rows: [v] } = await client.query<{ version: number }>(
          `insert into program_versions (creator_id, program_id, version, flow_definition, published_by)
           select app_creator_id(), $1, coalesce(max(version), 0) + 1, $2, $3
           from program_versions where program_id = $1 returning version`,
          [programId, p.flow_definition, `${auth.kind}:${auth.subject}`],
        );
        const { rows: [updated] } = await client.query<Row>(
          `update programs set status = 'published', published_version = $2, updated_at = now()
           where id = $1 returning ${COLUMNS}`,
          [programId, v!.version],
        );
        await audit(client, c, "program.publish", { type: "program", id: programId }, {
          version: v!.version,
        });
        // Told inside the transaction: if the mailbox is unreachable the publish rolls back and
        // the caller retries; the deterministic message id makes the retry's tells no-ops.
        for (const endUserId of await enrolledUsers(client, programId)) {
          await tellActor(client, c, userAddress(auth.creatorId, endUserId), "programPublished", {
            programId,
            version: v!.version,
          }, { msgId: `programPublished:${programId}:${v!.version}:${endUserId}` });
        }
        return updated!;
      });
      return c.json(toJson(row), 200);
    },
  );

  app.openapi(
    protectedRoute(WRITERS, {
      method: "post",
      path: "/programs/{programId}/unpublish",
      tags,
      summary: "Stop offering the program; enrolled users' actors are told",
      request: { params: Id },
      responses: { 200: jsonResponse(Program, "Unpublished") },
    }),
    async (c) => {
      const { programId } = c.req.valid("param");
      const auth = c.get("auth");

      const row = await inTenant(c, async (client) => {
        const { rows: [p] } = await client.query<Row>(
          `update programs set status = 'unpublished', updated_at = now() where id = $1
           returning ${COLUMNS}`,
          [programId],
        );
        if (!p) return undefined;
        await audit(client, c, "program.unpublish", { type: "program", id: programId });
        for (const endUserId of await enrolledUsers(client, programId)) {
          await tellActor(client, c, userAddress(auth.creatorId, endUserId), "programUnpublished", {
            programId,
          }, { msgId: `programUnpublished:${programId}:${p.updated_at.getTime()}:${endUserId}` });
        }
        return p;
      });
      if (!row) throw new NotFoundError("Program", programId);
      return c.json(toJson(row), 200);
    },
  );

  app.openapi(
    protectedRoute(ALL_ROLES, {
      method: "get",
      path: "/programs/{programId}/versions",
      tags,
      summary: "List a program's published versions, newest first",
      request: { params: Id },
      responses: {
        200: jsonResponse(z.object({ data: z.array(ProgramVersion) }), "Versions"),
      },
    }),
    async (c) => {
      const { programId } = c.req.valid("param");
      const rows = await inTenant(c, async (client) => {
        await programs.mustExist(client, programId);
        return (await client.query<{
          version: number;
          flow_definition: FlowDefinition;
          published_by: string;
          published_at: Date;
        }>(
          `select version, flow_definition, published_by, published_at from program_versions
           where program_id = $1 order by version desc`,
          [programId],
        )).rows;
      });
      return c.json({
        data: rows.map((r) => ({ ...r, published_at: iso(r.published_at)! })),
      }, 200);
    },
  );
}
