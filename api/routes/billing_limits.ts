/**
 * Plan limits in the admin API: a create that would pass the creator's plan is refused with a
 * 402 problem naming the limit, its value, the usage and the plan (and the creator is told once,
 * business/billing/limits.ts).
 */
import type { Context } from "hono";
import type pg from "pg";
import { LIMIT_LABELS, type LimitName, PLANS, type Verdict } from "../../business/mod.ts";
import { withTenant } from "../../db/tenant.ts";
import type { ApiEnv } from "../env.ts";
import { ApiError } from "../errors.ts";

export class PlanLimitError extends ApiError {
  constructor(readonly verdict: Verdict) {
    super(
      402,
      "Plan limit reached",
      `The ${PLANS[verdict.plan].name} plan allows ${verdict.limitValue} ${
        LIMIT_LABELS[verdict.limit]
      }; ${verdict.usage} are in use and this needs ${verdict.adding} more. Upgrade through ` +
        "POST /v1/billing/checkout.",
      [{
        field: `plan.limits.${verdict.limit}`,
        message: `${verdict.usage} + ${verdict.adding} exceeds ${verdict.limitValue}`,
      }],
    );
    this.name = "PlanLimitError";
  }
}

/**
 * Refuses the request when adding `adding` to `limit` would pass the plan. Runs before the
 * create's transaction (two creates racing at the limit may both pass; limits are not quotas
 * to the unit). `minus` subtracts what the request replaces (a document's old size).
 * @throws PlanLimitError
 */
export async function enforceLimit(
  c: Context<ApiEnv>,
  limit: LimitName,
  adding = 1,
  minus?: (client: pg.PoolClient) => Promise<number>,
): Promise<void> {
  const business = c.get("services").business;
  if (!business) return;
  const creatorId = c.get("auth").creatorId;
  const verdict = minus
    ? await withTenant(c.get("services").pool, creatorId, async (client) => {
      const net = adding - await minus(client);
      return await business.limits.checkIn(client, limit, net);
    })
    : await business.limits.check(creatorId, limit, adding);
  if (verdict.allowed) return;
  await business.limits.refused(creatorId, verdict);
  throw new PlanLimitError(verdict);
}
