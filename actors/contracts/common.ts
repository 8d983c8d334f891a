import { z } from "zod";

/** Why an actor forgets everything it holds about a person. */
export const Erase = z.object({ reason: z.enum(["deleted_by_creator", "requested_by_user"]) });
export type Erase = z.infer<typeof Erase>;

/** The reply of a command that has nothing else to say. */
export const Ok = z.object({ ok: z.literal(true) });
export type Ok = z.infer<typeof Ok>;

/** The data of a kind that takes none (`null` or nothing). */
export const NoData = z.null().optional();
