/**
 * Badge criteria: a small expression language over the user's metrics, e.g.
 * `streak_days >= 7 and (messages_sent > 50 or checkpoints_reached >= 3)`.
 *
 *   expr   := and ("or" and)*
 *   and    := unary ("and" unary)*
 *   unary  := "not" unary | "(" expr ")" | metric op number
 *   op     := >= | > | <= | < | == | !=
 *
 * It parses to a JSON tree (stored beside the text) that is evaluated on the user's metrics.
 */
export const METRICS = [
  "messages_sent",
  "sessions",
  "days_active",
  "streak_days",
  "checkpoints_reached",
  "programs_completed",
  "questions_answered",
] as const;
export type Metric = typeof METRICS[number];
export type Op = ">=" | ">" | "<=" | "<" | "==" | "!=";

export type Criteria =
  | { all: Criteria[] }
  | { any: Criteria[] }
  | { not: Criteria }
  | { metric: Metric; op: Op; value: number };

export class CriteriaSyntaxError extends Error {
  constructor(message: string, readonly position: number) {
    super(`${message} at character ${position + 1}`);
    this.name = "CriteriaSyntaxError";
  }
}

const TOKEN = /\s*(>=|<=|==|!=|>|<|\(|\)|-?\d+(?:\.\d+)?|[A-Za-z_]+)/y;

function tokenize(text: string): Array<{ t: string; at: number }> {
  const out: Array<{ t: string; at: number }> = [];
  TOKEN.lastIndex = 0;
  let pos = 0;
  while (pos < text.length) {
    if (/^\s*$/.test(text.slice(pos))) break;
    TOKEN.lastIndex = pos;
    const m = TOKEN.exec(text);
    if (!m) {
      throw new CriteriaSyntaxError(
        "Unexpected character",
        pos + (text.slice(pos).length - text.slice(pos).trimStart().length),
      );
    }
    out.push({ t: m[1]!, at: m.index + m[0].length - m[1]!.length });
    pos = TOKEN.lastIndex;
  }
  return out;
}

/**
 * Parses a criteria expression.
 * @throws CriteriaSyntaxError with the position of the first problem
 */
export function parseCriteria(text: string): Criteria {
  const tokens = tokenize(text);
  let i = 0;
  const peek = () => tokens[i]?.t;
  const where = () => tokens[i]?.at ?? text.length;
  const expr = (): Criteria => {
    const parts = [and()];
    while (peek()?.toLowerCase() === "or") {
      i++;
      parts.push(and());
    }
    return parts.length === 1 ? parts[0]! : { any: parts };
  };
  const and = (): Criteria => {
    const parts = [unary()];
    while (peek()?.toLowerCase() === "and") {
      i++;
      parts.push(unary());
    }
    return parts.length === 1 ? parts[0]! : { all: parts };
  };
  const unary = (): Criteria => {
    const t = peek();
    if (t === undefined) throw new CriteriaSyntaxError("Expected a condition", where());
    if (t.toLowerCase() === "not") {
      i++;
      return { not: unary() };
    }
    if (t === "(") {
      i++;
      const inner = expr();
      if (peek() !== ")") throw new CriteriaSyntaxError("Expected )", where());
      i++;
      return inner;
    }
    if (!(METRICS as readonly string[]).includes(t)) {
      throw new CriteriaSyntaxError(`Unknown metric ${t} (known: ${METRICS.join(", ")})`, where());
    }
    i++;
    const op = peek();
    if (!op || ![">=", ">", "<=", "<", "==", "!="].includes(op)) {
      throw new CriteriaSyntaxError("Expected a comparison (>=, >, <=, <, ==, !=)", where());
    }
    i++;
    const num = peek();
    if (num === undefined || !/^-?\d/.test(num)) {
      throw new CriteriaSyntaxError("Expected a number", where());
    }
    i++;
    return { metric: t as Metric, op: op as Op, value: Number(num) };
  };
  const tree = expr();
  if (i < tokens.length) throw new CriteriaSyntaxError(`Unexpected ${peek()}`, where());
  return tree;
}

/** Evaluates criteria against a user's metrics (missing metrics count as 0). */
export function evaluateCriteria(c: Criteria, metrics: Partial<Record<Metric, number>>): boolean {
  if ("all" in c) return c.all.every((x) => evaluateCriteria(x, metrics));
  if ("any" in c) return c.any.some((x) => evaluateCriteria(x, metrics));
  if ("not" in c) return !evaluateCriteria(c.not, metrics);
  const v = metrics[c.metric] ?? 0;
  switch (c.op) {
    case ">=":
      return v >= c.value;
    case ">":
      return v > c.value;
    case "<=":
      return v <= c.value;
    case "<":
      return v < c.value;
    case "==":
      return v === c.value;
    case "!=":
      return v !== c.value;
  }
}
