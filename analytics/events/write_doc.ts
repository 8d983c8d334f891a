// deno-lint-ignore-file no-console -- entry point: talks to the terminal
/** `deno task events-doc`: writes docs/events.md from the event catalog (formatted by deno fmt). */
import { formattedEventsDoc } from "./doc.ts";

const path = new URL("../../docs/events.md", import.meta.url);
await Deno.writeTextFile(path, await formattedEventsDoc());
console.log(`wrote ${path.pathname}`);
