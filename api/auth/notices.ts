/**
 * Notices the API sends to an e-mail address, and the seam where an e-mail sender plugs in. There
 * is no sender yet: each notice is recorded in `account_notices` (without its secrets) and handed
 * to an `AccountMailer`. A node without one writes each notice as a JSON file into a drop folder
 * (`dropFolderMailer`), readable only by the node's user, where an operator (or, later, an SMTP
 * sender) picks it up.
 * @module
 */
import { join } from "node:path";
import type pg from "pg";
import type { Logger } from "../../runtime/mod.ts";

export type AccountNotice =
  | {
    kind: "signup_confirmation";
    email: string;
    /** The secret that `POST /auth/signup/confirm` takes. */
    token: string;
    expiresAt: string;
  }
  | {
    /** Someone signed up with an address that already has an account. */
    kind: "signup_existing_account";
    email: string;
  }
  | {
    /** A member asked to choose a new password; the token is for `/auth/password/reset`. */
    kind: "password_reset";
    email: string;
    token: string;
    expiresAt: string;
    name: string;
    team: string;
  }
  | {
    /** A member was added to a team. */
    kind: "member_invitation";
    email: string;
    name: string;
    team: string;
    role: string;
  };

/** Delivers notices (an e-mail sender, one day). */
export interface AccountMailer {
  send(notice: AccountNotice): Promise<void>;
}

/** Records that a notice is sent, in the caller's transaction (no secrets are stored). */
export async function recordNotice(
  client: pg.PoolClient,
  notice: AccountNotice,
  requestId: string,
): Promise<void> {
  await client.query(
    "insert into account_notices (kind, email, request_id) values ($1, $2, $3)",
    [notice.kind, notice.email, requestId],
  );
}

/**
 * Writes each notice to `<dir>/<time>-<kind>.json` (mode 0600). The log line names the file,
 * never the token.
 */
export function dropFolderMailer(dir: string, log: Logger): AccountMailer {
  return {
    async send(notice) {
      await Deno.mkdir(dir, { recursive: true, mode: 0o700 });
      const file = join(
        dir,
        `${Date.now()}-${crypto.randomUUID().slice(0, 8)}-${notice.kind}.json`,
      );
      await Deno.writeTextFile(file, JSON.stringify(notice, null, 2) + "\n", { mode: 0o600 });
      log.info("account notice written to the mail drop folder (no e-mail sender configured)", {
        kind: notice.kind,
        file,
      });
    },
  };
}

/** The mailer when none is given: nothing is delivered, which the log says (without secrets). */
export function undeliveredMailer(log: Logger): AccountMailer {
  return {
    send(notice) {
      log.warn("account notice not delivered: no mailer configured", { kind: notice.kind });
      return Promise.resolve();
    },
  };
}
