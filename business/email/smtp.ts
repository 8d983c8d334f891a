import nodemailer from "nodemailer";
import { type EmailProvider, EmailSendError, type OutgoingEmail } from "./provider.ts";

/**
 * Sends over SMTP with nodemailer. `url` is `smtp://user:pass@host:587` (STARTTLS when offered)
 * or `smtps://...:465`.
 */
export function smtpProvider(url: string, { timeoutMs = 15_000 }: { timeoutMs?: number } = {}):
  & EmailProvider
  & { close(): void } {
  const u = new URL(url);
  const secure = u.protocol === "smtps:";
  const transport = nodemailer.createTransport({
    host: u.hostname,
    port: u.port ? Number(u.port) : secure ? 465 : 587,
    secure,
    auth: u.username
      ? { user: decodeURIComponent(u.username), pass: decodeURIComponent(u.password) }
      : undefined,
    // `?tls=none` (loopback test servers): no STARTTLS even when offered.
    ignoreTLS: u.searchParams.get("tls") === "none",
    connectionTimeout: timeoutMs,
    greetingTimeout: timeoutMs,
    socketTimeout: timeoutMs,
  });
  return {
    name: "smtp",
    async send(m: OutgoingEmail) {
      try {
        const info = await transport.sendMail({
          from: m.from,
          to: m.to,
          subject: m.subject,
          text: m.text,
          html: m.html,
        });
        if (info.rejected?.length) {
          throw new EmailSendError("The SMTP server rejected the recipient", true);
        }
        return { messageId: info.messageId };
      } catch (err) {
        if (err instanceof EmailSendError) throw err;
        const code = (err as { responseCode?: number }).responseCode;
        throw new EmailSendError(
          `SMTP send failed${code ? ` (${code})` : ""}: ${(err as Error).message}`,
          code !== undefined && code >= 500,
          code,
          { cause: err },
        );
      }
    },
    close: () => transport.close(),
  };
}
