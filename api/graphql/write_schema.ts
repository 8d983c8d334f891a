// deno-lint-ignore-file no-console -- entry point: talks to the terminal
/** `deno task graphql-schema`: writes api/graphql/schema.graphql from the code-first schema. */
import { printedSchema } from "./schema.ts";

const path = new URL("./schema.graphql", import.meta.url);
await Deno.writeTextFile(path, printedSchema());
console.log(`wrote ${path.pathname}`);
