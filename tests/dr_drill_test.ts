/**
 * The disaster-recovery drill (`deno task dr-drill`) with small data: base backup, WAL
 * archive, point-in-time recovery, the vector index rebuilt, and the API showing exactly what
 * was there at the recovery point.
 */
import assert from "node:assert/strict";
import { runDrill } from "../deploy/dr/drill.ts";

Deno.test("dr drill - point-in-time recovery keeps what came before the target and nothing after", async () => {
  const report = await runDrill({ users: 1, entries: 2 });
  assert.equal(report.kept.creators, 2);
  assert.equal(report.kept.conversations, 2);
  assert.equal(report.kept.ledger, 4);
  assert.equal(report.dropped.ledger, 4);
  assert.equal(report.reindex.documents, 2);
  assert.ok(report.reindex.chunks >= 2);
  assert.equal(report.reindex.profiles, 1);
  assert.ok(report.rpoMs >= 0 && report.rpoMs < report.rpoBoundS * 1000);
  assert.ok(report.rtoMs > 0);
});
