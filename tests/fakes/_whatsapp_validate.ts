/**
 * The shapes the Cloud API accepts on `POST /{version}/{phone-number-id}/messages`, checked with
 * its limits (text 4096, interactive buttons 1–3 with titles up to 20, lists up to 10 rows...).
 * A failure names the parameter the way Graph API messages do (`text['body']`).
 */

/** A rejected payload: Graph error code, and the message and details the API would give. */
export class PayloadError extends Error {
  constructor(readonly code: number, readonly graphMessage: string, readonly details: string) {
    super(details);
    this.name = "PayloadError";
  }
}

const required = (name: string) =>
  new PayloadError(
    100,
    `(#100) The parameter ${name} is required.`,
    `The parameter ${name} is required.`,
  );

const invalid = (details: string) => new PayloadError(100, "(#100) Invalid parameter", details);

const tooLong = (name: string, max: number) =>
  invalid(`Param ${name} must be at most ${max} characters long.`);

type Obj = Record<string, unknown>;

const isObj = (v: unknown): v is Obj => typeof v === "object" && v !== null && !Array.isArray(v);

function obj(parent: Obj, key: string, path: string): Obj {
  const v = parent[key];
  if (v === undefined || v === null) throw required(path);
  if (!isObj(v)) throw invalid(`Param ${path} must be a JSON object.`);
  return v;
}

function text(
  parent: Obj,
  key: string,
  path: string,
  max: number,
  { optional = false } = {},
): string | undefined {
  const v = parent[key];
  if (v === undefined || v === null || v === "") {
    if (optional) return undefined;
    throw required(path);
  }
  if (typeof v !== "string") throw invalid(`Param ${path} must be a string.`);
  if (v.length > max) throw tooLong(path, max);
  return v;
}

function list(parent: Obj, key: string, path: string, min: number, max: number): unknown[] {
  const v = parent[key];
  if (v === undefined || v === null) throw required(path);
  if (!Array.isArray(v)) throw invalid(`Param ${path} must be an array.`);
  if (v.length < min || v.length > max) {
    throw invalid(`Param ${path} must have between ${min} and ${max} elements.`);
  }
  return v;
}

export const MESSAGE_TYPES = [
  "audio",
  "contacts",
  "document",
  "image",
  "interactive",
  "location",
  "reaction",
  "sticker",
  "template",
  "text",
  "video",
] as const;
export type MessageType = typeof MESSAGE_TYPES[number];

/** What the fake needs from a valid message payload. */
export interface ValidMessage {
  to: string;
  type: MessageType;
  template?: { name: string; language: string; bodyParams: number };
  contextMessageId?: string;
  bizOpaqueCallbackData?: string;
}

/** Checks a send-message payload (after `messaging_product`), returning what the fake uses. */
export function validateMessage(body: Obj): ValidMessage {
  const to = body.to;
  if (to === undefined || to === null || to === "") throw required("to");
  if (typeof to !== "string") throw invalid("Param to must be a string.");
  if (body.recipient_type !== undefined && body.recipient_type !== "individual") {
    throw invalid(
      `Param recipient_type must be one of {INDIVIDUAL} - got "${body.recipient_type}".`,
    );
  }
  const type = (body.type ?? "text") as string;
  if (!(MESSAGE_TYPES as readonly string[]).includes(type)) {
    throw invalid(
      `Param type must be one of {${
        MESSAGE_TYPES.map((t) => t.toUpperCase()).join(", ")
      }} - got "${type}".`,
    );
  }
  const payload = obj(body, type, type);
  const result: ValidMessage = { to, type: type as MessageType };
  if (body.context !== undefined) {
    const context = obj(body, "context", "context");
    result.contextMessageId = text(context, "message_id", "context['message_id']", 256);
  }
  if (body.biz_opaque_callback_data !== undefined) {
    result.bizOpaqueCallbackData = text(
      body,
      "biz_opaque_callback_data",
      "biz_opaque_callback_data",
      512,
    );
  }
  switch (type) {
    case "text":
      text(payload, "body", "text['body']", 4096);
      break;
    case "interactive":
      validateInteractive(payload);
      break;
    case "template":
      result.template = validateTemplate(payload);
      break;
    case "image":
    case "audio":
    case "video":
    case "document":
    case "sticker":
      if (payload.id === undefined && payload.link === undefined) {
        throw invalid(`Param ${type} must contain either id or link.`);
      }
      if (payload.caption !== undefined) text(payload, "caption", `${type}['caption']`, 1024);
      break;
    case "location":
      for (const k of ["latitude", "longitude"]) {
        if (typeof payload[k] !== "number" && typeof payload[k] !== "string") {
          throw required(`location['${k}']`);
        }
      }
      break;
    case "reaction":
      text(payload, "message_id", "reaction['message_id']", 256);
      if (typeof payload.emoji !== "string") throw required("reaction['emoji']");
      break;
    case "contacts":
      break;
  }
  return result;
}

function uniqueIds(ids: string[], path: string): void {
  if (new Set(ids).size !== ids.length) throw invalid(`Param ${path} must be unique.`);
}

function validateInteractive(interactive: Obj): void {
  const kind = interactive.type;
  const kinds = [
    "button",
    "list",
    "cta_url",
    "product",
    "product_list",
    "flow",
    "location_request_message",
  ];
  if (typeof kind !== "string") throw required("interactive['type']");
  if (!kinds.includes(kind)) {
    throw invalid(
      `Param interactive['type'] must be one of {${
        kinds.map((k) => k.toUpperCase()).join(", ")
      }} - got "${kind}".`,
    );
  }
  if (interactive.header !== undefined) {
    const header = obj(interactive, "header", "interactive['header']");
    if (header.type === "text") text(header, "text", "interactive['header']['text']", 60);
  }
  if (interactive.footer !== undefined) {
    text(
      obj(interactive, "footer", "interactive['footer']"),
      "text",
      "interactive['footer']['text']",
      60,
    );
  }
  const body = obj(interactive, "body", "interactive['body']");
  text(
    body,
    "text",
    "interactive['body']['text']",
    kind === "list" || kind === "button" ? 1024 : 4096,
  );
  const action = obj(interactive, "action", "interactive['action']");
  if (kind === "button") {
    const buttons = list(action, "buttons", "interactive['action']['buttons']", 1, 3);
    const ids: string[] = [];
    const titles: string[] = [];
    buttons.forEach((b, i) => {
      const at = `interactive['action']['buttons'][${i}]`;
      if (!isObj(b)) throw invalid(`Param ${at} must be a JSON object.`);
      if (b.type !== "reply") {
        throw invalid(`Param ${at}['type'] must be one of {REPLY} - got "${b.type}".`);
      }
      const reply = obj(b, "reply", `${at}['reply']`);
      ids.push(text(reply, "id", `${at}['reply']['id']`, 256)!);
      titles.push(text(reply, "title", `${at}['reply']['title']`, 20)!);
    });
    uniqueIds(ids, "interactive['action']['buttons'][*]['reply']['id']");
    uniqueIds(titles, "interactive['action']['buttons'][*]['reply']['title']");
  } else if (kind === "list") {
    text(action, "button", "interactive['action']['button']", 20);
    const sections = list(action, "sections", "interactive['action']['sections']", 1, 10);
    const ids: string[] = [];
    sections.forEach((s, i) => {
      const at = `interactive['action']['sections'][${i}]`;
      if (!isObj(s)) throw invalid(`Param ${at} must be a JSON object.`);
      text(s, "title", `${at}['title']`, 24, { optional: sections.length === 1 });
      const rows = list(s, "rows", `${at}['rows']`, 1, 10);
      rows.forEach((r, j) => {
        const rat = `${at}['rows'][${j}]`;
        if (!isObj(r)) throw invalid(`Param ${rat} must be a JSON object.`);
        ids.push(text(r, "id", `${rat}['id']`, 200)!);
        text(r, "title", `${rat}['title']`, 24);
        text(r, "description", `${rat}['description']`, 72, { optional: true });
      });
    });
    if (ids.length > 10) throw invalid("Total row count exceed max allowed count: 10");
    uniqueIds(ids, "interactive['action']['sections'][*]['rows'][*]['id']");
  } else if (kind === "cta_url") {
    if (action.name !== "cta_url") {
      throw invalid(`Param interactive['action']['name'] must be "cta_url".`);
    }
    const parameters = obj(action, "parameters", "interactive['action']['parameters']");
    text(parameters, "display_text", "interactive['action']['parameters']['display_text']", 20);
    const url = text(parameters, "url", "interactive['action']['parameters']['url']", 2000)!;
    if (!/^https?:\/\//.test(url)) {
      throw invalid("Param interactive['action']['parameters']['url'] must be a valid URL.");
    }
  }
}

function validateTemplate(template: Obj): { name: string; language: string; bodyParams: number } {
  const name = text(template, "name", "template['name']", 512)!;
  const language = obj(template, "language", "template['language']");
  const code = text(language, "code", "template['language']['code']", 16)!;
  if (language.policy !== undefined && language.policy !== "deterministic") {
    throw invalid(
      `Param template['language']['policy'] must be one of {DETERMINISTIC} - got "${language.policy}".`,
    );
  }
  let bodyParams = 0;
  if (template.components !== undefined) {
    const components = list(template, "components", "template['components']", 0, 20);
    components.forEach((c, i) => {
      const at = `template['components'][${i}]`;
      if (!isObj(c)) throw invalid(`Param ${at} must be a JSON object.`);
      const type = c.type;
      if (
        typeof type !== "string" ||
        !["header", "body", "button", "footer"].includes(type.toLowerCase())
      ) {
        throw invalid(
          `Param ${at}['type'] must be one of {HEADER, BODY, BUTTON} - got "${String(type)}".`,
        );
      }
      if (type.toLowerCase() === "button") {
        if (c.sub_type === undefined) throw required(`${at}['sub_type']`);
        if (c.index === undefined) throw required(`${at}['index']`);
      }
      if (c.parameters !== undefined) {
        const params = list(c, "parameters", `${at}['parameters']`, 0, 100);
        params.forEach((p, j) => {
          const pat = `${at}['parameters'][${j}]`;
          if (!isObj(p) || typeof p.type !== "string") throw required(`${pat}['type']`);
          if (p.type === "text") text(p, "text", `${pat}['text']`, 32768);
        });
        if (type.toLowerCase() === "body") bodyParams = params.length;
      }
    });
  }
  return { name, language: code, bodyParams };
}
