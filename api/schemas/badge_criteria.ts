/** Badge criteria: the DSL the UserActor's badges are evaluated with (actors/user/badges). */
export {
  type Criteria,
  CriteriaSyntaxError,
  evaluateCriteria,
  type Metric,
  METRICS,
  type Op,
  parseCriteria,
} from "../../actors/user/badges/criteria.ts";
