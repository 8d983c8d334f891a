/** Severity of a log line. */
export type LogLevel = "debug" | "info" | "warn" | "error";

/** Structured logging: a message and fields; `child` adds fields to every line. */
export interface Logger {
  /** Detail for debugging. */
  debug(msg: string, fields?: Record<string, unknown>): void;
  /** Something an operator may want to know. */
  info(msg: string, fields?: Record<string, unknown>): void;
  /** Something went wrong and was handled. */
  warn(msg: string, fields?: Record<string, unknown>): void;
  /** Something went wrong that needs attention. */
  error(msg: string, fields?: Record<string, unknown>): void;
  /** A logger that adds `fields` to every line. */
  child(fields: Record<string, unknown>): Logger;
}

const ORDER: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

/** Structured JSON lines on stderr. */
export function jsonLogger(
  level: LogLevel = "info",
  base: Record<string, unknown> = {},
  write: (line: string) => void = (line) => Deno.stderr.writeSync(encoder.encode(line + "\n")),
): Logger {
  const at = (l: LogLevel) => (msg: string, fields?: Record<string, unknown>) => {
    if (ORDER[l] < ORDER[level]) return;
    write(JSON.stringify({ t: new Date().toISOString(), level: l, msg, ...base, ...fields }));
  };
  return {
    debug: at("debug"),
    info: at("info"),
    warn: at("warn"),
    error: at("error"),
    child: (fields) => jsonLogger(level, { ...base, ...fields }, write),
  };
}

const encoder = new TextEncoder();
