/**
 * The built-in analytics page for creators at `/v1/dashboard`: charts drawn with the pinned
 * `uplot` package, served by the API itself (no CDN). The page and its files are public and hold no
 * data; it signs in with the creator's admin token (an access token or API key, typed in or given
 * as `#token=…`, kept in the tab's session storage) and reads the figures with the dashboard's
 * persisted GraphQL operation.
 */
import type { OpenAPIHono } from "@hono/zod-openapi";
import type { ApiEnv } from "../env.ts";
import { DOCS_CSP } from "../docs.ts";
import { DASHBOARD_QUERY, sha256 } from "../graphql/persisted.ts";

const UPLOT = new URL("../../node_modules/uplot/dist/", import.meta.url);
const UPLOT_VERSION = "1.6.32";

const PAGE_CSS = `
body { font: 14px/1.4 system-ui, sans-serif; margin: 0; color: #1d2530; background: #f6f7f9; }
header { display: flex; gap: 1rem; align-items: center; padding: .8rem 1.2rem; background: #fff;
  border-bottom: 1px solid #dde1e6; flex-wrap: wrap; }
header h1 { font-size: 1.1rem; margin: 0 1rem 0 0; }
header form { display: flex; gap: .8rem; align-items: center; flex-wrap: wrap; }
header label { display: flex; gap: .3rem; align-items: center; }
input, select, button { font: inherit; padding: .25rem .4rem; }
main { display: grid; grid-template-columns: repeat(auto-fit, minmax(560px, 1fr)); gap: 1rem;
  padding: 1rem; }
section { background: #fff; border: 1px solid #dde1e6; border-radius: 6px; padding: .8rem; }
section h2 { font-size: 1rem; margin: 0 0 .5rem; }
table { border-collapse: collapse; width: 100%; }
td, th { border-bottom: 1px solid #eef0f3; padding: .2rem .4rem; text-align: right; }
td:first-child, th:first-child { text-align: left; }
.note { color: #5b6675; font-size: .85rem; }
#error { color: #b3261e; }
`;

const PAGE_JS = (base: string) => `
const GRAPHQL = ${JSON.stringify(`${base}/graphql`)};
const HASH = ${JSON.stringify(sha256(DASHBOARD_QUERY))};
const $ = (id) => document.getElementById(id);
const fromHash = new URLSearchParams(location.hash.slice(1)).get("token");
if (fromHash) {
  sessionStorage.setItem("coachd.token", fromHash);
  history.replaceState(null, "", location.pathname + location.search);
}
const day = (d) => d.toISOString().slice(0, 10);
const params = new URLSearchParams(location.search);
$("to").value = params.get("to") ?? day(new Date());
$("from").value = params.get("from") ?? day(new Date(Date.now() - 29 * 864e5));
$("tz").value = params.get("tz") ?? Intl.DateTimeFormat().resolvedOptions().timeZone ?? "UTC";
$("token").value = sessionStorage.getItem("coachd.token") ?? "";
const charts = [];
const epoch = (d) => Date.parse(d + "T00:00:00Z") / 1000;
function chart(el, title, series, data, opts = {}) {
  el.innerHTML = "";
  if (!data[0].length) { el.textContent = "No data in this range."; return; }
  charts.push(new uPlot({
    title, width: Math.max(480, el.clientWidth - 10), height: 240,
    series: [{}, ...series], ...opts,
  }, data, el));
}
function table(el, columns, rows) {
  const head = "<tr>" + columns.map((c) => "<th>" + c[1] + "</th>").join("") + "</tr>";
  const body = rows.map((r) => "<tr>" + columns.map((c) => {
    const v = r[c[0]];
    return "<td>" + (r.suppressed && typeof v !== "string" ? "<5" : v ?? "") + "</td>";
  }).join("") + "</tr>").join("");
  el.innerHTML = rows.length ? "<table>" + head + body + "</table>" : "No data in this range.";
}
async function load() {
  const token = $("token").value.trim();
  sessionStorage.setItem("coachd.token", token);
  $("error").textContent = "";
  const res = await fetch(GRAPHQL, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: "Bearer " + token },
    body: JSON.stringify({
      variables: { range: { from: $("from").value, to: $("to").value, tz: $("tz").value } },
      extensions: { persistedQuery: { version: 1, sha256Hash: HASH } },
    }),
  });
  const body = await res.json().catch(() => ({}));
  if (!res.ok || body.errors) {
    $("error").textContent = body.errors?.[0]?.message ?? body.detail ?? ("HTTP " + res.status);
    return;
  }
  const a = body.data.analytics;
  while (charts.length) charts.pop().destroy();
  $("group").textContent = "Rows about fewer than " + a.minGroup + " people are shown as <" +
    a.minGroup + ". Days in " + a.tz + ".";
  // Every day of the range: no row is a day without messages (0), a suppressed row stays empty.
  const days = [];
  for (let t = epoch(a.from); t <= epoch(a.to); t += 86400) days.push(t);
  const all = new Map(a.engagement.filter((r) => r.channel === "all")
    .map((r) => [epoch(r.period), r]));
  const on = (t, k) => (all.has(t) ? all.get(t)[k] : 0);
  chart($("engagement"), "Active users and messages per day", [
    { label: "active users", stroke: "#2b6cb0", width: 2 },
    { label: "messages", stroke: "#9f7aea", width: 2 },
  ], [days, days.map((t) => on(t, "users")), days.map((t) => on(t, "messages"))]);
  chart($("answers"), "Refusal and handoff rate", [
    { label: "refusal rate", stroke: "#c05621", width: 2 },
    { label: "handoff rate", stroke: "#2f855a", width: 2 },
  ], [a.answers.map((r) => epoch(r.period)), a.answers.map((r) => r.refusalRate),
    a.answers.map((r) => r.handoffRate)]);
  const byHour = a.nudges.filter((r) => r.hour !== null);
  const hours = [...new Set(byHour.map((r) => r.hour))].sort((x, y) => x - y);
  const triggers = [...new Set(byHour.map((r) => r.trigger))];
  const colors = ["#2b6cb0", "#c05621", "#2f855a", "#b83280", "#718096"];
  chart($("nudges"), "Nudge reply rate within 24 h by hour sent", triggers.map((t, i) => ({
    label: t, stroke: colors[i % colors.length], width: 2,
  })), [hours, ...triggers.map((t) => hours.map((h) =>
    byHour.find((r) => r.trigger === t && r.hour === h)?.replyRate ?? null))],
    { scales: { x: { time: false } } });
  const weeks = [...new Set(a.retention.map((r) => r.week))].sort((x, y) => x - y);
  const cohorts = [...new Set(a.retention.map((r) => r.cohort))];
  table($("retention"), [["cohort", "cohort"], ["users", "people"],
    ...weeks.map((w) => ["w" + w, "week " + w])], cohorts.map((c) => {
    const rows = a.retention.filter((r) => r.cohort === c);
    const row = { cohort: c, users: rows[0].users, suppressed: rows[0].suppressed };
    for (const r of rows) row["w" + r.week] = r.rate === null ? null : Math.round(r.rate * 100) + "%";
    return row;
  }));
  table($("unanswered"), [["topic", "topic"], ["questions", "questions"], ["users", "people"]],
    a.unansweredTopics);
  table($("deliveries"), [["channel", "channel"], ["status", "status"],
    ["deliveries", "deliveries"]], a.deliveries);
  document.body.dataset.loaded = "true";
}
$("form").addEventListener("submit", (e) => { e.preventDefault(); load(); });
if ($("token").value) load();
`;

/** Serves the page at `<base>/dashboard` and its files; register before authentication. */
export function registerAnalyticsPage(app: OpenAPIHono<ApiEnv>, { base = "/v1" } = {}) {
  const asset = (name: string) => `${base}/dashboard/assets/${name}?v=${UPLOT_VERSION}`;
  const page = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Coachd analytics</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="${asset("uPlot.min.css")}">
<link rel="stylesheet" href="${asset("page.css")}">
</head>
<body>
<header>
<h1>Coachd analytics</h1>
<form id="form">
<label>Admin token <input id="token" type="password" autocomplete="off" size="24"></label>
<label>From <input id="from" type="date"></label>
<label>To <input id="to" type="date"></label>
<label>Time zone <input id="tz" size="16"></label>
<button type="submit">Show</button>
</form>
<span id="error" role="alert"></span>
</header>
<p class="note" id="group" style="margin: .6rem 1.2rem 0"></p>
<main>
<section><h2>Engagement</h2><div id="engagement"></div></section>
<section><h2>Answer quality</h2><div id="answers"></div></section>
<section><h2>Nudges</h2><div id="nudges"></div></section>
<section><h2>Retention (weekly cohorts)</h2><div id="retention"></div></section>
<section><h2>Questions the coach could not answer</h2><div id="unanswered"></div></section>
<section><h2>Delivery health</h2><div id="deliveries"></div></section>
</main>
<script src="${asset("uPlot.iife.min.js")}"></script>
<script src="${asset("page.js")}"></script>
</body>
</html>
`;
  const enc = (s: string) => new TextEncoder().encode(s);
  const files = new Map<string, { type: string; body?: Uint8Array<ArrayBuffer>; file?: string }>([
    ["uPlot.iife.min.js", { type: "text/javascript; charset=utf-8", file: "uPlot.iife.min.js" }],
    ["uPlot.min.css", { type: "text/css; charset=utf-8", file: "uPlot.min.css" }],
    ["page.js", { type: "text/javascript; charset=utf-8", body: enc(PAGE_JS(base)) }],
    ["page.css", { type: "text/css; charset=utf-8", body: enc(PAGE_CSS) }],
  ]);
  app.get("/dashboard", (c) =>
    c.html(page, 200, {
      "content-security-policy": DOCS_CSP,
      "x-frame-options": "DENY",
      "cache-control": "no-cache",
    }));
  for (const [name, f] of files) {
    app.get(`/dashboard/assets/${name}`, async (c) => {
      f.body ??= await Deno.readFile(new URL(f.file!, UPLOT));
      return c.body(f.body, 200, {
        "content-type": f.type,
        "cache-control": "public, max-age=86400",
        "x-content-type-options": "nosniff",
      });
    });
  }
}
