/**
 * GraphiQL for `/v1/graphql`, served by the API from the pinned `@graphql-yoga/graphiql` package
 * (graphql-yoga's own page loads it from a CDN). The page and its files are public and hold no
 * data; queries carry the token given in the page's address (`#token=…`, kept in the tab's
 * session storage) or typed into GraphiQL's headers.
 */
import type { OpenAPIHono } from "@hono/zod-openapi";
import type { ApiEnv } from "../env.ts";
import { DOCS_CSP } from "../docs.ts";

const DIST = new URL("../../node_modules/@graphql-yoga/graphiql/dist/", import.meta.url);
const VERSION = "4.5.0";

const FILES: Record<string, string> = {
  "graphiql.css": "text/css; charset=utf-8",
  "yoga-graphiql.umd.js": "text/javascript; charset=utf-8",
  "monacoeditorwork/editor.worker.bundle.js": "text/javascript; charset=utf-8",
  "monacoeditorwork/json.worker.bundle.js": "text/javascript; charset=utf-8",
  "monacoeditorwork/graphql.worker..bundle.js": "text/javascript; charset=utf-8",
};

const initScript = (base: string) => `
const assets = ${JSON.stringify(`${base}/graphiql/assets/`)};
self.MonacoEnvironment = {
  globalAPI: false,
  getWorkerUrl: (_id, label) => assets + ({
    json: "monacoeditorwork/json.worker.bundle.js",
    graphql: "monacoeditorwork/graphql.worker..bundle.js",
  }[label] ?? "monacoeditorwork/editor.worker.bundle.js") + "?v=${VERSION}",
};
const fromHash = new URLSearchParams(location.hash.slice(1)).get("token");
if (fromHash) {
  sessionStorage.setItem("coachd.token", fromHash);
  history.replaceState(null, "", location.pathname);
}
const token = sessionStorage.getItem("coachd.token");
YogaGraphiQL.renderYogaGraphiQL(document.getElementById("root"), {
  endpoint: ${JSON.stringify(`${base}/graphql`)},
  title: "Coachd GraphQL",
  headers: token ? JSON.stringify({ Authorization: "Bearer " + token }, null, 2) : "",
  shouldPersistHeaders: false,
});
`;

/** Serves GraphiQL at `<base>/graphiql`; register before authentication. */
export function registerGraphiql(app: OpenAPIHono<ApiEnv>, { base = "/v1" } = {}) {
  const cache = new Map<string, Uint8Array<ArrayBuffer>>();
  const asset = (name: string) => `${base}/graphiql/assets/${name}?v=${VERSION}`;
  const page = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Coachd GraphQL</title>
<link rel="stylesheet" href="${asset("graphiql.css")}">
</head>
<body>
<div id="root">Loading GraphiQL…</div>
<script src="${asset("yoga-graphiql.umd.js")}"></script>
<script src="${asset("init.js")}"></script>
</body>
</html>
`;
  const csp = DOCS_CSP.replace("connect-src 'self'", "connect-src 'self'; worker-src 'self' blob:");
  app.get("/graphiql", (c) =>
    c.html(page, 200, {
      "content-security-policy": csp,
      "x-frame-options": "DENY",
      "cache-control": "no-cache",
    }));
  const headers = (type: string) => ({
    "content-type": type,
    "cache-control": "public, max-age=86400",
    "x-content-type-options": "nosniff",
  });
  const init = new TextEncoder().encode(initScript(base));
  app.get(
    "/graphiql/assets/init.js",
    (c) => c.body(init, 200, headers(FILES["yoga-graphiql.umd.js"]!)),
  );
  for (const [name, type] of Object.entries(FILES)) {
    app.get(`/graphiql/assets/${name}`, async (c) => {
      // Read on first use: the bundle is large and most API instances never serve it.
      let body = cache.get(name);
      if (!body) cache.set(name, body = await Deno.readFile(new URL(name, DIST)));
      return c.body(body, 200, headers(type));
    });
  }
}
