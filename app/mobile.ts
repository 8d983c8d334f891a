/**
 * Wires the mobile app backend into the channels: end-user tokens, the app API under `/v1/app`,
 * the creators' token exchange, the push senders configured (FCM, APNs, Web Push) and the
 * sender that delivers to the app (socket when live, push otherwise).
 */
import type pg from "pg";
import type { Config } from "./config.ts";
import type { ActorSystem, Logger } from "../runtime/mod.ts";
import type { SecretBox } from "../db/secrets.ts";
import type { KnownPeople } from "../channels/core/intake.ts";
import { EndUserTokens } from "../channels/mobile/tokens.ts";
import { type Presence, PushFallbackSender } from "../channels/mobile/sender.ts";
import type { ChannelSender } from "../channels/core/sender.ts";
import { RealtimeSender } from "../channels/widget/sender.ts";
import type { RealtimeHub } from "../channels/widget/hub.ts";
import { PushDispatcher } from "../channels/push/dispatch.ts";
import type { PushSender } from "../channels/push/sender.ts";
import { PushTokenStore } from "../channels/push/store.ts";
import { FcmSender, ServiceAccount } from "../channels/push/fcm.ts";
import { ApnsSender } from "../channels/push/apns.ts";
import { WebPushSender } from "../channels/push/webpush.ts";
import { appApi } from "../api/routes/app_api.ts";
import { endUserTokenRoutes } from "../api/routes/end_user_tokens.ts";
import type { ApiOptions } from "./node.ts";

/** The push senders the configuration has credentials for. */
export function pushSendersOf(config: Config): PushSender[] {
  const out: PushSender[] = [];
  if (config.FCM_SERVICE_ACCOUNT) {
    out.push(
      new FcmSender(ServiceAccount.parse(JSON.parse(config.FCM_SERVICE_ACCOUNT)), {
        apiUrl: config.FCM_API_URL,
        tokenUrl: config.FCM_TOKEN_URL,
      }),
    );
  }
  if (config.APNS_KEY && config.APNS_KEY_ID && config.APNS_TEAM_ID && config.APNS_TOPIC) {
    out.push(
      new ApnsSender({
        privateKey: config.APNS_KEY,
        keyId: config.APNS_KEY_ID,
        teamId: config.APNS_TEAM_ID,
        topic: config.APNS_TOPIC,
        apiUrl: config.APNS_API_URL,
        caCerts: config.APNS_CA_FILE ? [Deno.readTextFileSync(config.APNS_CA_FILE)] : undefined,
      }),
    );
  }
  if (config.VAPID_PUBLIC_KEY && config.VAPID_PRIVATE_KEY && config.VAPID_SUBJECT) {
    out.push(
      new WebPushSender({
        subject: config.VAPID_SUBJECT,
        publicKey: config.VAPID_PUBLIC_KEY,
        privateKey: config.VAPID_PRIVATE_KEY,
      }),
    );
  }
  return out;
}

export interface MobileParts {
  tokens: EndUserTokens;
  push: PushDispatcher;
  store: PushTokenStore;
  /** The app's sender and the widget's, each with the push fallback. */
  senders: ChannelSender[];
  api: Pick<ApiOptions, "appRoutes" | "extensions">;
  /** Gives the app API the actor system once the node has started it. */
  attach(system: ActorSystem): void;
}

export function mobileParts(o: {
  pool: pg.Pool;
  config: Config;
  box: SecretBox;
  log: Logger;
  known?: KnownPeople;
  /** Fan-out and presence of the real-time layer. */
  hub: RealtimeHub;
  /** The web widget's sender, given the same push fallback (Web Push for the widget). */
  widgetSender?: ChannelSender;
  /** Who is online; default the hub. */
  presence?: Presence;
}): MobileParts {
  const tokens = new EndUserTokens(o.pool, {
    accessTtlSeconds: o.config.APP_ACCESS_TOKEN_TTL_SECONDS,
    refreshTtlSeconds: o.config.APP_REFRESH_TOKEN_TTL_SECONDS,
  });
  const store = new PushTokenStore(o.pool, o.box);
  const push = new PushDispatcher({
    store,
    senders: pushSendersOf(o.config),
    log: o.log.child({ component: "push" }),
  });
  const fallback = { presence: o.presence ?? o.hub, push, log: o.log };
  const appSender = new RealtimeSender({ pool: o.pool, hub: o.hub, kind: "mobile_app" });
  const senders: ChannelSender[] = [new PushFallbackSender(appSender, fallback)];
  if (o.widgetSender) senders.push(new PushFallbackSender(o.widgetSender, fallback));
  let system: ActorSystem | undefined;
  const systemOf = () => {
    if (!system) throw new Error("the app API was called before the actor system started");
    return system;
  };
  return {
    tokens,
    push,
    store,
    senders,
    api: {
      appRoutes: [
        appApi({
          tokens,
          system: systemOf,
          push: store,
          pushProviders: () => push.providers,
          known: o.known,
          hub: o.hub,
        }),
      ],
      extensions: [endUserTokenRoutes(tokens)],
    },
    attach: (s) => void (system = s),
  };
}
