/**
 * The simulation's world: a migrated schema and a NATS prefix, the providers' fakes on the
 * simulated clock, creators with a Telegram bot and a WhatsApp number each, the people as the
 * channels' intake would have recorded them, and a node: real UserActors (with the proactive
 * actor per creator and the pacers) on a ManualClock, the real delivery worker and the nudge
 * records projection.
 */
import type pg from "pg";
import { ActorSystem, type Clock, jsonLogger, type ManualClock } from "../../runtime/mod.ts";
import { SecretBox } from "../../db/secrets.ts";
import { withSystem } from "../../db/tenant.ts";
import { userActor } from "../../actors/mod.ts";
import {
  proactiveAddress,
  proactiveBudgetActor,
} from "../../actors/user/proactive/budget_actor.ts";
import {
  ProactiveSettings,
  type ProactiveSettingsUpdate,
} from "../../actors/user/proactive/settings.ts";
import { ConnectionDirectory } from "../../channels/core/connections.ts";
import { channelContext } from "../../channels/core/connection_secrets.ts";
import { startDeliveryWorker } from "../../channels/core/delivery_worker.ts";
import { createChannelMetrics } from "../../channels/core/metrics.ts";
import { pacerActor } from "../../channels/core/pacer.ts";
import { startNudgeRecords } from "../../channels/core/nudge_records.ts";
import { TelegramSender } from "../../channels/telegram/sender.ts";
import { WhatsAppSender } from "../../channels/whatsapp/sender.ts";
import { startFakeTelegram } from "../../tests/fakes/telegram.ts";
import { startFakeWhatsApp } from "../../tests/fakes/whatsapp.ts";
import { testDb, testNats } from "../../tests/harness.ts";
import { conversationStub } from "./conversation_stub.ts";
import type { SimUser } from "./population.ts";

/**
 * What each creator configured. Caps are spelled out: the checker reads them from here, never
 * from the engine.
 */
export const CREATOR_SETTINGS:
  (ProactiveSettingsUpdate & { dailyCap: number; weeklyCap: number })[] = [
    { dailyCap: 2, weeklyCap: 5 },
    { inactivityDays: 2, dailyCap: 1, weeklyCap: 3 },
    { inactivityDays: 4, dailyCap: 2, weeklyCap: 4, whatsappTemplates: false, reengageLimit: 2 },
    { dailyCap: 2, weeklyCap: 6, monthlyTemplateCap: 15, reengageBaseDays: 1 },
  ];

/** A clock for the delivery worker: simulated time, but its waits (pacing slots) end at once. */
function instantWaits(clock: Clock): Clock {
  return {
    now: () => clock.now(),
    setTimeout: (fn) => setTimeout(fn, 0) as unknown as number,
    clearTimeout: (h) => clearTimeout(h),
  };
}

export interface Person extends SimUser {
  endUserId: string;
  creatorId: string;
  identityId: string;
  connectionId: string;
  externalId: string;
}

export async function startWorld(
  { clock, people, partitions = 8 }: { clock: ManualClock; people: SimUser[]; partitions?: number },
) {
  const stack = new AsyncDisposableStack();
  try {
    const db = stack.use(await testDb({ max: 24 }));
    const nats = stack.use(await testNats());
    const now = () => clock.now();
    const tg = stack.use(startFakeTelegram({ floodLimits: false, now }));
    const wa = stack.use(
      startFakeWhatsApp({
        statuses: false,
        now,
        throughputPerSecond: 1_000_000,
        pairRate: { burst: 1_000_000, perSecond: 1_000_000 },
        phoneNumbers: CREATOR_SETTINGS.map((_, i) => ({
          id: String(106540352242900 + i),
          displayPhoneNumber: String(15550783800 + i),
        })),
      }),
    );
    const box = new SecretBox(crypto.getRandomValues(new Uint8Array(32)));
    const log = jsonLogger("error");
    const creators = await seedCreators(db.pool, box, tg, wa);
    const persons = await seedPeople(db.pool, tg, wa, creators, people);
    await db.pool.query("analyze end_users; analyze channel_identities");

    const system = stack.use(
      await ActorSystem.start({
        pool: db.pool,
        nc: nats.nc,
        actors: [userActor({ debounceMs: 0 }), proactiveBudgetActor, conversationStub, pacerActor],
        nodeId: "sim",
        prefix: nats.prefix,
        partitions,
        log,
        clock,
        // Simulated days pass in minutes: nothing passivates, leases never lapse between steps.
        idleMs: 365 * 24 * 3600_000,
        maxResident: people.length * 3 + 100,
        leaseMs: 365 * 24 * 3600_000,
        // Loaded at every step (and every 30 s of clock while a settle waits).
        reminderWindowMs: 60_000,
        adminService: false,
      }),
    );
    for (const [i, c] of creators.entries()) {
      await system.client.ask(
        proactiveAddress(c.creatorId),
        "configure",
        ProactiveSettings.parse(CREATOR_SETTINGS[i]),
      );
    }
    const connections = stack.use(new ConnectionDirectory({ pool: db.pool, box }));
    const common = {
      nc: nats.nc,
      pool: db.pool,
      prefix: nats.prefix,
      deadLetters: system.deadLetters,
      log,
    };
    stack.use(
      await startDeliveryWorker({
        ...common,
        system,
        connections,
        senders: [
          new TelegramSender({ apiRoot: tg.url }),
          new WhatsAppSender({ apiUrl: wa.url, version: "v23.0" }),
        ],
        metrics: createChannelMetrics({ node: "sim" }),
        clock: instantWaits(clock),
        concurrency: 256,
      }),
    );
    stack.use(await startNudgeRecords(common));
    const moved = stack.move();
    return {
      db,
      nats,
      tg,
      wa,
      system,
      creators,
      persons,
      partitions,
      [Symbol.asyncDispose]: () => moved.disposeAsync(),
    };
  } catch (err) {
    await stack.disposeAsync();
    throw err;
  }
}
export type World = Awaited<ReturnType<typeof startWorld>>;

interface SeededCreator {
  creatorId: string;
  telegram: { connectionId: string; token: string };
  whatsapp: { connectionId: string; phoneNumberId: string };
}

async function seal(
  pool: pg.Pool,
  box: SecretBox,
  creatorId: string,
  id: string,
  secrets: Record<string, string>,
) {
  const s = await box.seal(JSON.stringify(secrets), channelContext(creatorId, id));
  await withSystem(
    pool,
    (c) =>
      c.query(
        "update channel_connections set secret_iv = $2, secret_ciphertext = $3 where id = $1",
        [
          id,
          s.iv,
          s.ciphertext,
        ],
      ),
  );
}

async function seedCreators(
  pool: pg.Pool,
  box: SecretBox,
  tg: ReturnType<typeof startFakeTelegram>,
  wa: ReturnType<typeof startFakeWhatsApp>,
): Promise<SeededCreator[]> {
  const out: SeededCreator[] = [];
  for (const [i] of CREATOR_SETTINGS.entries()) {
    const token = `${7100000000 + i}:AAFakeTelegramTokenForCoachdSimulation${i}`;
    tg.addBot({ token, username: `coach_sim_${i}_bot` });
    const phoneNumberId = String(106540352242900 + i);
    const ids = await withSystem(pool, async (c) => {
      const creatorId = (await c.query<{ id: string }>(
        "insert into creators (email, name) values ($1, $2) returning id",
        [`sim-${i}@example.test`, `Coach ${i}`],
      )).rows[0]!.id;
      const conn = async (kind: string, config: Record<string, unknown>) =>
        (await c.query<{ id: string }>(
          `insert into channel_connections (creator_id, kind, name, config, status)
           values ($1, $2, $3, $4, 'active') returning id`,
          [creatorId, kind, `${kind} ${i}`, config],
        )).rows[0]!.id;
      return {
        creatorId,
        telegram: await conn("telegram", { mode: "webhook", bot_username: `coach_sim_${i}_bot` }),
        whatsapp: await conn("whatsapp", {
          phone_number_id: phoneNumberId,
          templates: { nudge: { name: "coach_checkin", language: "en", body_variables: 1 } },
        }),
      };
    });
    await seal(pool, box, ids.creatorId, ids.telegram, { bot_token: token });
    await seal(pool, box, ids.creatorId, ids.whatsapp, { access_token: wa.accessToken });
    out.push({
      creatorId: ids.creatorId,
      telegram: { connectionId: ids.telegram, token },
      whatsapp: { connectionId: ids.whatsapp, phoneNumberId },
    });
  }
  return out;
}

/** The people as the intake records them on first contact (Telegram: they pressed Start). */
async function seedPeople(
  pool: pg.Pool,
  tg: ReturnType<typeof startFakeTelegram>,
  wa: ReturnType<typeof startFakeWhatsApp>,
  creators: SeededCreator[],
  people: SimUser[],
): Promise<Person[]> {
  const persons: Person[] = people.map((u) => {
    const c = creators[u.creator]!;
    let externalId: string;
    if (u.channel === "telegram") {
      const user = tg.addUser({ first_name: `Sim${u.index}` });
      tg.bots.get(c.telegram.token)!.privateChat(user);
      externalId = String(user.id);
    } else {
      externalId = String(4915100000000 + u.index);
      wa.addUser(externalId, { name: `Sim ${u.index}` });
    }
    return {
      ...u,
      endUserId: crypto.randomUUID(),
      creatorId: c.creatorId,
      identityId: crypto.randomUUID(),
      connectionId: u.channel === "telegram" ? c.telegram.connectionId : c.whatsapp.connectionId,
      externalId,
    };
  });
  await withSystem(pool, async (c) => {
    const col = <K extends keyof Person>(k: K) => persons.map((p) => p[k]);
    await c.query(
      `insert into end_users (id, creator_id, channel, external_id, display_name)
       select * from unnest($1::uuid[], $2::uuid[], $3::text[], $4::text[], $5::text[])`,
      [
        col("endUserId"),
        col("creatorId"),
        col("channel"),
        col("externalId"),
        persons.map((p) => `Sim ${p.index}`),
      ],
    );
    await c.query(
      `insert into channel_identities (id, creator_id, end_user_id, channel, external_id,
                                       display_name, connection_id, started_at)
       select i, c, u, ch, e, d, cn, case when ch = 'telegram' then now() end
         from unnest($1::uuid[], $2::uuid[], $3::uuid[], $4::text[], $5::text[], $6::text[],
                     $7::uuid[]) as x(i, c, u, ch, e, d, cn)`,
      [
        col("identityId"),
        col("creatorId"),
        col("endUserId"),
        col("channel"),
        col("externalId"),
        persons.map((p) => `Sim ${p.index}`),
        col("connectionId"),
      ],
    );
  });
  return persons;
}
