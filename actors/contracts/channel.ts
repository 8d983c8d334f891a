import { z } from "zod";
import type { AnswerFormat } from "../../knowledge/mod.ts";

/**
 * The delivery channels of the product, the one vocabulary of the code base and the database
 * (migrations/0102_channel_vocabulary.sql): where end users talk to the coach and what creators
 * connect.
 */
export const Channel = z.enum(["telegram", "whatsapp", "web_widget", "mobile_app"]);
export type Channel = z.infer<typeof Channel>;

/**
 * Where a conversation takes place: a delivery channel, or `preview`, the creators' own test
 * chat in the admin app, through which nothing is delivered.
 */
export const ConversationChannel = z.enum([...Channel.options, "preview"]);
export type ConversationChannel = z.infer<typeof ConversationChannel>;

/**
 * How an answer must look on each channel. Telegram allows 4,096 characters and WhatsApp 4,096
 * per text, but a coach's answer reads best far shorter there; neither renders Markdown (each
 * has its own markup, which channel delivery may add).
 */
export const ANSWER_FORMATS: Readonly<Record<ConversationChannel, Readonly<AnswerFormat>>> = {
  telegram: { maxChars: 1000, markdown: false },
  whatsapp: { maxChars: 900, markdown: false },
  web_widget: { maxChars: 1200, markdown: true },
  mobile_app: { maxChars: 1200, markdown: true },
  preview: { maxChars: 1200, markdown: true },
};

/** The answer format of a channel, for `runTurn` and `converse`. */
export function answerFormat(channel: ConversationChannel): AnswerFormat {
  return { ...ANSWER_FORMATS[channel] };
}
