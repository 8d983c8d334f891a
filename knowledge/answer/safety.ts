/**
 * The safety policy for health questions. A question asking for a diagnosis, medication, a dose
 * or a treatment gets the safe reply: the coach cannot advise on it, a doctor or physiotherapist
 * can, the human coach is offered, and the knowledge's own safety rule is quoted when it has one
 * (a pain rule, "ask your doctor about the dose"). A question describing a symptom or an injury
 * is answered only from a passage clearly about it, with a note; otherwise it gets the safe reply.
 * Creators may word the reply themselves: `settings.safety_message` of a knowledge base.
 */
import type pg from "pg";
import { withTenant } from "../../db/tenant.ts";
import type { Passage } from "../retrieval/retrieve.ts";
import type { SoftMatcher } from "../language/soft_match.ts";
import { sentences } from "../language/sentences.ts";
import type { HealthConcern, HealthReading } from "./health.ts";

/** Concerns that always get the safe reply: no passage of a coach's material settles them. */
export const ALWAYS_DECLINE: ReadonlySet<HealthConcern> = new Set([
  "medication",
  "dose",
  "diagnosis",
  "treatment",
]);

/** A sentence that sends the reader to a professional or tells them when to stop. */
const RULE =
  /\b(?:doctor|physician|gp|physio(?:therapist)?s?|medical (?:professional|advice|care)|professional (?:help|care)|crisis line|emergency|clearance|see a (?:specialist|professional))\b/i;

/** Words that tie a rule to a kind of concern, so the closest rule is quoted. */
const CONCERN_HINT: Record<HealthConcern, string> = {
  medication: "medication medicine doctor heart blood pressure",
  dose: "dose supplement vitamin doctor",
  diagnosis: "pain injury swelling doctor physiotherapist diagnose",
  symptom: "pain swelling doctor physiotherapist",
  injury: "pain injury swelling physiotherapist doctor",
  treatment: "pain injury swelling physiotherapist doctor",
};

const WHAT: Record<HealthConcern, string> = {
  medication: "medication",
  dose: "doses of medicines or supplements",
  diagnosis: "what might be wrong",
  symptom: "symptoms like this",
  injury: "injuries",
  treatment: "treating an injury or a symptom",
};

const URGENT =
  /\b(?:chest (?:pain|tightness|pressure)|faint(?:ed|ing)?|suicid(?:e|al)|self-?harm|harm(?:ing)? myself|short(?:ness)? of breath|numb(?:ness)?)\b/i;

export interface SafetyRule {
  passage: Passage;
  sentence: string;
}

export interface SafetySettings {
  /** The creator's own wording of the safe reply, when set. */
  message?: string;
  rule?: SafetyRule;
}

interface RuleRow {
  id: string;
  creator_id: string;
  knowledge_base_id: string;
  document_id: string;
  title: string;
  heading: string;
  text: string;
  ordinal: number;
  start_offset: number;
  end_offset: number;
  page: number | null;
}

/** How long a creator's rule candidates and wording are reused (a document or setting changed
 * since shows within this time). */
const RULES_TTL_MS = 30_000;
const rulesCache = new WeakMap<
  pg.Pool,
  Map<string, { at: number; rows: RuleRow[]; message?: string }>
>();

/** The creator's chunks that may hold a safety rule, and the creator's wording of the reply. */
async function candidateRules(pool: pg.Pool, creatorId: string, knowledgeBaseIds?: string[]) {
  const key = `${creatorId}:${knowledgeBaseIds?.join(",") ?? ""}`;
  const cache = rulesCache.get(pool) ?? rulesCache.set(pool, new Map()).get(pool)!;
  const hit = cache.get(key);
  if (hit && performance.now() - hit.at < RULES_TTL_MS) return hit;
  const found = await withTenant(pool, creatorId, async (c) => {
    const kb = knowledgeBaseIds?.length ? "and c.knowledge_base_id = any($1::uuid[])" : "";
    const { rows } = await c.query<RuleRow>(
      `select c.id, c.creator_id, c.knowledge_base_id, c.document_id, d.title, c.heading, c.text,
              c.ordinal, c.start_offset, c.end_offset, c.page
       from knowledge_chunks c join documents d on d.id = c.document_id
       where c.text ~* '(doctor|physician|physio|medical|professional|crisis line|emergency|clearance)'
       ${kb} order by c.document_id, c.ordinal limit 200`,
      knowledgeBaseIds?.length ? [knowledgeBaseIds] : [],
    );
    const settings = await c.query<{ message: string | null }>(
      `select settings->>'safety_message' as message from knowledge_bases
       where settings ? 'safety_message' ${
        knowledgeBaseIds?.length ? "and id = any($1::uuid[])" : ""
      } order by created_at limit 1`,
      knowledgeBaseIds?.length ? [knowledgeBaseIds] : [],
    );
    return { rows, message: settings.rows[0]?.message ?? undefined };
  });
  if (cache.size > 10_000) cache.clear();
  const entry = { at: performance.now(), ...found };
  cache.set(key, entry);
  return entry;
}

/**
 * The creator's wording and the knowledge's safety rule closest to the question: sentences of
 * the creator's chunks that send the reader to a professional, scored by word match with the
 * question and the kind of concern.
 */
export async function safetySettings(
  { pool, matcher, creatorId, knowledgeBaseIds, question, concern }: {
    pool: pg.Pool;
    matcher?: SoftMatcher;
    creatorId: string;
    knowledgeBaseIds?: string[];
    question: string;
    concern: HealthConcern;
  },
): Promise<SafetySettings> {
  const { rows, message } = await candidateRules(pool, creatorId, knowledgeBaseIds);
  const probe = `${question} ${CONCERN_HINT[concern]}`;
  const terms = matcher?.terms(probe, { unknown: true });
  let best: { score: number; rule: SafetyRule } | undefined;
  for (const r of rows) {
    for (const sentence of sentences(r.text)) {
      if (!RULE.test(sentence)) continue;
      const score = terms ? matcher!.score(terms, `${r.heading} ${sentence}`) : 0;
      if (!best || score > best.score) {
        best = {
          score,
          rule: {
            sentence,
            passage: {
              id: r.id,
              creatorId: r.creator_id,
              knowledgeBaseId: r.knowledge_base_id,
              documentId: r.document_id,
              documentTitle: r.title,
              heading: r.heading,
              text: r.text,
              position: {
                ordinal: r.ordinal,
                start: r.start_offset,
                end: r.end_offset,
                page: r.page,
              },
              score: 0,
              relevance: score,
              signals: {},
            },
          },
        };
      }
    }
  }
  return { message: message || undefined, rule: best?.rule };
}

/** The safe reply: no advice, a professional, the human coach, and the knowledge's rule. */
export function safeReply(
  health: HealthReading,
  settings: SafetySettings,
  question: string,
): string {
  const urgent = URGENT.test(question)
    ? " If it is severe or came on suddenly, call your local emergency number now."
    : "";
  const lead = settings.message ??
    `I can't advise on ${WHAT[health.concern]}: that needs someone who can examine you, so ` +
      "please ask a doctor or a physiotherapist." + urgent +
      " I can also pass your question to your coach.";
  if (!settings.rule) return lead;
  const source = sourceOf(settings.rule.passage);
  return `${lead}\n\nYour coach's material says (${source}): "${settings.rule.sentence}" [1]`;
}

/** The note added to an answer about a symptom or an injury. */
export function safetyNote(): string {
  return "If it doesn't settle, gets worse or worries you, please see a doctor or a " +
    "physiotherapist. I can also pass your question to your coach.";
}

function sourceOf(p: Passage): string {
  const section = p.heading.split(" > ").at(-1);
  return section ? `${p.documentTitle}, ${section}` : p.documentTitle;
}
