/** Drafts program steps or nudges from a creator's knowledge, for the creator to edit. */
import type { ChatModel } from "../models/models.ts";
import { type Passage, type RetrievalDeps, retrieve } from "../retrieval/retrieve.ts";
import { sentences } from "../language/sentences.ts";

export type DraftKind = "program_steps" | "nudges";

export interface Draft {
  title: string;
  text: string;
  /** Chunks the draft was written from. */
  sources: { chunkId: string; documentId: string; documentTitle: string; heading: string }[];
}

const NUDGE_CHARS = 200;

/**
 * Retrieves the passages closest to `topic` and drafts one item per passage: extractively from
 * the passage's own sentences, or with the chat model when one is configured.
 */
export async function generateDrafts(
  deps: RetrievalDeps & { chat?: ChatModel; minRelevance: number },
  { creatorId, knowledgeBaseIds, topic, kind, count }: {
    creatorId: string;
    knowledgeBaseIds?: string[];
    topic: string;
    kind: DraftKind;
    count: number;
  },
): Promise<Draft[]> {
  const passages =
    (await retrieve(deps, { creatorId, query: topic, k: count * 2, knowledgeBaseIds }))
      .filter((p) => p.relevance >= deps.minRelevance * 0.8);
  const drafts: Draft[] = [];
  for (const p of passages.slice(0, count)) {
    drafts.push(
      deps.chat ? await modelDraft(deps.chat, p, kind) : extractiveDraft(p, kind, drafts.length),
    );
  }
  return drafts;
}

function source(p: Passage): Draft["sources"][number] {
  return {
    chunkId: p.id,
    documentId: p.documentId,
    documentTitle: p.documentTitle,
    heading: p.heading,
  };
}

function extractiveDraft(p: Passage, kind: DraftKind, index: number): Draft {
  const list = sentences(p.text);
  const topic = p.heading.split(" > ").at(-1) || p.documentTitle;
  if (kind === "nudges") {
    const best = list.find((s) => s.length <= NUDGE_CHARS - 20) ?? list[0] ?? p.text;
    const text = `${topic}: ${best}`;
    return {
      title: topic,
      text: text.length > NUDGE_CHARS ? `${text.slice(0, NUDGE_CHARS - 1)}…` : text,
      sources: [source(p)],
    };
  }
  return {
    title: `Step ${index + 1}: ${topic}`,
    text: `${list.slice(0, 3).join(" ")}\nThis week: put "${topic.toLowerCase()}" into practice ` +
      "and note how it went.",
    sources: [source(p)],
  };
}

async function modelDraft(chat: ChatModel, p: Passage, kind: DraftKind): Promise<Draft> {
  const ask = kind === "nudges"
    ? `Write one friendly coaching nudge of at most ${NUDGE_CHARS} characters based only on this passage.`
    : "Write one program step (a title line, then two or three sentences with one concrete action) based only on this passage.";
  let text = "";
  for await (
    const piece of chat.chat([
      { role: "system", content: "You draft coaching content strictly from the given passage." },
      { role: "user", content: `${ask}\n\nPassage (${p.documentTitle}): ${p.text}` },
    ])
  ) text += piece;
  const [first, ...rest] = text.trim().split("\n");
  return kind === "nudges"
    ? { title: p.heading || p.documentTitle, text: text.trim(), sources: [source(p)] }
    : {
      title: first ?? p.heading,
      text: rest.join("\n").trim() || text.trim(),
      sources: [source(p)],
    };
}
