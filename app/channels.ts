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
import { type IntakeGate, KnownPeople, RECEIPT_DAYS } from "../channels/core/intake.ts";
import { createChannelMetrics } from "../channels/core/metrics.ts";
import { pacerActor } from "../channels/core/pacer.ts";
import { startConversationRecords } from "../channels/core/records.ts";
import { startStatusWorker } from "../channels/core/statuses.ts";
import { startTelegramPollers } from "../channels/telegram/poller.ts";
import { TelegramSender } from "../channels/telegram/sender.ts";
import { WhatsAppSender } from "../channels/whatsapp/sender.ts";
import { createHooks } from "../api/hooks/mod.ts";
import { channelConnector } from "../channels/connect.ts";

/** What the admin API and tests reach of the channels once the node runs. */
export interface ChannelsHandle {
  connections?: ConnectionDirectory;
  telegram?: TelegramSender;
  whatsapp?: WhatsAppSender;
}

export function channelsExtension(
  { handle = {}, gate }: {
    handle?: ChannelsHandle;
    /** Plan limits on what the channels take in (business/billing/limits.ts). */
    gate?: IntakeGate;
  } = {},
): NodeExtensionFactory {
  return async ({ pool, nc, config, log }) => {
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
    Object.assign(handle, { connections, telegram, whatsapp });
    const channelLog = log.child({ component: "channels" });
    const known = new KnownPeople();
    const connector = channelConnector({ telegram, connections, publicUrl: config.PUBLIC_URL });
    return {
      actors: [pacerActor],
      api: { channels: connector },
      metrics: metrics.registry,
      routes: (app, system) => {
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
            gate,
          }),
        );
      },
      start: async (system) => {
        const workers = new AsyncDisposableStack();
        try {
          const common = { nc, pool, prefix, deadLetters: system.deadLetters, log: channelLog };
          workers.use(
            await startDeliveryWorker({
              ...common,
              system,
              connections,
              senders: [telegram, whatsapp],
              metrics,
            }),
          );
          workers.use(await startStatusWorker({ ...common, metrics }));
          workers.use(await startConversationRecords(common));
          workers.use(
            startTelegramPollers({
              pool,
              system,
              sender: telegram,
              metrics,
              log: channelLog,
              connections,
              known,
              gate,
              nc,
              prefix,
            }),
          );
          workers.use(pruneReceipts(pool, channelLog));
          workers.use(connections);
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
