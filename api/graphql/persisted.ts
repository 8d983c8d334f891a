/**
 * Persisted operations: documents the server knows by the SHA-256 of their text, sent as
 * `{"extensions":{"persistedQuery":{"version":1,"sha256Hash":"…"}}}` (the built-in dashboard
 * uses them). Other documents are allowed too, within the depth and cost limits.
 */
import { createHash } from "node:crypto";

export const DASHBOARD_QUERY = `query Dashboard($range: AnalyticsRange) {
  analytics(range: $range) {
    from
    to
    tz
    minGroup
    engagement { period channel users messages sessions messagesPerUser suppressed }
    retention { cohort week users active rate suppressed }
    answers { period questions refusalRate handoffRate suppressed }
    unansweredTopics { topic users questions suppressed }
    nudges { trigger hour sent replied24h replyRate suppressed }
    deliveries { channel status deliveries suppressed }
  }
}`;

export const sha256 = (text: string) => createHash("sha256").update(text).digest("hex");

/** The persisted documents by hash. */
export const PERSISTED_OPERATIONS: ReadonlyMap<string, string> = new Map(
  [DASHBOARD_QUERY].map((q) => [sha256(q), q]),
);
