/**
 * Push senders of one app: a creator's mobile app connection may carry its own credentials (an
 * FCM service account, an APNs key with its ids and topic), sealed with the connection's
 * secrets; they replace the node's for that provider. Built once per connection and version of
 * its credentials.
 */
import type { Connection } from "../core/connections.ts";
import { ApnsSender } from "./apns.ts";
import { FcmSender, ServiceAccount } from "./fcm.ts";
import type { PushSender } from "./sender.ts";
import { sha256 } from "../mobile/tokens.ts";

export interface ConnectionPushOptions {
  /** FCM's API base URL (the service account names its own token endpoint). */
  fcmApiUrl?: string;
  /** APNs base URL for `apns_environment: "production"` (the sandbox's is Apple's). */
  apnsApiUrl?: string;
  /** Extra CAs for APNs (a test server). */
  apnsCaCerts?: string[];
}

export class ConnectionPushSenders {
  readonly #cache = new Map<string, { version: string; senders: PushSender[] }>();
  constructor(private readonly o: ConnectionPushOptions = {}) {}

  /** The connection's own senders (none when it has no credentials of its own). */
  for(conn: Connection): PushSender[] {
    const s = conn.secrets;
    const c = conn.config;
    if (!s.fcm_service_account && !s.apns_key) return [];
    const version = sha256(
      JSON.stringify([
        s.fcm_service_account,
        s.apns_key,
        c.apns_key_id,
        c.apns_team_id,
        c.apns_topic,
        c.apns_environment,
      ]),
    );
    const hit = this.#cache.get(conn.id);
    if (hit?.version === version) return hit.senders;
    const senders: PushSender[] = [];
    if (s.fcm_service_account) {
      const account = ServiceAccount.safeParse(JSON.parse(s.fcm_service_account));
      if (account.success) senders.push(new FcmSender(account.data, { apiUrl: this.o.fcmApiUrl }));
    }
    if (
      s.apns_key && typeof c.apns_key_id === "string" && typeof c.apns_team_id === "string" &&
      typeof c.apns_topic === "string"
    ) {
      senders.push(
        new ApnsSender({
          privateKey: s.apns_key,
          keyId: c.apns_key_id,
          teamId: c.apns_team_id,
          topic: c.apns_topic,
          apiUrl: c.apns_environment === "sandbox"
            ? "https://api.sandbox.push.apple.com"
            : this.o.apnsApiUrl,
          caCerts: this.o.apnsCaCerts,
        }),
      );
    }
    this.#cache.set(conn.id, { version, senders });
    return senders;
  }
}
