/**
 * Widget sessions and identity verification. A visitor's session token is a JWT (HS256) signed
 * with a key derived from the widget's identity secret, naming the widget (`aud`) and the visitor
 * (`sub`: `v:<random>` for an anonymous visitor, `u:<user id>` for a user the creator's site
 * vouched for). A creator's server vouches for a signed-in user by sending the hex HMAC-SHA256 of
 * the user id made with the same identity secret; a user id without the right HMAC is refused.
 */
import { createHmac, timingSafeEqual } from "node:crypto";
import { jwtVerify, SignJWT } from "jose";

/** Anonymous and identified sessions last this long; the widget renews its token on each load. */
export const SESSION_TTL_S = 30 * 24 * 3600;
const ISSUER = "coachd-widget";

export interface WidgetVisitor {
  /** The channel identity's external id: `v:<uuid>` or `u:<user id>`. */
  externalUserId: string;
  identified: boolean;
  displayName?: string;
}

/** The identity secret is the creator's to compute HMACs with; sessions use a key derived from it. */
function sessionKey(identitySecret: string): Uint8Array {
  return new Uint8Array(
    createHmac("sha256", identitySecret).update("coachd widget session v1").digest(),
  );
}

/** The hex HMAC-SHA256 of `userId` under the widget's identity secret (what a creator's server sends). */
export function identityHash(identitySecret: string, userId: string): string {
  return createHmac("sha256", identitySecret).update(userId).digest("hex");
}

/** True when `hash` is the HMAC of `userId`; compared in constant time. */
export function verifyIdentity(identitySecret: string, userId: string, hash: string): boolean {
  const expected = createHmac("sha256", identitySecret).update(userId).digest();
  // Hashing the given value first makes both sides 32 bytes whatever was sent.
  const given = /^[0-9a-f]{64}$/i.test(hash) ? Buffer.from(hash, "hex") : Buffer.alloc(32, 0);
  return timingSafeEqual(expected, given) && given.length === 32;
}

export async function signSession(
  o: { identitySecret: string; connectionId: string; visitor: WidgetVisitor; nowS?: number },
): Promise<{ token: string; expiresAt: number }> {
  const now = o.nowS ?? Math.floor(Date.now() / 1000);
  const exp = now + SESSION_TTL_S;
  const token = await new SignJWT({
    idn: o.visitor.identified,
    ...(o.visitor.displayName ? { name: o.visitor.displayName } : {}),
  })
    .setProtectedHeader({ alg: "HS256" })
    .setIssuer(ISSUER)
    .setAudience(o.connectionId)
    .setSubject(o.visitor.externalUserId)
    .setIssuedAt(now)
    .setExpirationTime(exp)
    .sign(sessionKey(o.identitySecret));
  return { token, expiresAt: exp * 1000 };
}

/** The visitor of a valid token of this widget, or null (forged, expired, another widget's). */
export async function verifySession(
  o: { identitySecret: string; connectionId: string; token: string },
): Promise<WidgetVisitor | null> {
  try {
    const { payload } = await jwtVerify(o.token, sessionKey(o.identitySecret), {
      issuer: ISSUER,
      audience: o.connectionId,
      algorithms: ["HS256"],
    });
    const sub = payload.sub;
    if (typeof sub !== "string" || !/^(v|u):.{1,190}$/.test(sub)) return null;
    return {
      externalUserId: sub,
      identified: payload.idn === true,
      ...(typeof payload.name === "string" ? { displayName: payload.name } : {}),
    };
  } catch {
    return null;
  }
}

/** Peeks at a token's widget (`aud`) without trusting it, to find the secret that checks it. */
export function tokenAudience(token: string): string | null {
  const part = token.split(".")[1];
  if (!part) return null;
  try {
    const aud = JSON.parse(new TextDecoder().decode(Buffer.from(part, "base64url"))).aud;
    return typeof aud === "string" ? aud : null;
  } catch {
    return null;
  }
}
