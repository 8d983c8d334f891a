/** Sentiment of a message with wink-sentiment (AFINN, emojis, negation), scaled to [-1, 1]. */
import winkSentiment from "wink-sentiment";

export function sentimentOf(text: string): number {
  const { normalizedScore } = winkSentiment(text);
  return Math.max(-1, Math.min(1, normalizedScore / 5));
}

/** Recent messages are weighted this much in the moving average. */
const ALPHA = 0.2;
const RECENT = 10;

export function noteSentiment(
  s: { average: number; recent: number[]; samples: number },
  score: number,
): void {
  s.average = s.samples === 0 ? score : s.average + ALPHA * (score - s.average);
  s.recent = [...s.recent, Math.round(score * 1000) / 1000].slice(-RECENT);
  s.samples++;
}

/** Rising, falling or steady: the last half of the recent scores against the first half. */
export function sentimentTrend(recent: number[]): "rising" | "falling" | "steady" {
  if (recent.length < 4) return "steady";
  const half = Math.floor(recent.length / 2);
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  const delta = mean(recent.slice(half)) - mean(recent.slice(0, half));
  return delta > 0.15 ? "rising" : delta < -0.15 ? "falling" : "steady";
}
