/**
 * Creator routes of the knowledge features, for the admin API: knowledge search, preview chat
 * (streamed as NDJSON) and content drafts. Mount with
 * `createApi({ extensions: [knowledgeRoutes({ knowledge })] })`; each handler reads the tenant
 * from `c.get("auth").creatorId`, set by the admin API's authentication.
 */
import { type OpenAPIHono, z } from "@hono/zod-openapi";
import { ALL_ROLES, protectedRoute, WRITERS } from "../lib/route.ts";
import { HTTPException } from "hono/http-exception";
import { withTenant } from "../../db/tenant.ts";
import { converse, generateDrafts, type Knowledge, retrieve } from "../../knowledge/mod.ts";
import { answerFormat, ConversationChannel } from "../../actors/mod.ts";

/** What the admin API's auth middleware puts in `c.get("auth")`. */
export interface AuthInfo {
  creatorId: string;
  role: string;
  subject: string;
  kind: string;
}
export type KnowledgeEnv = { Variables: { auth: AuthInfo } };

const Position = z.object({
  ordinal: z.number().int(),
  start: z.number().int(),
  end: z.number().int(),
  page: z.number().int().nullable(),
});

const SearchBody = z.object({
  query: z.string().min(1).max(2000),
  k: z.number().int().min(1).max(50).default(5),
});
const SearchResult = z.object({
  chunkId: z.string(),
  documentId: z.string(),
  documentTitle: z.string(),
  heading: z.string(),
  text: z.string(),
  position: Position,
  score: z.number(),
  relevance: z.number(),
}).openapi("KnowledgeSearchResult");

// Viewers may search and preview (read-only); drafting is for those who can edit content.
const searchRoute = protectedRoute(ALL_ROLES, {
  method: "post",
  path: "/knowledge-bases/{id}/search",
  tags: ["knowledge"],
  summary: "Search a knowledge base the way the coach does",
  request: {
    params: z.object({ id: z.string().uuid() }),
    body: { content: { "application/json": { schema: SearchBody } }, required: true },
  },
  responses: {
    200: {
      description: "Best chunks first",
      content: { "application/json": { schema: z.object({ results: z.array(SearchResult) }) } },
    },
    404: { description: "No such knowledge base" },
  },
});

const PreviewBody = z.object({
  message: z.string().min(1).max(4000),
  history: z.array(z.object({ role: z.enum(["user", "assistant"]), text: z.string().max(4000) }))
    .max(40).default([]),
  knowledgeBaseIds: z.array(z.string().uuid()).optional(),
  /** Answer as it would be shaped for this channel. */
  channel: ConversationChannel.default("preview"),
  profile: z.object({
    goals: z.array(z.string()).default([]),
    language: z.string().default("en"),
  }).optional(),
});

const previewRoute = protectedRoute(ALL_ROLES, {
  method: "post",
  path: "/preview/chat",
  tags: ["knowledge"],
  summary: "Try the coach on your knowledge before any channel is live",
  description: "Streams NDJSON events: `retrieval` (chunks and scores), `token` (answer text), " +
    "then `final` (answer, citations, refusal, handoff and the QA verdict).",
  request: { body: { content: { "application/json": { schema: PreviewBody } }, required: true } },
  responses: {
    200: {
      description: "NDJSON event stream",
      content: { "application/x-ndjson": { schema: z.string() } },
    },
  },
});

const GenerateBody = z.object({
  kind: z.enum(["program_steps", "nudges"]),
  topic: z.string().min(1).max(500),
  count: z.number().int().min(1).max(10).default(3),
});
const generateRoute = protectedRoute(WRITERS, {
  method: "post",
  path: "/knowledge-bases/{id}/drafts",
  tags: ["knowledge"],
  summary: "Draft program steps or nudges from a knowledge base",
  request: {
    params: z.object({ id: z.string().uuid() }),
    body: { content: { "application/json": { schema: GenerateBody } }, required: true },
  },
  responses: {
    200: {
      description: "Drafts with their sources",
      content: {
        "application/json": {
          schema: z.object({
            drafts: z.array(z.object({
              title: z.string(),
              text: z.string(),
              sources: z.array(z.object({
                chunkId: z.string(),
                documentId: z.string(),
                documentTitle: z.string(),
                heading: z.string(),
              })),
            })),
          }),
        },
      },
    },
    404: { description: "No such knowledge base" },
  },
});

async function assertKnowledgeBase(knowledge: Knowledge, creatorId: string, id: string) {
  const found = await withTenant(knowledge.pool, creatorId, async (c) => {
    const { rowCount } = await c.query("select 1 from knowledge_bases where id = $1", [id]);
    return !!rowCount;
  });
  if (!found) throw new HTTPException(404, { message: `Knowledge base ${id} not found` });
}

/** Registers the knowledge routes on the admin API's app. */
export function knowledgeRoutes({ knowledge }: { knowledge: Knowledge }) {
  // deno-lint-ignore no-explicit-any -- the admin API's env extends KnowledgeEnv
  return (app: OpenAPIHono<any>) => {
    const api = app as OpenAPIHono<KnowledgeEnv>;
    api.openapi(searchRoute, async (c) => {
      const { creatorId } = c.get("auth");
      const { id } = c.req.valid("param");
      const { query, k } = c.req.valid("json");
      await assertKnowledgeBase(knowledge, creatorId, id);
      const passages = await retrieve(knowledge, { creatorId, query, k, knowledgeBaseIds: [id] });
      return c.json({
        results: passages.map((p) => ({
          chunkId: p.id,
          documentId: p.documentId,
          documentTitle: p.documentTitle,
          heading: p.heading,
          text: p.text,
          position: p.position,
          score: p.score,
          relevance: p.relevance,
        })),
      }, 200);
    });

    api.openapi(previewRoute, (c) => {
      const { creatorId } = c.get("auth");
      const body = c.req.valid("json");
      const events = converse(knowledge, {
        creatorId,
        message: body.message,
        history: body.history,
        summary: "",
        format: answerFormat(body.channel),
        knowledgeBaseIds: body.knowledgeBaseIds,
        profile: body.profile
          ? { goals: body.profile.goals, language: body.profile.language, preferences: {} }
          : undefined,
      });
      const encoder = new TextEncoder();
      const stream = new ReadableStream<Uint8Array>({
        async pull(controller) {
          try {
            const next = await events.next();
            if (next.done) return controller.close();
            controller.enqueue(encoder.encode(JSON.stringify(next.value) + "\n"));
          } catch (err) {
            const error = { type: "error", message: (err as Error).message };
            controller.enqueue(encoder.encode(JSON.stringify(error) + "\n"));
            controller.close();
          }
        },
        async cancel() {
          await events.return(undefined);
        },
      });
      return new Response(stream, {
        status: 200,
        headers: { "content-type": "application/x-ndjson", "cache-control": "no-store" },
      }) as never;
    });

    api.openapi(generateRoute, async (c) => {
      const { creatorId } = c.get("auth");
      const { id } = c.req.valid("param");
      const body = c.req.valid("json");
      await assertKnowledgeBase(knowledge, creatorId, id);
      const drafts = await generateDrafts(knowledge, {
        creatorId,
        knowledgeBaseIds: [id],
        topic: body.topic,
        kind: body.kind,
        count: body.count,
      });
      return c.json({ drafts }, 200);
    });
  };
}
