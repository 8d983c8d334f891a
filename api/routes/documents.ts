import { type OpenAPIHono, z } from "@hono/zod-openapi";
import type { Context } from "hono";
import { enforceLimit } from "./billing_limits.ts";
import type { ApiEnv } from "../env.ts";
import { NotFoundError, ValidationError } from "../errors.ts";
import { tenantTable } from "../lib/crud.ts";
import { iso } from "../lib/pagination.ts";
import { resourceRoutes } from "../lib/resource.ts";
import {
  ALL_ROLES,
  jsonResponse,
  problemResponse,
  protectedRoute,
  uuidParam,
  WRITERS,
} from "../lib/route.ts";
import { audit, inTenant } from "../lib/tenant.ts";
import { readUpload } from "../lib/uploads.ts";
import { knowledgeBases } from "./knowledge_bases.ts";

const Status = z.enum(["queued", "processing", "ready", "failed"]);
const Document = z.object({
  id: z.uuid(),
  knowledge_base_id: z.uuid(),
  title: z.string(),
  filename: z.string().nullable(),
  mime_type: z.string(),
  size_bytes: z.number().int(),
  content_sha256: z.string(),
  metadata: z.record(z.string(), z.unknown()),
  status: Status,
  progress: z.number(),
  chunk_count: z.number().int(),
  error: z.string().nullable(),
  reason: z.string().nullable().openapi({
    description:
      "Why the document failed (status `failed`), e.g. `The file unpacks to more than 50 MB`",
  }),
  version: z.number().int(),
  created_at: z.string(),
  updated_at: z.string(),
}).openapi("Document");

const FileField = z.custom<File>((v) => v instanceof File, "expected a file part")
  .openapi({ type: "string", format: "binary" });
const Metadata = z.string().max(10_000).optional().openapi({
  description: "JSON object of metadata",
});
const UploadForm = z.strictObject({
  file: FileField,
  title: z.string().min(1).max(300).optional(),
  metadata: Metadata,
});

interface Row {
  id: string;
  knowledge_base_id: string;
  title: string;
  filename: string | null;
  mime_type: string;
  size_bytes: number;
  content_sha256: string;
  metadata: Record<string, unknown>;
  status: z.infer<typeof Status>;
  progress: number;
  chunk_count: number;
  error: string | null;
  version: number;
  created_at: Date;
  updated_at: Date;
}
const COLUMNS = `id, knowledge_base_id, title, filename, mime_type, size_bytes, content_sha256,
  metadata, status, progress, chunk_count, error, version, created_at, updated_at`;
const toJson = (r: Row) => ({
  ...r,
  reason: r.status === "failed" ? r.error : null,
  created_at: iso(r.created_at)!,
  updated_at: iso(r.updated_at)!,
});

function parseMetadata(text: string | undefined): Record<string, unknown> {
  if (text === undefined) return {};
  try {
    const value = JSON.parse(text);
    if (value && typeof value === "object" && !Array.isArray(value)) return value;
  } catch {
    // reported below
  }
  throw new ValidationError("metadata must be a JSON object", [
    { field: "body.metadata", message: "must be a JSON object" },
  ]);
}

/**
 * Hands a stored document to ingestion. The row is committed first (ingestion reads it); if the
 * queue is unreachable the document is marked failed with the reason instead of failing the
 * request, so a retry does not store it twice, and `POST /documents/{id}/reingest` queues it again.
 */
async function enqueue(c: Context<ApiEnv>, row: Row): Promise<Row> {
  const { ingestion, log } = c.get("services");
  try {
    await ingestion.enqueue(c.get("auth").creatorId, row.id);
    return row;
  } catch (err) {
    log.warn("document not queued for ingestion", { document_id: row.id, error: String(err) });
    return await inTenant(c, async (client) =>
      (await client.query<Row>(
        `update documents set status = 'failed', error = $2, updated_at = now() where id = $1
         returning ${COLUMNS}`,
        [row.id, `Could not be queued for ingestion (${String(err)}); reingest to retry`],
      )).rows[0] ?? row);
  }
}

const documents = tenantTable({
  table: "documents",
  type: "document",
  name: "Document",
  columns: COLUMNS,
  updatable: ["title", "metadata"],
  toJson,
});
const DocId = uuidParam("documentId");
const tags = ["documents"];
const uploadResponses = { 413: problemResponse("The file exceeds the upload limit") };

/** Documents of a knowledge base: upload, re-upload, status, metadata, delete. */
export function registerDocuments(app: OpenAPIHono<ApiEnv>) {
  resourceRoutes(app, {
    table: documents,
    tags,
    schema: Document,
    path: "/knowledge-bases/{knowledgeBaseId}/documents",
    idParam: "documentId",
    itemPath: "/documents/{documentId}",
    parent: { param: "knowledgeBaseId", table: knowledgeBases },
    parentColumn: "knowledge_base_id",
    list: {
      roles: ALL_ROLES,
      summary: "List a knowledge base's documents",
      description: "A page of documents",
      query: { status: Status.optional() },
      filter: (q) => ({ equal: { status: q.status } }),
    },
    create: {
      roles: WRITERS,
      summary: "Upload a document (text, Markdown, HTML, PDF or DOCX) for ingestion",
      description: "Stored and queued",
      form: UploadForm,
      status: 202,
      responses: uploadResponses,
      prepare: async (c, form) => {
        const upload = await readUpload(c, form.file);
        await enforceLimit(c, "document_bytes", upload.bytes.length);
        return { upload, title: form.title, metadata: parseMetadata(form.metadata) };
      },
      values: ({ upload, title, metadata }, knowledgeBaseId) => ({
        knowledge_base_id: knowledgeBaseId,
        title: title ?? upload.filename,
        filename: upload.filename,
        mime_type: upload.mimeType,
        size_bytes: upload.bytes.length,
        content: upload.bytes,
        content_sha256: upload.sha256,
        metadata,
      }),
      details: ({ upload }, knowledgeBaseId) => ({
        knowledge_base_id: knowledgeBaseId,
        size_bytes: upload.bytes.length,
      }),
      afterCommit: enqueue,
    },
    get: {
      roles: ALL_ROLES,
      summary: "Get a document and its ingestion status",
      description: "The document",
    },
    patch: {
      roles: WRITERS,
      summary: "Update a document's title or metadata",
      body: z.strictObject({
        title: z.string().min(1).max(300).optional(),
        metadata: z.record(z.string(), z.unknown()).optional(),
      }),
    },
    delete: {
      roles: WRITERS,
      summary: "Delete a document (and, through the ingestion hook, its chunks)",
      afterCommit: async (c, documentId) => {
        await c.get("services").onDocumentDeleted?.(c.get("auth").creatorId, documentId);
      },
    },
  });

  app.openapi(
    protectedRoute(WRITERS, {
      method: "put",
      path: "/documents/{documentId}/content",
      tags,
      summary: "Replace a document's file; bumps its version and queues it again",
      request: {
        params: DocId,
        body: {
          required: true,
          content: { "multipart/form-data": { schema: z.strictObject({ file: FileField }) } },
        },
      },
      responses: { 202: jsonResponse(Document, "Stored and queued"), ...uploadResponses },
    }),
    async (c) => {
      const { documentId } = c.req.valid("param");
      const upload = await readUpload(c, c.req.valid("form").file);
      await enforceLimit(c, "document_bytes", upload.bytes.length, async (client) =>
        Number(
          (await client.query("select size_bytes from documents where id = $1", [documentId]))
            .rows[0]?.size_bytes ?? 0,
        ));
      const row = await inTenant(c, async (client) => {
        const { rows: [d] } = await client.query<Row>(
          `update documents set content = $2, size_bytes = $3, content_sha256 = $4,
             mime_type = $5, filename = $6, version = version + 1, status = 'queued',
             progress = 0, chunk_count = 0, error = null, updated_at = now()
           where id = $1 returning ${COLUMNS}`,
          [
            documentId,
            upload.bytes,
            upload.bytes.length,
            upload.sha256,
            upload.mimeType,
            upload.filename,
          ],
        );
        if (d) {
          await audit(client, c, "document.replace", { type: "document", id: documentId }, {
            version: d.version,
          });
        }
        return d;
      });
      if (!row) throw new NotFoundError("Document", documentId);
      return c.json(toJson(await enqueue(c, row)), 202);
    },
  );

  app.openapi(
    protectedRoute(WRITERS, {
      method: "post",
      path: "/documents/{documentId}/reingest",
      tags,
      summary: "Queue a document for ingestion again (after a failure or a pipeline change)",
      request: { params: DocId },
      responses: { 202: jsonResponse(Document, "Queued") },
    }),
    async (c) => {
      const { documentId } = c.req.valid("param");
      const row = await inTenant(c, async (client) => {
        const { rows: [d] } = await client.query<Row>(
          `update documents set status = 'queued', progress = 0, error = null, updated_at = now()
           where id = $1 returning ${COLUMNS}`,
          [documentId],
        );
        if (d) await audit(client, c, "document.reingest", { type: "document", id: documentId });
        return d;
      });
      if (!row) throw new NotFoundError("Document", documentId);
      return c.json(toJson(await enqueue(c, row)), 202);
    },
  );
}
