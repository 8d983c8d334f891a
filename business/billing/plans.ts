/**
 * The plans and their limits, in one place. A creator's plan is `free` unless a Stripe
 * subscription says otherwise (see `effectivePlan`); Stripe prices map to plans by configuration.
 */

/** What a plan limits. */
export const LIMIT_NAMES = [
  "end_users",
  "messages_per_month",
  "knowledge_bases",
  "document_bytes",
  "channels",
  "members",
] as const;
export type LimitName = typeof LIMIT_NAMES[number];
export type Limits = Record<LimitName, number>;

export const PLAN_IDS = ["free", "pro", "business"] as const;
export type PlanId = typeof PLAN_IDS[number];
/** Plans bought through Checkout. */
export type PaidPlanId = Exclude<PlanId, "free">;

const MB = 1024 * 1024;

/** Every plan's limits. Change them here; the API, intake and uploads read them from here. */
export const PLANS: Record<PlanId, { name: string; limits: Limits }> = {
  free: {
    name: "Free",
    limits: {
      end_users: 50,
      messages_per_month: 1_000,
      knowledge_bases: 1,
      document_bytes: 20 * MB,
      channels: 1,
      members: 2,
    },
  },
  pro: {
    name: "Pro",
    limits: {
      end_users: 2_000,
      messages_per_month: 50_000,
      knowledge_bases: 10,
      document_bytes: 1024 * MB,
      channels: 5,
      members: 10,
    },
  },
  business: {
    name: "Business",
    limits: {
      end_users: 50_000,
      messages_per_month: 1_000_000,
      knowledge_bases: 100,
      document_bytes: 20 * 1024 * MB,
      channels: 50,
      members: 100,
    },
  },
};

/** What a limit counts, in words for problem details and e-mails. */
export const LIMIT_LABELS: Record<LimitName, string> = {
  end_users: "end users",
  messages_per_month: "inbound messages this month",
  knowledge_bases: "knowledge bases",
  document_bytes: "bytes of stored documents",
  channels: "channel connections",
  members: "team members",
};

/** The subscription as stored in `creator_billing`. */
export interface BillingState {
  plan: string;
  status: string;
  currentPeriodEnd: Date | null;
  cancelAtPeriodEnd: boolean;
  graceUntil: Date | null;
}

const isPlan = (p: string): p is PlanId => (PLAN_IDS as readonly string[]).includes(p);

/**
 * The plan whose limits hold now: the paid plan while the subscription is active or trialing,
 * while a failed payment is within its grace period, and until the end of a period cancelled at
 * its end; free otherwise.
 */
export function effectivePlan(s: BillingState | undefined, now: Date): PlanId {
  if (!s || !isPlan(s.plan) || s.plan === "free") return "free";
  const periodOver = s.currentPeriodEnd !== null && s.currentPeriodEnd.getTime() <= now.getTime();
  if (s.cancelAtPeriodEnd && periodOver) return "free";
  if (s.status === "active" || s.status === "trialing") return s.plan;
  if (s.status === "past_due" || s.status === "unpaid") {
    return s.graceUntil && s.graceUntil.getTime() > now.getTime() ? s.plan : "free";
  }
  return "free";
}
