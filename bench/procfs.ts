/**
 * Linux `/proc` readings for the benchmark: CPU time and resident memory of processes, and the
 * machine's description.
 */

/** Clock ticks per second of `/proc/<pid>/stat` times (`getconf CLK_TCK`; 100 on Linux). */
export const CLK_TCK = 100;

export interface ProcStat {
  pid: number;
  comm: string;
  ppid: number;
  /** utime + stime of the process itself, in ms. */
  cpuMs: number;
  /** cutime + cstime: CPU of children it has reaped, in ms. */
  childCpuMs: number;
}

/** Reads `/proc/<pid>/stat`; undefined when the process is gone. */
export function procStat(pid: number): ProcStat | undefined {
  let text: string;
  try {
    text = Deno.readTextFileSync(`/proc/${pid}/stat`);
  } catch {
    return undefined;
  }
  // comm is in parentheses and may contain spaces: split after the last ')'.
  const close = text.lastIndexOf(")");
  const comm = text.slice(text.indexOf("(") + 1, close);
  const f = text.slice(close + 2).split(" ");
  // f[0] is field 3 (state); utime is field 14, so f[11].
  const ticks = (i: number) => Number(f[i]) * 1000 / CLK_TCK;
  return {
    pid,
    comm,
    ppid: Number(f[1]),
    cpuMs: ticks(11) + ticks(12),
    childCpuMs: ticks(13) + ticks(14),
  };
}

/** Every live process whose command name is `comm`. */
export function processesNamed(comm: string): ProcStat[] {
  const out: ProcStat[] = [];
  for (const entry of Deno.readDirSync("/proc")) {
    if (!/^\d+$/.test(entry.name)) continue;
    const s = procStat(Number(entry.name));
    if (s && s.comm === comm) out.push(s);
  }
  return out;
}

/**
 * CPU ms used so far by a server made of several processes (all `postgres` processes, say):
 * the live ones plus what the top ones reaped from children that already exited.
 */
export function groupCpuMs(comm: string): number {
  const procs = processesNamed(comm);
  const pids = new Set(procs.map((p) => p.pid));
  let ms = 0;
  for (const p of procs) ms += p.cpuMs + (pids.has(p.ppid) ? 0 : p.childCpuMs);
  return ms;
}

/** CPU ms used so far by one process; 0 once it is gone. */
export function cpuMs(pid: number): number {
  return procStat(pid)?.cpuMs ?? 0;
}

/** Resident set size of a process in bytes (VmRSS); 0 once it is gone. */
export function rssBytes(pid: number): number {
  try {
    const status = Deno.readTextFileSync(`/proc/${pid}/status`);
    const m = status.match(/^VmRSS:\s+(\d+) kB/m);
    return m ? Number(m[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}

export interface MachineInfo {
  nproc: number;
  cpuModel: string;
  memTotalBytes: number;
  kernel: string;
  loadAvg: string;
}

/** What the figures were measured on. */
export function machineInfo(): MachineInfo {
  const cpuinfo = Deno.readTextFileSync("/proc/cpuinfo");
  const meminfo = Deno.readTextFileSync("/proc/meminfo");
  return {
    nproc: navigator.hardwareConcurrency,
    cpuModel: cpuinfo.match(/^model name\s*:\s*(.+)$/m)?.[1]?.trim() ?? "unknown",
    memTotalBytes: Number(meminfo.match(/^MemTotal:\s+(\d+) kB/m)?.[1] ?? 0) * 1024,
    kernel: Deno.osRelease(),
    loadAvg: Deno.readTextFileSync("/proc/loadavg").split(" ").slice(0, 3).join(" "),
  };
}
