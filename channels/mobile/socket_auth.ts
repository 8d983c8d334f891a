/**
 * The mobile app on the real-time socket: its `hello` carries the end-user access token (the
 * one of the REST API), checked against Postgres like every REST call, so a revoked token cannot
 * open a socket either.
 */
import type { SocketAuthenticator, SocketPrincipal } from "../widget/socket.ts";
import { ACCESS_PREFIX, type EndUserTokens } from "./tokens.ts";

export function appTokenAuthenticator(tokens: EndUserTokens): SocketAuthenticator {
  return {
    async authenticate(token, o): Promise<SocketPrincipal | null> {
      if (!token.startsWith(ACCESS_PREFIX)) return null;
      const s = await tokens.verify(token);
      if (!s || !s.connectionId || s.channel !== "mobile_app") return null;
      if (o.connectionId && o.connectionId !== s.connectionId) return null;
      return {
        creatorId: s.creatorId,
        connectionId: s.connectionId,
        channel: "mobile_app",
        externalUserId: s.externalId,
        identified: true,
        endUserId: s.endUserId,
      };
    },
  };
}
