import assert from "node:assert/strict";
import { clientPorts, cpuMs, listeningPid, procStat, rssBytes } from "./procfs.ts";

Deno.test("procStat() reads this process's name, CPU time and memory", () => {
  const s = procStat(Deno.pid);
  assert.equal(s?.comm, "deno");
  assert.ok(cpuMs(Deno.pid) > 0);
  assert.ok(rssBytes(Deno.pid) > 1024 * 1024);
  assert.equal(procStat(2 ** 22 + 1), undefined);
});

Deno.test("listeningPid() and clientPorts() find both ends of a loopback connection", async () => {
  using listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  assert.equal(listeningPid(port), Deno.pid);
  using conn = await Deno.connect({ hostname: "127.0.0.1", port });
  using _accepted = await listener.accept();
  assert.deepEqual(clientPorts(Deno.pid, port), [(conn.localAddr as Deno.NetAddr).port]);
});
