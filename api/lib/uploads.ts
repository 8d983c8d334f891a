import type { Context, MiddlewareHandler } from "hono";
import { bodyLimit } from "hono/body-limit";
import { sha256Hex } from "../auth/credentials.ts";
import type { ApiEnv } from "../env.ts";
import { PayloadTooLargeError, ValidationError } from "../errors.ts";

/** The document formats ingestion understands, by MIME type and file extension. */
export const DOCUMENT_TYPES: Record<string, string[]> = {
  "text/plain": [".txt"],
  "text/markdown": [".md", ".markdown"],
  "text/html": [".html", ".htm"],
  "application/pdf": [".pdf"],
  "application/vnd.openxmlformats-officedocument.wordprocessingml.document": [".docx"],
};

export interface Upload {
  bytes: Uint8Array;
  filename: string;
  mimeType: string;
  sha256: string;
}

function mimeOf(file: File): string | undefined {
  const declared = file.type.split(";")[0]!.trim().toLowerCase();
  if (DOCUMENT_TYPES[declared]) return declared;
  const ext = file.name.toLowerCase().match(/\.[a-z0-9]+$/)?.[0];
  return Object.entries(DOCUMENT_TYPES).find(([, exts]) => ext && exts.includes(ext))?.[0];
}

const startsWith = (bytes: Uint8Array, magic: number[]) => magic.every((b, i) => bytes[i] === b);

/**
 * Reads and checks the `file` part of a multipart upload: present, within the size limit, one of
 * the supported formats, and (for PDF and DOCX) with the right magic bytes.
 * @throws PayloadTooLargeError, ValidationError naming `body.file`
 */
export async function readUpload(c: Context<ApiEnv>, file: unknown): Promise<Upload> {
  const limit = c.get("services").maxUploadBytes;
  if (!(file instanceof File)) {
    throw new ValidationError("A file is required", [
      { field: "body.file", message: "expected a file part" },
    ]);
  }
  if (file.size > limit) throw new PayloadTooLargeError("body.file", limit);
  if (file.size === 0) {
    throw new ValidationError("The file is empty", [{ field: "body.file", message: "empty" }]);
  }
  const mimeType = mimeOf(file);
  if (!mimeType) {
    throw new ValidationError("Unsupported file type", [{
      field: "body.file",
      message: `must be one of ${Object.values(DOCUMENT_TYPES).flat().join(", ")}`,
    }]);
  }
  const bytes = new Uint8Array(await file.arrayBuffer());
  const badMagic =
    (mimeType === "application/pdf" && !startsWith(bytes, [0x25, 0x50, 0x44, 0x46])) ||
    (mimeType.includes("wordprocessingml") && !startsWith(bytes, [0x50, 0x4b, 0x03, 0x04]));
  if (badMagic) {
    throw new ValidationError("The file's content does not match its type", [
      { field: "body.file", message: `not a valid ${mimeType} file` },
    ]);
  }
  return { bytes, filename: file.name, mimeType, sha256: await sha256Hex(bytes) };
}

/**
 * Rejects request bodies over the upload limit (plus multipart overhead) while they stream in,
 * before anything buffers them; the problem names `body.file`, the only large field.
 */
export const limitBody: MiddlewareHandler<ApiEnv> = (c, next) => {
  const max = c.get("services").maxUploadBytes;
  return bodyLimit({
    maxSize: max + 64 * 1024,
    onError: () => {
      throw new PayloadTooLargeError("body.file", max);
    },
  })(c, next);
};
