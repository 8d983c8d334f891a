/** The words of the proactive coach, per trigger. */
export function nudgeText(
  trigger: "inactivity" | "reengagement" | "streak_at_risk" | "milestone",
  o: { name?: string; step?: number; streak?: number },
): string {
  const hi = o.name ? `Hi ${o.name}!` : "Hi!";
  switch (trigger) {
    case "inactivity":
      return `${hi} It's been a few days. How are you getting on? Reply here whenever you're ready.`;
    case "reengagement":
      return [
        `${hi} Just checking in: even one small step today counts. What's on your mind?`,
        `${hi} Your goals are still here waiting for you. Want to pick up where we left off?`,
        `${hi} I'm here whenever you want to start again. Just send me a message.`,
      ][((o.step ?? 1) - 1) % 3]!;
    case "streak_at_risk":
      return `You're on a ${o.streak}-day streak! A quick check-in today keeps it going.`;
    case "milestone":
      return `${o.streak} days in a row, well done! Keep it up.`;
  }
}
