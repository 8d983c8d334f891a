/**
 * A warm pool of extractor processes (extractor_process.ts), so a document that exhausts memory
 * or time fails alone instead of taking the node with it.
 *
 * Why processes and not Workers: a Deno Worker shares the node's process, and V8 cannot cap one
 * isolate's heap (an out-of-memory in a Worker aborts the whole process), nor bound the buffers
 * that inflaters and parsers allocate outside the heap. A child `deno run` gets its own heap cap
 * (`--max-old-space-size`), its resident memory is watched and it is SIGKILLed past its ceiling
 * or its deadline; it runs without permissions (no network, files or environment) and, on Linux,
 * is the kernel's first choice when memory runs out (`oom_score_adj` 1000). Processes are started
 * ahead of need and reused, so a document pays only for the pipe, not for a start.
 */
import { fileURLToPath } from "node:url";
import type { Logger } from "../../runtime/mod.ts";
import { frame, FrameReader } from "./_frames.ts";
import { ExtractionError, ExtractorCrashedError } from "./errors.ts";
import type { DocumentFile, Extractor, ReadDocument } from "./extractor.ts";
import type { ExtractReply, ExtractRequest } from "./extractor_process.ts";
import { DEFAULT_LIMITS, type ExtractionLimits, LimitExceededError } from "./limits.ts";

export interface ExtractorPoolOptions {
  /** Processes kept ready; also how many documents are read at once. */
  size?: number;
  /** Resident memory a process may reach while reading one document (heap capped below it). */
  memoryMb?: number;
  /** Wall-clock time a process may take to read one document. */
  timeoutMs?: number;
  limits?: ExtractionLimits;
  /** Documents one process reads before it is replaced by a fresh one. */
  recycleAfter?: number;
  log?: Logger;
}

const ENTRY = new URL("./extractor_process.ts", import.meta.url);
const CONFIG = new URL("../../deno.json", import.meta.url);
/** What a child keeps of its parent's environment: where Deno's caches are, nothing else. */
const ENV_KEPT = ["DENO_DIR", "HOME", "XDG_CACHE_HOME", "TMPDIR", "NO_COLOR"];
const WATCH_MS = 50;

/**
 * Reads documents in child processes with a memory and time ceiling each.
 *
 * @example
 * ```ts ignore
 * await using pool = ExtractorPool.start({ size: 1, memoryMb: 512, timeoutMs: 60_000 });
 * const { chunks } = await pool.read(bytes, { mimeType: "application/pdf" });
 * ```
 */
export class ExtractorPool implements Extractor, AsyncDisposable {
  readonly #options: Required<Omit<ExtractorPoolOptions, "log">> & { log?: Logger };
  readonly #idle: ExtractorProcess[] = [];
  readonly #all = new Set<ExtractorProcess>();
  readonly #waiting: ((p: ExtractorProcess | undefined) => void)[] = [];
  #closed = false;
  /** Processes that ended before reading anything, in a row: they back off before the next. */
  #failedStarts = 0;
  #respawnTimer: ReturnType<typeof setTimeout> | undefined;

  private constructor(options: ExtractorPoolOptions) {
    this.#options = {
      size: 1,
      memoryMb: 512,
      timeoutMs: 60_000,
      limits: DEFAULT_LIMITS,
      recycleAfter: 100,
      ...options,
    };
  }

  /** Starts the pool's processes (they load their modules in the background). */
  static start(options: ExtractorPoolOptions = {}): ExtractorPool {
    const pool = new ExtractorPool(options);
    for (let i = 0; i < pool.#options.size; i++) pool.#spawn();
    return pool;
  }

  /** Process ids of the extractors reading a document right now. */
  get busyPids(): number[] {
    return [...this.#all].filter((p) => p.busy).map((p) => p.pid);
  }

  /**
   * Reads a document in the next free process.
   *
   * @throws {ExtractionError} the file cannot be read, exceeds a limit (LimitExceededError), or
   *   needs more memory or time than a process has
   * @throws {ExtractorCrashedError} the process ended for another reason (killed from outside)
   */
  async read(bytes: Uint8Array, file: DocumentFile): Promise<ReadDocument> {
    const process = await this.#take();
    try {
      return await process.read(bytes, {
        mimeType: file.mimeType,
        filename: file.filename ?? null,
        limits: this.#options.limits,
      });
    } finally {
      this.#release(process);
    }
  }

  async close(): Promise<void> {
    this.#closed = true;
    clearTimeout(this.#respawnTimer);
    for (const wake of this.#waiting.splice(0)) wake(undefined);
    await Promise.all([...this.#all].map((p) => p.close()));
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  #spawn(): void {
    if (this.#closed) return;
    let process: ExtractorProcess;
    try {
      process = new ExtractorProcess(this.#options);
    } catch (err) {
      this.#options.log?.error("cannot start an extractor process", { error: String(err) });
      this.#respawnLater();
      return;
    }
    this.#all.add(process);
    this.#idle.push(process);
    process.exited.then(() => {
      this.#all.delete(process);
      const at = this.#idle.indexOf(process);
      if (at >= 0) this.#idle.splice(at, 1);
      if (process.reads > 0) this.#failedStarts = 0;
      if (this.#closed || this.#all.size >= this.#options.size) return;
      // A process that dies before its first document (a broken install) must not be restarted
      // in a tight loop.
      if (process.reads === 0) this.#respawnLater();
      else this.#spawn();
    });
    this.#handOut();
  }

  #respawnLater(): void {
    if (this.#respawnTimer !== undefined) return;
    const delay = Math.min(30_000, 500 * 2 ** this.#failedStarts++);
    this.#respawnTimer = setTimeout(() => {
      this.#respawnTimer = undefined;
      if (this.#all.size < this.#options.size) this.#spawn();
    }, delay);
  }

  #take(): Promise<ExtractorProcess> {
    if (this.#closed) throw new ExtractorCrashedError("The extractor pool is closed", NO_EXIT);
    const ready = this.#idle.shift();
    if (ready) return Promise.resolve(ready.claim());
    return new Promise((resolve, reject) =>
      this.#waiting.push((p) =>
        p ? resolve(p.claim()) : reject(
          new ExtractorCrashedError("The extractor pool is closed", NO_EXIT),
        )
      )
    );
  }

  #release(process: ExtractorProcess): void {
    process.busy = false;
    if (process.alive && process.reads >= this.#options.recycleAfter) {
      // The fresh process starts first, so the next document does not wait for one to load.
      this.#spawn();
      process.close();
    } else if (process.alive) this.#idle.push(process);
    this.#handOut();
  }

  #handOut(): void {
    while (this.#waiting.length && this.#idle.length) this.#waiting.shift()!(this.#idle.shift()!);
  }
}

const NO_EXIT = { code: 0, signal: null };

/** One child process and the one document it may be reading. */
class ExtractorProcess {
  readonly pid: number;
  readonly exited: Promise<Deno.CommandStatus>;
  busy = false;
  alive = true;
  reads = 0;
  readonly #child: Deno.ChildProcess;
  readonly #stdin: WritableStreamDefaultWriter<Uint8Array>;
  readonly #replies: FrameReader;
  #stderrTail = "";
  /** Set when this pool killed the child, with the reason to report. */
  #killedFor: ExtractionError | undefined;
  readonly #options: Required<Omit<ExtractorPoolOptions, "log">> & { log?: Logger };

  constructor(options: Required<Omit<ExtractorPoolOptions, "log">> & { log?: Logger }) {
    this.#options = options;
    // Heap below the resident ceiling: code, buffers and the young generation live outside it.
    const heapMb = Math.max(64, Math.floor(options.memoryMb * 0.75));
    this.#child = new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "--quiet",
        "--no-prompt",
        `--v8-flags=--max-old-space-size=${heapMb}`,
        `--config=${fileURLToPath(CONFIG)}`,
        fileURLToPath(ENTRY),
      ],
      clearEnv: true,
      env: Object.fromEntries(
        ENV_KEPT.flatMap((k) => (Deno.env.get(k) ? [[k, Deno.env.get(k)!]] : [])),
      ),
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    this.pid = this.#child.pid;
    this.#stdin = this.#child.stdin.getWriter();
    // What a reply within the limits can weigh as JSON; more means the child is not ours to trust.
    const replyBytes = 16 * 2 ** 20 + options.limits.maxTextChars * 6 +
      options.limits.maxChunks * 256;
    this.#replies = new FrameReader(this.#child.stdout, { maxBytes: replyBytes });
    this.#readStderr();
    this.exited = this.#child.status.then((s) => {
      this.alive = false;
      return s;
    });
    preferForOomKiller(this.pid);
  }

  claim(): this {
    this.busy = true;
    return this;
  }

  async read(bytes: Uint8Array, request: ExtractRequest): Promise<ReadDocument> {
    this.reads++;
    const { memoryMb, timeoutMs } = this.#options;
    const deadline = setTimeout(
      () =>
        this.#kill(
          new ExtractionError(`Reading the document took longer than ${seconds(timeoutMs)}`),
        ),
      timeoutMs,
    );
    const watch = setInterval(() => {
      const rss = residentBytes(this.pid);
      if (rss !== undefined && rss > memoryMb * 1024 * 1024) {
        this.#kill(
          new ExtractionError(`Reading the document needs more than ${memoryMb} MB of memory`),
        );
      }
    }, WATCH_MS);
    try {
      const reply = this.#replies.next();
      reply.catch(() => {});
      await this.#stdin.write(frame(new TextEncoder().encode(JSON.stringify(request))));
      await this.#stdin.write(frame(bytes));
      const outcome = await Promise.race([reply, this.exited.then(() => null)]);
      if (!outcome) throw await this.#failure();
      return answerOf(JSON.parse(new TextDecoder().decode(outcome)) as ExtractReply);
    } catch (err) {
      if (err instanceof ExtractionError || err instanceof ExtractorCrashedError) throw err;
      // The pipe broke: the child is gone or going; say why once it has exited.
      if (this.alive) this.#signal("SIGKILL");
      await this.exited;
      throw await this.#failure();
    } finally {
      clearTimeout(deadline);
      clearInterval(watch);
    }
  }

  /** Closes stdin (the child exits on its own), then makes sure it has. */
  async close(): Promise<void> {
    if (this.alive) {
      await this.#stdin.close().catch(() => {});
      const timer = setTimeout(() => this.#signal("SIGKILL"), 2000);
      await this.exited;
      clearTimeout(timer);
    }
    await this.#child.stdout.cancel().catch(() => {});
  }

  #kill(reason: ExtractionError): void {
    if (!this.alive || this.#killedFor) return;
    this.#killedFor = reason;
    this.#options.log?.warn("extractor stopped", { pid: this.pid, reason: reason.message });
    this.#signal("SIGKILL");
  }

  #signal(signal: Deno.Signal): void {
    try {
      this.#child.kill(signal);
    } catch {
      // it has exited already
    }
  }

  /** Why the child ended without a reply. */
  async #failure(): Promise<ExtractionError | ExtractorCrashedError> {
    const status = await this.exited;
    if (this.#killedFor) return this.#killedFor;
    // V8 aborts when the heap cap is reached ("Reached heap limit", "JavaScript heap out of memory").
    if (/heap limit|out of memory/i.test(this.#stderrTail)) {
      return new ExtractionError(
        `Reading the document needs more than ${this.#options.memoryMb} MB of memory`,
      );
    }
    const how = status.signal ? `was killed (${status.signal})` : `exited with code ${status.code}`;
    this.#options.log?.warn("extractor ended unexpectedly", {
      pid: this.pid,
      how,
      stderr: this.#stderrTail.slice(-500),
    });
    return new ExtractorCrashedError(
      `The document reader ${how} before it finished`,
      { code: status.code, signal: status.signal },
    );
  }

  async #readStderr(): Promise<void> {
    const decoder = new TextDecoder();
    try {
      for await (const chunk of this.#child.stderr) {
        this.#stderrTail = (this.#stderrTail + decoder.decode(chunk, { stream: true })).slice(
          -8192,
        );
      }
    } catch {
      // the child is gone
    }
  }
}

function answerOf(reply: ExtractReply): ReadDocument {
  if (reply.ok) return { chunks: reply.chunks, pages: reply.pages };
  if (reply.error === "LimitExceededError") {
    throw new LimitExceededError(reply.limit as keyof ExtractionLimits, reply.message);
  }
  throw new ExtractionError(reply.message);
}

/** Resident set size from /proc (Linux); undefined elsewhere. */
function residentBytes(pid: number): number | undefined {
  try {
    const statm = Deno.readTextFileSync(`/proc/${pid}/statm`);
    return Number(statm.split(" ")[1]) * 4096;
  } catch {
    return undefined;
  }
}

/** Raising a child's OOM score needs no privilege; lowering would. Linux only, best effort. */
function preferForOomKiller(pid: number): void {
  try {
    Deno.writeTextFileSync(`/proc/${pid}/oom_score_adj`, "1000");
  } catch {
    // not Linux, or /proc not writable: the heap cap and the watchdog still hold
  }
}

function seconds(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000} s` : `${(ms / 1000).toFixed(1)} s`;
}
