// deno-lint-ignore-file no-console -- entry point of a child process: keeps stdout for frames
/**
 * The extractor process: reads documents into chunks for the node that started it (see
 * extractor_pool.ts), one at a time, over stdin and stdout. It runs with no permissions, a
 * capped heap and a deadline set by the node, so a document that exhausts it fails alone. It
 * exits when its stdin closes: the node stopped, recycled it, or died.
 */
import { frame, FrameReader } from "./_frames.ts";
import { ExtractionError } from "./errors.ts";
import { readDocument } from "./extractor.ts";
import { type ExtractionLimits, LimitExceededError } from "./limits.ts";

/** The header frame of a request. */
export interface ExtractRequest {
  mimeType: string;
  filename: string | null;
  limits: ExtractionLimits;
}

/** The reply frame. */
export type ExtractReply =
  | { ok: true; chunks: import("./chunk.ts").Chunk[]; pages?: number }
  | { ok: false; error: "ExtractionError" | "LimitExceededError"; limit?: string; message: string };

async function serve() {
  // stdout carries frames only: libraries that log (pdf.js warnings) go to stderr.
  for (const level of ["log", "info", "debug"] as const) console[level] = console.error;
  // A library's stray rejection after its document was answered must not end a warm process.
  globalThis.addEventListener("unhandledrejection", (event) => {
    event.preventDefault();
    console.error("extractor: unhandled rejection", event.reason);
  });
  const input = new FrameReader(Deno.stdin.readable);
  const output = Deno.stdout.writable.getWriter();
  const encoder = new TextEncoder();
  let header = await input.next();
  while (header) {
    const request = JSON.parse(new TextDecoder().decode(header)) as ExtractRequest;
    const bytes = await input.next();
    if (!bytes) break;
    // The next read also watches for the node going away while this document is read.
    const following = input.next();
    following.then((next) => next === null && Deno.exit(0), () => Deno.exit(0));
    await output.write(frame(encoder.encode(JSON.stringify(await answer(request, bytes)))));
    header = await following;
  }
  Deno.exit(0);
}

async function answer(request: ExtractRequest, bytes: Uint8Array): Promise<ExtractReply> {
  try {
    return { ok: true, ...await readDocument(bytes, request) };
  } catch (err) {
    if (err instanceof LimitExceededError) {
      return { ok: false, error: "LimitExceededError", limit: err.limit, message: err.message };
    }
    if (err instanceof ExtractionError) {
      return { ok: false, error: "ExtractionError", message: err.message };
    }
    // Not a known failure of the file, but the same file would fail the same way again.
    return {
      ok: false,
      error: "ExtractionError",
      message: `The document cannot be read: ${(err as Error)?.message ?? String(err)}`,
    };
  }
}

if (import.meta.main) await serve();
