import type { AnyActorDefinition } from "../runtime/mod.ts";

/** Every actor type a Coachd node hosts. */
export const actors: AnyActorDefinition[] = [];
