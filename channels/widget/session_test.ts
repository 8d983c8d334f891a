import assert from "node:assert/strict";
import {
  identityHash,
  signSession,
  tokenAudience,
  verifyIdentity,
  verifySession,
} from "./session.ts";

const SECRET = "wis_test-secret-0123456789";
const WIDGET = "7f1c2b8e-7d0a-4a57-9a43-0d3c1f0a9b11";

Deno.test("verifyIdentity() - accepts the HMAC of the user id, refuses another id, secret or garbage", () => {
  const hash = identityHash(SECRET, "alice");
  assert.equal(verifyIdentity(SECRET, "alice", hash), true);
  assert.equal(verifyIdentity(SECRET, "alice", hash.toUpperCase()), true);
  assert.equal(verifyIdentity(SECRET, "bob", hash), false);
  assert.equal(verifyIdentity("wis_other", "alice", hash), false);
  assert.equal(verifyIdentity(SECRET, "alice", hash.slice(0, 10)), false);
  assert.equal(verifyIdentity(SECRET, "alice", "zz".repeat(32)), false);
});

Deno.test("verifySession() - a token of this widget verifies; another widget's, an expired or re-signed one does not", async () => {
  const visitor = { externalUserId: "u:alice", identified: true, displayName: "Alice" };
  const { token } = await signSession({ identitySecret: SECRET, connectionId: WIDGET, visitor });
  assert.equal(tokenAudience(token), WIDGET);
  assert.deepEqual(
    await verifySession({ identitySecret: SECRET, connectionId: WIDGET, token }),
    visitor,
  );
  assert.equal(
    await verifySession({ identitySecret: SECRET, connectionId: crypto.randomUUID(), token }),
    null,
  );
  assert.equal(
    await verifySession({ identitySecret: "wis_other", connectionId: WIDGET, token }),
    null,
  );
  const old = await signSession({
    identitySecret: SECRET,
    connectionId: WIDGET,
    visitor,
    nowS: Math.floor(Date.now() / 1000) - 31 * 24 * 3600,
  });
  assert.equal(
    await verifySession({ identitySecret: SECRET, connectionId: WIDGET, token: old.token }),
    null,
  );
  assert.equal(
    await verifySession({ identitySecret: SECRET, connectionId: WIDGET, token: "x.y.z" }),
    null,
  );
});
