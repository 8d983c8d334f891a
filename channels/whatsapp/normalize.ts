/**
 * A WhatsApp webhook in the normalized shape: each inbound message for the connection's phone
 * number, and each status of a message we sent. Changes for another phone number id are left out
 * (a WhatsApp Business Account can hold several numbers, each its own connection).
 */
import type { InboundContent, NormalizedInbound } from "../../actors/mod.ts";
import type { ProviderStatus } from "../core/statuses.ts";
import type { WaMessage, WaWebhook } from "./payload.ts";

export function normalizeWebhook(
  hook: WaWebhook,
  where: { creatorId: string; connectionId: string; phoneNumberId: string },
): { messages: NormalizedInbound[]; statuses: ProviderStatus[] } {
  const messages: NormalizedInbound[] = [];
  const statuses: ProviderStatus[] = [];
  for (const entry of hook.entry) {
    for (const change of entry.changes) {
      if (change.field !== "messages") continue;
      const v = change.value;
      if (v.metadata && v.metadata.phone_number_id !== where.phoneNumberId) continue;
      const names = new Map((v.contacts ?? []).map((c) => [c.wa_id, c.profile?.name ?? ""]));
      for (const m of v.messages ?? []) {
        messages.push({
          channel: "whatsapp",
          creatorId: where.creatorId,
          connectionId: where.connectionId,
          externalUserId: m.from,
          externalMessageId: m.id,
          displayName: names.get(m.from) ?? "",
          sentAt: Number(m.timestamp) * 1000,
          content: contentOf(m),
        });
      }
      for (const s of v.statuses ?? []) {
        if (!["sent", "delivered", "read", "failed"].includes(s.status)) continue;
        const error = s.errors?.[0];
        statuses.push({
          creatorId: where.creatorId,
          connectionId: where.connectionId,
          channel: "whatsapp",
          providerMessageId: s.id,
          status: s.status as ProviderStatus["status"],
          at: Number(s.timestamp) * 1000,
          ...(error ? { error: `${error.code}${error.title ? ` ${error.title}` : ""}` } : {}),
          ...(s.pricing
            ? { pricing: { category: s.pricing.category, billable: s.pricing.billable } }
            : {}),
        });
      }
    }
  }
  return { messages, statuses };
}

function contentOf(m: WaMessage): InboundContent {
  switch (m.type) {
    case "text":
      return m.text?.body.trim()
        ? { type: "text", text: m.text.body.slice(0, 8000) }
        : { type: "attachment", kind: "other" };
    case "interactive": {
      const reply = m.interactive?.button_reply ?? m.interactive?.list_reply;
      return reply
        ? { type: "button", payload: reply.id, text: reply.title }
        : { type: "attachment", kind: "other" };
    }
    case "button":
      return {
        type: "button",
        payload: m.button?.payload ?? m.button?.text ?? "",
        text: m.button?.text ?? "",
      };
    case "image":
    case "video":
    case "document":
    case "audio":
    case "sticker": {
      const caption = (m[m.type] as { caption?: string } | undefined)?.caption;
      return {
        type: "attachment",
        kind: m.type,
        ...(caption ? { caption: caption.slice(0, 4000) } : {}),
      };
    }
    case "voice":
      return { type: "attachment", kind: "audio" };
    case "location":
      return { type: "attachment", kind: "location" };
    case "contacts":
      return { type: "attachment", kind: "contact" };
    default:
      return { type: "attachment", kind: "other" };
  }
}
