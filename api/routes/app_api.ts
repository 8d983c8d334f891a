/**
 * The end users' own API at `/v1/app`, for the mobile app (and any client acting for one
 * person): registered before the creators' authentication, with its own (end-user tokens).
 */
import type { OpenAPIHono } from "@hono/zod-openapi";
import type { ApiEnv } from "../env.ts";
import type { ActorSystem } from "../../runtime/mod.ts";
import type { KnownPeople } from "../../channels/core/intake.ts";
import type { LinkCodeOptions } from "../../channels/linking/codes.ts";
import type { EndUserTokens } from "../../channels/mobile/tokens.ts";
import type { PushTokenStore } from "../../channels/push/store.ts";
import type { RealtimeHub } from "../../channels/widget/hub.ts";
import { rateLimit } from "../middleware/rate_limit.ts";
import { appRouter, authenticateEndUser } from "./app_auth.ts";
import { registerAppSessions } from "./app_sessions.ts";
import { registerAppMessages } from "./app_messages.ts";
import { registerAppProfile } from "./app_profile.ts";
import { registerAppDevices } from "./app_devices.ts";
import { registerAppLinks } from "./app_links.ts";

export interface AppApiDeps {
  tokens: EndUserTokens;
  /** The node's actor system (asked for profiles and preferences, told what people send). */
  system: () => ActorSystem;
  push: PushTokenStore;
  /** The push providers this node has credentials for. */
  pushProviders: () => string[];
  known?: KnownPeople;
  linkCodes?: LinkCodeOptions;
  /** The real-time layer's fan-out, so messages sent over REST show on the person's sockets. */
  hub?: RealtimeHub;
}

/** Mounts the app API under `/app` of the admin API (`ApiDeps.appRoutes`). */
export function appApi(deps: AppApiDeps) {
  return (api: OpenAPIHono<ApiEnv>) => {
    const app = appRouter();
    const auth = authenticateEndUser(deps.tokens);
    // deno-lint-ignore no-explicit-any -- the admin API's middleware runs on the same context
    const perIp = rateLimit("ip") as any;
    registerAppSessions(app, { tokens: deps.tokens, perIp, auth });
    registerAppMessages(app, { system: deps.system, known: deps.known, hub: deps.hub, auth });
    registerAppProfile(app, { system: deps.system, auth });
    registerAppDevices(app, { store: deps.push, providers: deps.pushProviders, auth });
    registerAppLinks(app, { options: deps.linkCodes, auth });
    api.route("/app", app);
  };
}
