import assert from "node:assert/strict";
import { jsonLogger } from "../../runtime/mod.ts";
import { userActor, userAddress } from "../../actors/mod.ts";
import { startCoachRecords } from "../../channels/core/coach_records.ts";
import { startCoachRequests } from "../../channels/core/coach_requests.ts";
import { eventually } from "../../tests/harness.ts";
import { seedEndUser, type Session, type TestApi, testApi } from "../../tests/api_harness.ts";

/** An API whose node hosts the UserActors and runs the coach's workers; events recorded. */
async function setup() {
  const t = await testApi({}, { hostActors: [userActor({ debounceMs: 0 })] });
  const stack = new AsyncDisposableStack();
  stack.use(t);
  const common = {
    nc: t.nats.nc,
    pool: t.db.pool,
    prefix: t.nats.prefix,
    deadLetters: t.actors.deadLetters,
    log: jsonLogger("error"),
  };
  stack.use(await startCoachRecords(common));
  stack.use(await startCoachRequests({ ...common, system: t.actors }));
  // deno-lint-ignore no-explicit-any
  const events: { subject: string; data: any }[] = [];
  const root = `${t.nats.prefix}.evt.`;
  const sub = t.nats.nc.subscribe(`${root}>`, {
    callback: (err, m) => {
      if (!err) events.push({ subject: m.subject.slice(root.length), data: m.json() });
    },
  });
  stack.defer(() => sub.unsubscribe());
  await t.nats.nc.flush();
  const moved = stack.move();
  return { t, events, [Symbol.asyncDispose]: () => moved.disposeAsync() };
}

async function publishedProgram(t: TestApi, s: Session) {
  const badge = await (await t.call("POST", "/badges", {
    token: s.token,
    json: { name: "Starter", criteria: "checkpoints_reached >= 100", message: "Bravo, starter!" },
  })).json();
  const program = await (await t.call("POST", "/programs", {
    token: s.token,
    json: {
      name: "Sleep basics",
      flow_definition: {
        start: "c",
        steps: [
          { id: "c", type: "checkpoint", name: "joined", next: "b" },
          { id: "b", type: "award_badge", badge_id: badge.id, next: "m" },
          { id: "m", type: "message", text: "Welcome aboard" },
        ],
      },
    },
  })).json();
  assert.equal(
    (await t.call("POST", `/programs/${program.id}/publish`, { token: s.token })).status,
    200,
  );
  return { programId: program.id as string, badgeId: badge.id as string };
}

Deno.test("enrollments API - a creator enrols one person and a list; progress, badges and the segment follow from the actors' events", async () => {
  await using env = await setup();
  const { t, events } = env;
  const a = await t.signup();
  const { programId, badgeId } = await publishedProgram(t, a);
  const [u1, u2, u3] = [
    await seedEndUser(t, a.creatorId),
    await seedEndUser(t, a.creatorId),
    await seedEndUser(t, a.creatorId),
  ].map((u) => u.endUserId) as [string, string, string];

  const one = await t.call("POST", `/programs/${programId}/enrollments`, {
    token: a.token,
    json: { end_user_ids: [u1] },
  });
  assert.equal(one.status, 202);
  assert.deepEqual(await one.json(), { program_version: 1, end_user_ids: [u1] });
  const list = await t.call("POST", `/programs/${programId}/enrollments`, {
    token: a.token,
    json: { end_user_ids: [u2, u3, u2] },
  });
  assert.deepEqual((await list.json()).end_user_ids, [u2, u3]);

  // Each actor ran the program to its end; the read model shows it.
  const rows = await eventually(async () => {
    const res = await t.call("GET", `/programs/${programId}/enrollments?status=completed`, {
      token: a.token,
    });
    const body = await res.json();
    return body.data.length === 3 ? body.data : null;
  }, { what: "three completed enrolments" });
  assert.deepEqual(
    rows.map((r: { end_user_id: string }) => r.end_user_id).sort(),
    [u1, u2, u3].sort(),
  );
  assert.ok(
    rows.every((r: { program_version: number; data: { checkpoints: string[] } }) =>
      r.program_version === 1 && r.data.checkpoints[0] === "joined"
    ),
  );
  const mine = await t.actors.client.ask(userAddress(a.creatorId, u1), "getEnrollments");
  assert.equal(mine[0]!.status, "completed");

  // The flow's badge: awarded once, announced in the creator's words, listed.
  const badges = await eventually(async () => {
    const b = await (await t.call("GET", `/end-users/${u1}/badges`, { token: a.token })).json();
    return b.badges.length ? b : null;
  });
  assert.deepEqual(
    badges.badges.map((b: { badge_id: string; name: string }) => [b.badge_id, b.name]),
    [[badgeId, "Starter"]],
  );
  await eventually(() =>
    events.filter((e) => e.subject === "delivery.requested" && e.data.purpose === "badge")
      .length === 3
  );
  const announced = events.filter((e) =>
    e.subject === "delivery.requested" && e.data.purpose === "badge" && e.data.endUserId === u1
  );
  assert.deepEqual(announced.map((e) => e.data.text), ["Bravo, starter!"]);

  // A segment of the program's finished people; enrolling it again changes nothing for them.
  const seg =
    await (await t.call("GET", `/segments?program_id=${programId}&program_status=completed`, {
      token: a.token,
    })).json();
  assert.equal(seg.data.length, 3);
  const again = await t.call("POST", `/programs/${programId}/enrollments`, {
    token: a.token,
    json: { segment: { program_id: programId, program_status: "active" } },
  });
  assert.deepEqual((await again.json()).end_user_ids, []);

  // The admin's controls reach the actor.
  const restart = await t.call("POST", `/end-users/${u1}/programs/${programId}/restart`, {
    token: a.token,
  });
  assert.equal(restart.status, 202);
  await eventually(() =>
    events.some((e) =>
      e.subject === "program.status" && e.data.change === "restarted" && e.data.endUserId === u1
    )
  );
});

Deno.test("enrollments API - another creator's people and programs are 404, unpublished programs 409, and the body must name who", async () => {
  await using env = await setup();
  const { t } = env;
  const a = await t.signup();
  const b = await t.signup();
  const { programId } = await publishedProgram(t, a);
  const other = await publishedProgram(t, b);
  const ada = (await seedEndUser(t, a.creatorId)).endUserId;

  const problem = async (res: Response, status: number) => {
    assert.equal(res.status, status);
    return await res.json();
  };
  // B cannot enrol A's person in B's program, nor anyone in A's program.
  const cross = await problem(
    await t.call("POST", `/programs/${other.programId}/enrollments`, {
      token: b.token,
      json: { end_user_ids: [ada] },
    }),
    404,
  );
  assert.match(cross.detail, new RegExp(`End user ${ada}`));
  await problem(
    await t.call("POST", `/programs/${programId}/enrollments`, {
      token: b.token,
      json: { end_user_ids: [ada] },
    }),
    404,
  );
  // Nor read A's person's profile or badges, nor control their program.
  await problem(await t.call("GET", `/end-users/${ada}/profile`, { token: b.token }), 404);
  await problem(await t.call("GET", `/end-users/${ada}/badges`, { token: b.token }), 404);
  await problem(
    await t.call("POST", `/end-users/${ada}/programs/${programId}/pause`, { token: b.token }),
    404,
  );
  assert.deepEqual((await (await t.call("GET", "/segments", { token: b.token })).json()).data, []);
  // A's own person is fine; nothing was told to their actor by B.
  assert.equal((await t.call("GET", `/end-users/${ada}/profile`, { token: a.token })).status, 200);
  const enrolled = await t.actors.client.ask(userAddress(a.creatorId, ada), "getEnrollments");
  assert.deepEqual(enrolled, []);

  const draft = await (await t.call("POST", "/programs", {
    token: a.token,
    json: {
      name: "Draft",
      flow_definition: { start: "a", steps: [{ id: "a", type: "message", text: "x" }] },
    },
  })).json();
  await problem(
    await t.call("POST", `/programs/${draft.id}/enrollments`, {
      token: a.token,
      json: { end_user_ids: [ada] },
    }),
    409,
  );
  const neither = await problem(
    await t.call("POST", `/programs/${programId}/enrollments`, { token: a.token, json: {} }),
    422,
  );
  assert.deepEqual(neither.errors.map((e: { field: string }) => e.field), ["body.end_user_ids"]);
});

Deno.test("profile API - the learned profile reaches the creator, and segments filter on it", async () => {
  await using env = await setup();
  const { t } = env;
  const a = await t.signup();
  const ada = (await seedEndUser(t, a.creatorId)).endUserId;
  const bo = (await seedEndUser(t, a.creatorId)).endUserId;
  const say = (endUserId: string, id: string, text: string) =>
    t.actors.client.tell(userAddress(a.creatorId, endUserId), "inbound", {
      channel: "telegram",
      connectionId: crypto.randomUUID(),
      creatorId: a.creatorId,
      externalUserId: endUserId,
      externalMessageId: id,
      sentAt: Date.now(),
      content: { type: "text", text },
      endUserId,
      identityId: crypto.randomUUID(),
      receivedAt: Date.now(),
    });
  await say(ada, "1", "Bonjour, je me réveille souvent la nuit et je suis fatiguée le matin.");
  await say(ada, "2", "Merci beaucoup, c'est vraiment gentil et très utile pour moi !");
  await say(bo, "1", "Hello, I keep waking up at night and I am tired in the morning.");
  const profile = await eventually(async () => {
    const p = await (await t.call("GET", `/end-users/${ada}/profile`, { token: a.token })).json();
    return p.insights?.language === "fr" ? p : null;
  }, { what: "ada's learned profile" });
  assert.equal(profile.insights.metrics.messages_sent, 2);
  assert.equal(profile.insights.risk.level, "low");
  assert.ok(profile.reported_at);
  await eventually(async () => {
    const p = await (await t.call("GET", `/end-users/${bo}/profile`, { token: a.token })).json();
    return p.insights !== null;
  });
  const segment = async (q: string) =>
    (await (await t.call("GET", `/segments?${q}`, { token: a.token })).json()).data.map((
      m: { id: string },
    ) => m.id);
  assert.deepEqual(await segment("language=fr"), [ada]);
  assert.deepEqual((await segment("risk=low")).sort(), [ada, bo].sort());
  assert.deepEqual(await segment("risk=high"), []);
});
