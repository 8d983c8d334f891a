/**
 * GraphQL at `/v1/graphql` (graphql-yoga): behind the same authentication, roles and rate limits
 * as REST, resolvers in the caller's tenant transaction; documents deeper than `MAX_DEPTH` or
 * costlier than `MAX_COST` are refused before they run; persisted operations are allowed.
 */
import type { OpenAPIHono } from "@hono/zod-openapi";
import { createYoga } from "graphql-yoga";
import type { GraphQLSchema } from "graphql";
import { usePersistedOperations } from "@graphql-yoga/plugin-persisted-operations";
import { maxDepthPlugin } from "@escape.tech/graphql-armor-max-depth";
import { costLimitPlugin } from "@escape.tech/graphql-armor-cost-limit";
import type { ApiEnv } from "../env.ts";
import type { Analytics } from "../../analytics/mod.ts";
import { requireRole } from "../middleware/auth.ts";
import { ALL_ROLES } from "../lib/route.ts";
import { buildSchema, type GraphqlContext } from "./schema.ts";
import { PERSISTED_OPERATIONS } from "./persisted.ts";

/** Deepest selection accepted (introspection aside); the dashboard's query is 3 deep. */
export const MAX_DEPTH = 6;
/** Highest cost accepted (graphql-armor's measure: 2 per object, 1 per scalar, ×1.5 a level). */
export const MAX_COST = 1000;

// The schema is plain data built from the report definitions: built once per process.
let schema: GraphQLSchema | undefined;

export function registerGraphql(app: OpenAPIHono<ApiEnv>, analytics: Analytics) {
  const yoga = createYoga<GraphqlContext>({
    schema: schema ??= buildSchema(),
    graphqlEndpoint: "/v1/graphql",
    graphiql: false,
    landingPage: false,
    // Errors thrown by resolvers are masked unless they are GraphQLErrors (bad input).
    maskedErrors: true,
    plugins: [
      maxDepthPlugin({ n: MAX_DEPTH, ignoreIntrospection: true, exposeLimits: true }),
      costLimitPlugin({ maxCost: MAX_COST, ignoreIntrospection: true, exposeLimits: true }),
      usePersistedOperations({
        getPersistedOperation: (hash) => PERSISTED_OPERATIONS.get(hash) ?? null,
        allowArbitraryOperations: true,
      }),
    ],
  });
  app.on(
    ["GET", "POST"],
    "/graphql",
    requireRole(...ALL_ROLES),
    (c) => yoga.fetch(c.req.raw, { auth: c.get("auth"), analytics }),
  );
}
