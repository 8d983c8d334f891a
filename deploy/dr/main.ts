// deno-lint-ignore-file no-console -- entry point: talks to the terminal
/**
 * `deno task dr-drill [--users N] [--entries N]`: runs the disaster-recovery drill on this
 * machine (Postgres from the embedded binaries, the NATS at TEST_NATS_URL or 127.0.0.1:4222, the
 * Chroma at TEST_CHROMA_URL) and prints the measured RPO and RTO.
 */
import { parseArgs } from "node:util";
import { runDrill } from "./drill.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: { users: { type: "string", default: "2" }, entries: { type: "string", default: "3" } },
});
const started = performance.now();
const report = await runDrill({
  users: Number(values.users),
  entries: Number(values.entries),
  log: (line) => console.log(`  ${line}`),
});
console.log(`recovery target: ${report.recoveryTarget}`);
console.log(
  `kept: ${report.kept.creators} creators, ${report.kept.conversations} conversations, ` +
    `${report.kept.messages} messages, ${report.kept.ledger} ledger entries; dropped after the ` +
    `target: ${report.dropped.creators} creator(s), ${report.dropped.ledger} ledger entries`,
);
console.log(
  `reindex: ${report.reindex.documents} documents, ${report.reindex.chunks} chunks, ` +
    `${report.reindex.profiles} profiles in ${report.reindex.ms} ms`,
);
console.log(
  `RPO ${(report.rpoMs / 1000).toFixed(1)} s (newest archived WAL at the loss; bound ` +
    `archive_timeout = ${report.rpoBoundS} s)`,
);
console.log(`RTO ${(report.rtoMs / 1000).toFixed(1)} s (destruction to verified API)`);
console.log(`drill passed in ${((performance.now() - started) / 1000).toFixed(1)} s`);
