/**
 * The API reference page: Swagger UI from the pinned `swagger-ui-dist` package, its files read
 * once when the API is built and served by the API itself, so the page needs no outside network
 * (no CDN, no online validator).
 * @module
 */
import { join } from "node:path";
import type { OpenAPIHono } from "@hono/zod-openapi";
import swaggerUiPath from "swagger-ui-dist/absolute-path.js";
import type { ApiEnv } from "./env.ts";

interface Asset {
  body: Uint8Array<ArrayBuffer>;
  type: string;
}

/** Sets up Swagger UI on the page's container, whose `data-url` names the OpenAPI document. */
const INIT_SCRIPT = `window.addEventListener("load", () => {
  const root = document.getElementById("swagger-ui");
  window.ui = SwaggerUIBundle({ url: root.dataset.url, domNode: root, validatorUrl: null });
});
`;

const PACKAGE_FILES: Record<string, string> = {
  "swagger-ui.css": "text/css; charset=utf-8",
  "swagger-ui-bundle.js": "text/javascript; charset=utf-8",
  "favicon-32x32.png": "image/png",
};

/** Reads the Swagger UI files the page uses, and the package's version for cache busting. */
function readAssets(): { version: string; assets: Map<string, Asset> } {
  const dir: string = swaggerUiPath();
  const { version } = JSON.parse(Deno.readTextFileSync(join(dir, "package.json")));
  const assets = new Map<string, Asset>();
  for (const [name, type] of Object.entries(PACKAGE_FILES)) {
    assets.set(name, { body: Deno.readFileSync(join(dir, name)), type });
  }
  assets.set("init.js", {
    body: new TextEncoder().encode(INIT_SCRIPT),
    type: "text/javascript; charset=utf-8",
  });
  return { version, assets };
}

/**
 * What the page may load: its own scripts, styles and the spec, nothing from elsewhere, and it may
 * not be framed. Swagger UI sets inline styles and uses data: images for its icons.
 */
export const DOCS_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "font-src 'self' data:",
  "connect-src 'self'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
  "form-action 'none'",
].join("; ");

const escapeAttr = (text: string) =>
  text.replaceAll("&", "&amp;").replaceAll('"', "&quot;").replaceAll("<", "&lt;");

/**
 * Serves the reference page at `<base>/docs` and its files at `<base>/docs/assets/<name>`.
 * @param app the API, before authentication (the page and its files are public)
 * @param options `base`: where the API is mounted; `specUrl`: the OpenAPI document's URL
 */
export function registerDocs(
  app: OpenAPIHono<ApiEnv>,
  { base = "/v1", specUrl = `${base}/openapi.json`, title = "Coachd admin API" }: {
    base?: string;
    specUrl?: string;
    title?: string;
  } = {},
): void {
  const { version, assets } = readAssets();
  const asset = (name: string) => escapeAttr(`${base}/docs/assets/${name}?v=${version}`);
  const page = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeAttr(title)}</title>
<link rel="icon" type="image/png" href="${asset("favicon-32x32.png")}">
<link rel="stylesheet" href="${asset("swagger-ui.css")}">
</head>
<body>
<div id="swagger-ui" data-url="${escapeAttr(specUrl)}"></div>
<script src="${asset("swagger-ui-bundle.js")}"></script>
<script src="${asset("init.js")}"></script>
</body>
</html>
`;
  app.get("/docs", (c) =>
    c.html(page, 200, {
      "content-security-policy": DOCS_CSP,
      "x-frame-options": "DENY",
      "cache-control": "no-cache",
    }));
  for (const [name, { body, type }] of assets) {
    app.get(`/docs/assets/${name}`, (c) =>
      c.body(body, 200, {
        "content-type": type,
        // The page asks for `?v=<package version>`, so a new version is a new URL.
        "cache-control": "public, max-age=86400",
        "x-content-type-options": "nosniff",
      }));
  }
}
