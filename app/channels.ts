/**
 * Wires the channels into a node: the pacer actors, the webhook routes under `/hooks`, and the
 * workers (deliveries, provider statuses, conversation records, Telegram polling, receipt
 * pruning). Every node runs all of them; JetStream and partition ownership share the work.
 */
import type pg from "pg";
import type { NodeExtensionFactory } from "./node.ts";
import type { Logger } from "../runtime/mod.ts";
import { withSystem } from "../db/tenant.ts";
import { loadOrCreateSecret, SecretBox } from "../db/secrets.ts";
import { ConnectionDirectory } from "../channels/core/connections.ts";
import { startDeliveryWorker } from "../channels/core/delivery_worker.ts";
import { KnownPeople, RECEIPT_DAYS } from "../channels/core/intake.ts";
import { createChannelMetrics } from "../channels/core/metrics.ts";
import { pacerActor } from "../channels/core/pacer.ts";
import { startConversationRecords } from "../channels/core/records.ts";
import { startCoachRecords } from "../channels/core/coach_records.ts";
import { startCoachRequests } from "../channels/core/coach_requests.ts";
import { startStatusWorker } from "../channels/core/statuses.ts";
import { startTelegramPollers } from "../channels/telegram/poller.ts";
import { TelegramSender } from "../channels/telegram/sender.ts";
import { WhatsAppSender } from "../channels/whatsapp/sender.ts";
import { guardSender, providerFailing } from "../channels/core/breaker.ts";
import { createHooks } from "../api/hooks/mod.ts";
import { channelConnector } from "../channels/connect.ts";
import { type MobileParts, mobileParts } from "./mobile.ts";
import { RealtimeHub } from "../channels/widget/hub.ts";
import { RealtimeSender } from "../channels/widget/sender.ts";
import { Widgets } from "../channels/widget/widgets.ts";
import { loadWidgetAsset } from "../channels/widget/asset.ts";
import { realtimeDeliveryNotices } from "../channels/widget/statuses.ts";
import type { SocketAuthenticator } from "../channels/widget/socket.ts";
import { widgetRoutes } from "../api/routes/widget.ts";
import { appSocketRoutes } from "../api/routes/app_socket.ts";
import { appTokenAuthenticator } from "../channels/mobile/socket_auth.ts";
import { realClock } from "../runtime/mod.ts";

/** What the admin API and tests reach of the channels once the node runs. */
export interface ChannelsHandle {
  connections?: ConnectionDirectory;
  telegram?: TelegramSender;
  whatsapp?: WhatsAppSender;
  mobile?: MobileParts;
  /** Real-time fan-out and presence ("has this person a live socket anywhere?"). */
  realtime?: RealtimeHub;
  /**
   * Who may open a real-time socket: the widget's sessions first; other token kinds (the mobile
   * app's end-user tokens) are added here before the node serves.
   */
  socketAuthenticators?: SocketAuthenticator[];
}

export function channelsExtension(
  { handle = {} }: { handle?: ChannelsHandle } = {},
): NodeExtensionFactory {
  return async ({ pool, nc, config, log, breakers }) => {
    const box = new SecretBox(
      await loadOrCreateSecret({
        configured: config.SECRETS_KEY,
        dataDir: config.DATA_DIR,
        name: "secrets_key",
      }),
    );
    const prefix = config.NATS_PREFIX;
    const connections = new ConnectionDirectory({ pool, box, nc, prefix });
    const metrics = createChannelMetrics({ node: config.NODE_ID ?? "node" });
    const telegram = new TelegramSender({ apiRoot: config.TELEGRAM_API_URL });
    const whatsapp = new WhatsAppSender({
      apiUrl: config.WHATSAPP_API_URL,
      version: config.WHATSAPP_GRAPH_VERSION,
    });
    const realtime = new RealtimeHub({ nc, prefix, nodeId: config.NODE_ID ?? "node" });
    const widgets = new Widgets({ pool, connections });
    const widgetSender = new RealtimeSender({ pool, hub: realtime });
    const socketAuthenticators: SocketAuthenticator[] = [widgets];
    Object.assign(handle, { connections, telegram, whatsapp, realtime, socketAuthenticators });
    const channelLog = log.child({ component: "channels" });
    const known = new KnownPeople();
    const widgetAsset = await loadWidgetAsset();
    const connector = channelConnector({ telegram, connections, publicUrl: config.PUBLIC_URL });
    const mobile = mobileParts({
      pool,
      config,
      box,
      log: channelLog,
      known,
      hub: realtime,
      widgetSender,
    });
    handle.mobile = mobile;
    return {
      actors: [pacerActor],
      api: { channels: connector, ...mobile.api },
      metrics: metrics.registry,
      routes: (app, system) => {
        mobile.attach(system);
        app.route(
          "/hooks",
          createHooks({
            pool,
            nc,
            prefix,
            system,
            connections,
            telegram,
            whatsapp,
            metrics,
            log: channelLog,
            known,
          }),
        );
        app.route(
          "/",
          widgetRoutes({
            pool,
            widgets,
            asset: widgetAsset,
            socket: {
              pool,
              system,
              hub: realtime,
              authenticators: socketAuthenticators,
              known,
              clock: realClock,
              log: channelLog,
              onDelivery: realtimeDeliveryNotices({ nc, prefix, log: channelLog }),
              streamChunkMs: config.WIDGET_STREAM_CHUNK_MS,
            },
            limits: {
              messagesPerVisitor: config.WIDGET_MESSAGES_PER_VISITOR,
              messagesPerKey: config.WIDGET_MESSAGES_PER_KEY,
              sessionsPerIp: config.WIDGET_SESSIONS_PER_IP,
              windowMs: config.WIDGET_RATE_WINDOW_MS,
            },
            log: channelLog,
            trustProxy: config.TRUST_PROXY,
          }),
        );
        app.route(
          "/",
          appSocketRoutes({
            pool,
            socket: {
              pool,
              system,
              hub: realtime,
              authenticators: [appTokenAuthenticator(mobile.tokens)],
              known,
              clock: realClock,
              log: channelLog,
              onDelivery: realtimeDeliveryNotices({ nc, prefix, log: channelLog }),
              streamChunkMs: config.WIDGET_STREAM_CHUNK_MS,
            },
            limits: {
              messagesPerPerson: config.WIDGET_MESSAGES_PER_VISITOR,
              windowMs: config.WIDGET_RATE_WINDOW_MS,
            },
          }),
        );
      },
      start: async (system) => {
        mobile.attach(system);
        const workers = new AsyncDisposableStack();
        try {
          const common = { nc, pool, prefix, deadLetters: system.deadLetters, log: channelLog };
          workers.use(
            await startDeliveryWorker({
              ...common,
              system,
              connections,
              // Deliveries go through the providers' breakers: an outage is a wait, not a failure.
              senders: [
                guardSender(telegram, breakers.get("telegram", { isFailure: providerFailing })),
                guardSender(whatsapp, breakers.get("whatsapp", { isFailure: providerFailing })),
                ...mobile.senders,
              ],
              metrics,
            }),
          );
          workers.use(await startStatusWorker({ ...common, metrics }));
          workers.use(await startConversationRecords(common));
          // Programs, badges and learned profiles: their read models and the actors' look-ups.
          workers.use(await startCoachRecords(common));
          workers.use(await startCoachRequests({ ...common, system }));
          workers.use(
            startTelegramPollers({
              pool,
              system,
              sender: telegram,
              metrics,
              log: channelLog,
              connections,
              known,
              nc,
              prefix,
            }),
          );
          workers.use(pruneReceipts(pool, channelLog));
          workers.use(connections);
          workers.use(realtime);
          if (!config.PUBLIC_URL) {
            channelLog.info(
              "PUBLIC_URL is not set: Telegram bots connect by long polling; WhatsApp needs a public webhook URL",
            );
          }
          return workers.move();
        } catch (err) {
          await workers.disposeAsync();
          throw err;
        }
      },
    };
  };
}

/** Drops provider message ids older than RECEIPT_DAYS, hourly. */
function pruneReceipts(pool: pg.Pool, log: Logger) {
  const run = () =>
    withSystem(
      pool,
      (c) =>
        c.query(
          "delete from inbound_receipts where received_at < now() - make_interval(days => $1)",
          [
            RECEIPT_DAYS,
          ],
        ),
    ).catch((err) => log.warn("pruning inbound receipts failed", { error: String(err) }));
  const timer = setInterval(run, 3600_000);
  return { [Symbol.dispose]: () => clearInterval(timer) };
}
