/**
 * Transactional e-mail: renders a template, hands it to the provider and records the outcome in
 * `email_log` (sent, failed, bounced; never the body or a token). It never throws: a failed
 * e-mail must not fail the request or the worker that asked for it.
 */
import type pg from "pg";
import type { Logger } from "../../runtime/mod.ts";
import { withSystem } from "../../db/tenant.ts";
import { type EmailProvider, EmailSendError } from "./provider.ts";
import { render, type TemplateName } from "./templates.ts";

export interface SendResult {
  status: "sent" | "failed" | "bounced" | "skipped";
  messageId?: string;
}

export interface MailerOptions {
  pool: pg.Pool;
  /** Absent: nothing is sent, each e-mail is logged as skipped. */
  provider?: EmailProvider;
  from: string;
  /** The node's public URL, for links in e-mails. */
  appUrl: string;
  log: Logger;
}

export class Mailer {
  constructor(readonly o: MailerOptions) {}

  /** The public URL of `path` (`/v1/...`). */
  link(path: string): string {
    return new URL(path, this.o.appUrl).toString();
  }

  /** Sends one template to one address. */
  async send(
    template: TemplateName,
    { to, locale, creatorId, vars }: {
      to: string;
      locale?: string | null;
      creatorId?: string;
      vars: Record<string, string>;
    },
  ): Promise<SendResult> {
    const { provider, log } = this.o;
    let status: SendResult["status"] = "sent";
    let messageId: string | undefined;
    let error: string | undefined;
    let usedLocale = "en";
    try {
      const r = await render(template, locale, vars);
      usedLocale = r.locale;
      if (!provider) {
        log.warn("e-mail not sent: no e-mail provider configured", { template });
        return { status: "skipped" };
      }
      ({ messageId } = await provider.send({
        to,
        from: this.o.from,
        subject: r.subject,
        text: r.text,
        html: r.html,
      }));
    } catch (err) {
      status = err instanceof EmailSendError && err.permanent ? "bounced" : "failed";
      error = String((err as Error).message ?? err).slice(0, 500);
      log.warn("e-mail not delivered", { template, status, error });
    }
    await withSystem(this.o.pool, (c) =>
      c.query(
        `insert into email_log (creator_id, template, locale, recipient, provider, status,
           provider_message_id, error) values ($1, $2, $3, $4, $5, $6, $7, $8)`,
        [
          creatorId ?? null,
          template,
          usedLocale,
          to,
          provider?.name ?? "none",
          status,
          messageId ?? null,
          error ?? null,
        ],
      )).catch((err) => log.error("could not record an e-mail", { error: String(err) }));
    return { status, messageId };
  }

  /** Sends to the creator's account address, in the creator's locale (`settings.locale`). */
  async toCreator(
    creatorId: string,
    template: TemplateName,
    vars: Record<string, string>,
  ): Promise<SendResult> {
    const creator = await withSystem(
      this.o.pool,
      async (c) =>
        (await c.query<{ email: string; locale: string | null }>(
          "select email, settings->>'locale' locale from creators where id = $1",
          [creatorId],
        )).rows[0],
    ).catch(() => undefined);
    if (!creator) return { status: "skipped" };
    return await this.send(template, {
      to: creator.email,
      locale: creator.locale,
      creatorId,
      vars,
    });
  }
}
