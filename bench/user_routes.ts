import { type Context, Hono } from "hono";
import { HTTPException } from "hono/http-exception";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import { z } from "zod";
import {
  type ActorSystem,
  AskTimeoutError,
  InvalidActorAddressError,
  type Logger,
  PayloadTooLargeError,
  RemoteHandlerError,
  SystemStoppingError,
} from "../runtime/mod.ts";
import { userActor } from "./user_actor.ts";

const MessageBody = z.string().max(4096);
const ScheduleNudgesBody = z.object({ dueAts: z.array(z.number().int().nonnegative()).max(1000) });

/** The request body is not what the route expects. */
export class BadRequestError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "BadRequestError";
  }
}

/**
 * The benchmark's HTTP adapter for the `bench_user` actor, mounted at `/user`: any node answers for any
 * key, since every call is an `ask` through the actor's JetStream mailbox.
 */
export function userRoutes({ system, log }: { system: ActorSystem; log: Logger }) {
  const user = (c: Context) => system.ref(userActor, c.req.param("key") ?? "");
  return new Hono()
    .post("/:key/message", async (c) => {
      const text = await body(c, MessageBody);
      return c.json(await user(c).ask("message", text));
    })
    .post("/:key/scheduleNudges", async (c) => {
      const { dueAts } = await body(c, ScheduleNudgesBody);
      return c.json(await user(c).ask("scheduleNudges", { dueAts }));
    })
    .post("/:key/nudgeStats", async (c) => c.json(await user(c).ask("nudgeStats", null)))
    .get("/:key/state", async (c) => c.json(await user(c).ask("state", null)))
    .onError((err, c) => {
      if (err instanceof HTTPException) return err.getResponse();
      const status = statusOf(err);
      if (status === 500) log.error("request failed", { path: c.req.path, error: String(err) });
      return c.body(
        JSON.stringify({ type: "about:blank", title: err.name, status, detail: err.message }),
        status,
        { "content-type": "application/problem+json" },
      );
    });
}

async function body<T>(c: Context, schema: z.ZodType<T>): Promise<T> {
  let raw: unknown;
  try {
    raw = await c.req.json();
  } catch (err) {
    throw new BadRequestError(`Body is not JSON: ${(err as Error).message}`, { cause: err });
  }
  const parsed = schema.safeParse(raw);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => `${i.path.join(".") || "(body)"}: ${i.message}`);
    throw new BadRequestError(`Invalid body: ${issues.join("; ")}`);
  }
  return parsed.data;
}

function statusOf(err: Error): ContentfulStatusCode {
  if (err instanceof BadRequestError || err instanceof InvalidActorAddressError) return 400;
  if (err instanceof PayloadTooLargeError) return 413;
  if (err instanceof RemoteHandlerError) return 422;
  if (err instanceof SystemStoppingError) return 503;
  if (err instanceof AskTimeoutError) return 504;
  return 500;
}
