/**
 * The seam between transactional e-mail and whoever carries it: SMTP (`smtp.ts`) or SendGrid's
 * v3 HTTP API (`sendgrid.ts`), chosen by configuration (`providerFromConfig`).
 */

/** One rendered message. */
export interface OutgoingEmail {
  to: string;
  from: string;
  subject: string;
  text: string;
  html: string;
}

export interface EmailProvider {
  /** `smtp`, `sendgrid`: recorded beside each message in `email_log`. */
  readonly name: string;
  /** Resolves with the provider's message id; throws `EmailSendError` when refused or failed. */
  send(message: OutgoingEmail): Promise<{ messageId?: string }>;
}

/**
 * The provider refused or failed a message. `permanent` (an SMTP 5xx, a SendGrid 4xx other than
 * 429) is recorded as bounced and not retried; otherwise it is a failure worth trying again.
 */
export class EmailSendError extends Error {
  constructor(
    message: string,
    readonly permanent: boolean,
    readonly status?: number,
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = "EmailSendError";
  }
}
