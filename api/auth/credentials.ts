import { Buffer } from "node:buffer";
import { hash, verify } from "@node-rs/argon2";
import { jwtVerify, SignJWT } from "jose";

/** Roles in decreasing power. */
export const ROLES = ["owner", "admin", "editor", "viewer"] as const;
export type Role = typeof ROLES[number];

/** Argon2id with the library's defaults (19 MiB, t=2, p=1: OWASP's minimum). */
export function hashPassword(password: string): Promise<string> {
  return hash(password);
}

export async function verifyPassword(stored: string, password: string): Promise<boolean> {
  try {
    return await verify(stored, password);
  } catch {
    return false;
  }
}

/** A fixed hash to verify against when the e-mail is unknown, so timing does not reveal it. */
export const DUMMY_HASH = await hash("coachd-dummy-password");

export function randomToken(prefix: string, bytes = 32): string {
  return prefix + Buffer.from(crypto.getRandomValues(new Uint8Array(bytes))).toString("base64url");
}

export async function sha256Hex(text: string | Uint8Array): Promise<string> {
  const data = typeof text === "string" ? new TextEncoder().encode(text) : text;
  const digest = await crypto.subtle.digest("SHA-256", data as BufferSource);
  return Buffer.from(digest).toString("hex");
}

export interface AccessClaims {
  creatorId: string;
  memberId: string;
  role: Role;
  /** The session (sign-in) the token belongs to; ending it ends the token. */
  sessionId: string;
}

/** Signs and verifies short-lived HS256 access tokens. */
export class AccessTokens {
  constructor(
    readonly secret: Uint8Array,
    readonly ttlSeconds = 900,
    readonly issuer = "coachd",
  ) {}

  sign(claims: AccessClaims): Promise<string> {
    return new SignJWT({ cid: claims.creatorId, role: claims.role, sid: claims.sessionId })
      .setProtectedHeader({ alg: "HS256", typ: "JWT" })
      .setSubject(claims.memberId)
      .setIssuer(this.issuer)
      .setAudience("coachd-admin")
      .setIssuedAt()
      .setExpirationTime(`${this.ttlSeconds}s`)
      .sign(this.secret);
  }

  /**
   * Returns the claims, or null for a token that is malformed, forged, expired, without an
   * expiry, or not of a session. The role in it is what it was at sign-in; the auth middleware
   * reads the current one.
   */
  async verify(token: string): Promise<AccessClaims | null> {
    try {
      const { payload } = await jwtVerify(token, this.secret, {
        issuer: this.issuer,
        audience: "coachd-admin",
        algorithms: ["HS256"],
        requiredClaims: ["exp", "iat", "sub", "sid"],
      });
      const role = payload.role as Role;
      if (typeof payload.cid !== "string" || !payload.sub || !ROLES.includes(role)) return null;
      if (typeof payload.sid !== "string") return null;
      return { creatorId: payload.cid, memberId: payload.sub, role, sessionId: payload.sid };
    } catch {
      return null;
    }
  }
}
