import * as program from "../../actors/contracts/program.ts";

/**
 * A program's flow as the admin API takes it: the schemas the UserActor runs
 * (actors/contracts/program.ts), named for the OpenAPI document.
 */
export const FlowStep = program.FlowStep.meta({ id: "FlowStep" });
export type FlowStep = program.FlowStep;
export const FlowDefinition = program.FlowDefinition.meta({ id: "FlowDefinition" });
export type FlowDefinition = program.FlowDefinition;
export const Condition = program.Condition;
export const awardedBadges = program.awardedBadges;
