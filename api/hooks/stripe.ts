/**
 * `POST /hooks/stripe`: Stripe's events, verified over the raw body before anything is parsed
 * (`stripe.webhooks.constructEventAsync`, constant-time), then applied once per event id. A
 * failure answers 500, so Stripe sends the event again.
 */
import { Hono } from "hono";
import type { Logger } from "../../runtime/mod.ts";
import { type Billing, BillingNotConfiguredError } from "../../business/mod.ts";
import { ApiError, errorHandler } from "../errors.ts";
import { readRawBody } from "./verify.ts";

export function stripeHook({ billing, log }: { billing: Billing; log: Logger }): Hono {
  const app = new Hono();
  app.onError(errorHandler(log));
  app.post("/", async (c) => {
    const signature = c.req.header("stripe-signature");
    if (!signature) {
      throw new ApiError(400, "Bad signature", "Stripe-Signature is missing", [
        { field: "header.stripe-signature", message: "required" },
      ]);
    }
    const raw = new TextDecoder().decode(await readRawBody(c.req.raw, 1 << 20));
    let event;
    try {
      event = await billing.verify(raw, signature);
    } catch (err) {
      if (err instanceof BillingNotConfiguredError) {
        throw new ApiError(503, "Billing unavailable", err.message);
      }
      throw new ApiError(400, "Bad signature", "Stripe-Signature does not match the body", [
        { field: "header.stripe-signature", message: "does not verify" },
      ]);
    }
    const outcome = await billing.apply(event);
    return c.json({ received: true, outcome });
  });
  return app;
}
