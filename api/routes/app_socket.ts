/**
 * The mobile app's real-time socket, `GET /app/v1/socket`: the same versioned protocol as the
 * widget's (docs/widget.md: hello with the token and the last message id seen, message, typing,
 * history, ping), authenticated by the end-user access token in the `hello` frame. A native app
 * sends no Origin, so there is no origin check; the token is the credential. Messages are rate
 * limited per person like the app's REST calls.
 */
import { Hono } from "hono";
import { upgradeWebSocket } from "hono/deno";
import type pg from "pg";
import { type SocketDeps, SocketSession } from "../../channels/widget/socket.ts";
import { hit } from "../middleware/rate_limit.ts";

export function appSocketRoutes(
  o: {
    pool: pg.Pool;
    socket: Omit<SocketDeps, "allow">;
    /** Messages per person per window over the socket. */
    limits: { messagesPerPerson: number; windowMs: number };
  },
) {
  const app = new Hono();
  app.get(
    "/app/v1/socket",
    upgradeWebSocket(() => {
      const allow = async (bucket: string, kind: "visitor" | "key") =>
        kind === "key" ||
        (await hit(o.pool, `app:m:${bucket}`, o.limits.windowMs)).count <=
          o.limits.messagesPerPerson;
      let session: SocketSession | undefined;
      return {
        onOpen: (_evt, ws) => {
          session = new SocketSession({ ...o.socket, allow }, {
            send: (frame) => ws.send(JSON.stringify(frame)),
            close: (code, reason) => ws.close(code, reason),
          });
        },
        onMessage: (evt) => {
          if (typeof evt.data !== "string") {
            return session?.onText("binary frames are not part of the protocol");
          }
          session?.onText(evt.data);
        },
        onClose: () => session?.onClose(),
        onError: () => session?.onClose(),
      };
    }),
  );
  return app;
}
