import { z } from "zod";
import { defineActor, type TurnContext } from "../../runtime/mod.ts";
import { parseTenantActorId } from "../ids.ts";
import {
  type BrainDeps,
  ProviderTimeoutError,
  ProviderUnavailableError,
  runTurn,
} from "../../knowledge/mod.ts";
import { answerFormat } from "../contracts/channel.ts";
import { answererContract, type AnswerRequest, AnswerResult } from "../contracts/answerer.ts";
import { Profile } from "../contracts/user.ts";
import { userAddress } from "../contracts/user.ts";
import { emptyProfile } from "../user/profile.ts";

/** Results kept for repeated requests: a repeat comes within a few turns, or not at all. */
const KEPT_RESULTS = 8;

const AnswererState = z.object({
  results: z.array(z.object({ requestId: z.string(), result: AnswerResult })),
});
type AnswererState = z.infer<typeof AnswererState>;

export interface AnswererDeps {
  brain: BrainDeps;
  /** Timeout of the profile lookup in the UserActor (default 2000 ms). */
  profileTimeoutMs?: number;
  /**
   * Earlier exchanges of the conversation (older than the recent turns kept word for word) most
   * similar to the message, added to the summary the responder reads; 0 (the default) recalls
   * none.
   */
  recallMemories?: number;
  /** Least cosine similarity of a recalled exchange to the message (default 0.5). */
  recallMinSimilarity?: number;
  /** Recall is skipped when it takes longer (default 1000 ms). */
  recallTimeoutMs?: number;
}

/**
 * The answerer of a conversation (same id, `<creatorId>:<conversationId>`): the I/O of a turn,
 * kept out of the ConversationActor. It reads the user's profile, recalls earlier exchanges,
 * retrieves from the creator's knowledge and answers (`runTurn`), then records the result under
 * the request id before replying: the same request again, from a retried or redelivered
 * conversation turn, gets the recorded answer, never a second, different one.
 */
export function answererActor(deps: AnswererDeps) {
  return defineActor(answererContract, {
    state: AnswererState,
    initial: (): AnswererState => ({ results: [] }),
    handlers: {
      answer: async (ctx, req) => {
        const done = ctx.state.results.find((r) => r.requestId === req.requestId);
        if (done) return done.result;
        const { creatorId } = parseTenantActorId(ctx.self.id);
        const profile = await loadProfile(ctx, creatorId, req.userId, deps.profileTimeoutMs);
        const earlier = await recall(deps, ctx, creatorId, req);
        let turn;
        try {
          turn = await runTurn(deps.brain, {
            creatorId,
            message: req.message,
            history: req.history,
            summary: earlier.length
              ? [req.summary, "Earlier in this conversation:", ...earlier].filter(Boolean).join(
                "\n",
              )
              : req.summary,
            profile,
            format: answerFormat(req.channel),
            knowledgeBaseIds: req.knowledgeBaseIds,
            refusalsInRow: req.refusalsInRow,
          });
        } catch (err) {
          if (!providerDown(err)) throw err;
          // The turn still commits: the person is told, and the question waits for the creator.
          ctx.log.warn("model server unavailable, handing the question to the creator", {
            error: String(err),
          });
          return keep(ctx, req.requestId, UNAVAILABLE);
        }
        const result: AnswerResult = {
          answer: turn.answer,
          refused: turn.refused,
          handoff: turn.handoff ? { reason: turn.handoff.reason } : null,
          citations: turn.citations,
          qa: {
            ok: turn.qa.ok,
            grounding: turn.qa.grounding,
            refused: turn.refused,
            problems: turn.qa.problems,
          },
        };
        return keep(ctx, req.requestId, result);
      },
      erase: (ctx) => ctx.erase(),
    },
  });
}

/** The answer while the model server is down: the creator takes the question. */
const UNAVAILABLE: AnswerResult = {
  answer:
    "I can't reach my coaching material right now, so I'm passing your question to your coach, who will reply here.",
  refused: true,
  handoff: { reason: "unavailable" },
  citations: [],
  qa: { ok: true, grounding: 0, refused: true, problems: [] },
};

/** A served model (or its breaker) failing, as against a bug, which must still fail the turn. */
function providerDown(err: unknown): boolean {
  for (let e = err; e instanceof Error; e = e.cause) {
    if (e instanceof ProviderUnavailableError || e instanceof ProviderTimeoutError) return true;
  }
  return false;
}

/** Records the result under its request id (a repeat gets it again) and returns it. */
function keep(ctx: TurnContext<AnswererState>, requestId: string, result: AnswerResult) {
  ctx.state.results = [...ctx.state.results, { requestId, result }].slice(-KEPT_RESULTS);
  return result;
}

async function loadProfile(
  ctx: TurnContext<AnswererState>,
  creatorId: string,
  userId: string,
  timeoutMs = 2000,
): Promise<Profile> {
  try {
    return Profile.parse(
      await ctx.ask(userAddress(creatorId, userId), "getProfile", null, { timeoutMs }),
    );
  } catch (err) {
    ctx.log.warn("profile unavailable, answering without it", { error: String(err) });
    return emptyProfile();
  }
}

/**
 * The remembered exchanges of the conversation's current life most similar to the message,
 * among those no longer in the recent turns. A read: it changes nothing, and a failure only
 * means no recall.
 */
async function recall(
  deps: AnswererDeps,
  ctx: TurnContext<AnswererState>,
  creatorId: string,
  req: AnswerRequest,
): Promise<string[]> {
  const k = deps.recallMemories ?? 0;
  if (k <= 0 || !req.recall) return [];
  const { gen, upToTurn } = req.recall;
  const minSimilarity = deps.recallMinSimilarity ?? 0.5;
  const timeoutMs = deps.recallTimeoutMs ?? 1000;
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    const hits = await Promise.race([
      (async () => {
        const [embedding] = await deps.brain.embedder.embed([req.message]);
        return await deps.brain.store.query("memories", embedding!, {
          creatorId,
          k,
          where: { document_id: ctx.self.id, gen, turn: { $lte: upToTurn } },
        });
      })(),
      new Promise<never>((_, reject) => {
        // A deadline on I/O, not a wait of the actor: it is real time whatever the clock.
        timer = setTimeout(() => reject(new Error(`no answer in ${timeoutMs} ms`)), timeoutMs);
      }),
    ]);
    return hits.filter((h) => h.similarity >= minSimilarity).map((h) => h.text);
  } catch (err) {
    ctx.log.warn("memory recall failed, answering without it", { error: String(err) });
    return [];
  } finally {
    clearTimeout(timer);
  }
}
