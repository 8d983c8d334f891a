/**
 * The parts of the WhatsApp Cloud API's webhook payload Coachd reads, as zod schemas: inbound
 * messages (text, interactive replies, template buttons, media, location) and message statuses
 * with pricing and errors. Unknown fields pass; unknown message types are read as "other".
 */
import { z } from "zod";

const Media = z.object({ id: z.string().optional(), caption: z.string().optional() }).loose();

export const WaMessage = z.object({
  from: z.string().min(1).max(64),
  id: z.string().min(1).max(300),
  timestamp: z.string().regex(/^\d+$/),
  type: z.string(),
  text: z.object({ body: z.string() }).optional(),
  interactive: z.object({
    type: z.string(),
    button_reply: z.object({ id: z.string(), title: z.string() }).optional(),
    list_reply: z.object({ id: z.string(), title: z.string() }).optional(),
  }).loose().optional(),
  button: z.object({ payload: z.string().optional(), text: z.string() }).optional(),
  image: Media.optional(),
  video: Media.optional(),
  document: Media.optional(),
  audio: Media.optional(),
  voice: Media.optional(),
  sticker: Media.optional(),
}).loose();
export type WaMessage = z.infer<typeof WaMessage>;

export const WaStatus = z.object({
  id: z.string().min(1).max(300),
  status: z.string(),
  timestamp: z.string().regex(/^\d+$/),
  recipient_id: z.string().optional(),
  pricing: z.object({
    billable: z.boolean().optional(),
    category: z.string(),
    pricing_model: z.string().optional(),
  }).loose().optional(),
  errors: z.array(z.object({ code: z.number(), title: z.string().optional() }).loose()).optional(),
}).loose();
export type WaStatus = z.infer<typeof WaStatus>;

export const WaWebhook = z.object({
  object: z.literal("whatsapp_business_account"),
  entry: z.array(
    z.object({
      id: z.string().optional(),
      changes: z.array(
        z.object({
          field: z.string(),
          value: z.object({
            messaging_product: z.string().optional(),
            metadata: z.object({ phone_number_id: z.string() }).loose().optional(),
            contacts: z.array(
              z.object({ wa_id: z.string(), profile: z.object({ name: z.string() }).optional() })
                .loose(),
            ).optional(),
            messages: z.array(WaMessage).optional(),
            statuses: z.array(WaStatus).optional(),
          }).loose(),
        }).loose(),
      ),
    }).loose(),
  ).max(100),
}).loose();
export type WaWebhook = z.infer<typeof WaWebhook>;
