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
 * The processes of one server: the process named `comm` listening on `port` and its children
 * (a postmaster and its backends), or every process named `comm` when the listener cannot be
 * found (another user's `/proc/<pid>/fd` is not readable without root).
 */
export function serverProcesses(comm: string, port?: number): ProcStat[] {
  const all = processesNamed(comm);
  const listener = port === undefined ? undefined : listeningPid(port);
  const root = all.find((p) => p.pid === listener);
  if (!root) return all;
  return [root, ...all.filter((p) => p.ppid === root.pid)];
}

/**
 * The Postgres processes doing our work on a shared server: its auxiliary processes (WAL writer,
 * checkpointer, ...) and the backends serving `clients` (processes holding connections to it) or
 * connected to `database`. A backend's title names its database and client port:
 * `postgres: 15/main: postgres test 127.0.0.1(53412) idle`.
 */
export function postgresProcesses(
  port: number,
  { clients = [], database }: { clients?: number[]; database?: string },
): ProcStat[] {
  const server = serverProcesses("postgres", port);
  const ports = new Set(clients.flatMap((pid) => clientPorts(pid, port)));
  return server.filter((p) => {
    const title = cmdline(p.pid);
    const client = title.match(/ \S+\((\d+)\)/);
    if (!client) return true;
    return ports.has(Number(client[1])) ||
      (database !== undefined && title.includes(` ${database} `));
  });
}

/**
 * CPU ms used so far by a server made of several processes (see {@link serverProcesses}): the
 * live ones, plus, with `reaped`, what their parents reaped from children that already exited.
 */
export function groupCpuMs(procs: ProcStat[], { reaped = true } = {}): number {
  const pids = new Set(procs.map((p) => p.pid));
  let ms = 0;
  for (const p of procs) ms += p.cpuMs + (reaped && !pids.has(p.ppid) ? p.childCpuMs : 0);
  return ms;
}

function cmdline(pid: number): string {
  try {
    return Deno.readTextFileSync(`/proc/${pid}/cmdline`).replaceAll("\0", " ");
  } catch {
    return "";
  }
}

interface TcpSocket {
  localPort: number;
  remotePort: number;
  state: string;
}

/** Every TCP socket of the network namespace, by inode. */
function tcpSockets(): Map<string, TcpSocket> {
  const out = new Map<string, TcpSocket>();
  for (const table of ["/proc/net/tcp", "/proc/net/tcp6"]) {
    let text = "";
    try {
      text = Deno.readTextFileSync(table);
    } catch {
      continue;
    }
    for (const line of text.split("\n").slice(1)) {
      // sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode
      const f = line.trim().split(/\s+/);
      if (!f[9]) continue;
      out.set(`socket:[${f[9]}]`, {
        localPort: parseInt(f[1]?.split(":")[1] ?? "", 16),
        remotePort: parseInt(f[2]?.split(":")[1] ?? "", 16),
        state: f[3] ?? "",
      });
    }
  }
  return out;
}

function socketLinks(pid: number): string[] {
  const out: string[] = [];
  try {
    for (const fd of Deno.readDirSync(`/proc/${pid}/fd`)) {
      try {
        const link = Deno.readLinkSync(`/proc/${pid}/fd/${fd.name}`);
        if (link.startsWith("socket:")) out.push(link);
      } catch {
        // closed meanwhile
      }
    }
  } catch {
    // gone, or not ours to read
  }
  return out;
}

/** Local ports of the TCP connections process `pid` holds to `remotePort`. */
export function clientPorts(pid: number, remotePort: number): number[] {
  const sockets = tcpSockets();
  return socketLinks(pid).map((l) => sockets.get(l)).filter((s): s is TcpSocket =>
    s?.remotePort === remotePort
  ).map((s) => s.localPort);
}

/** The pid of the process listening on a local TCP port, if it can be found. */
export function listeningPid(port: number): number | undefined {
  const listening = new Set(
    [...tcpSockets()].filter(([, s]) => s.state === "0A" && s.localPort === port).map(([k]) => k),
  );
  if (listening.size === 0) return undefined;
  for (const entry of Deno.readDirSync("/proc")) {
    if (!/^\d+$/.test(entry.name)) continue;
    if (socketLinks(Number(entry.name)).some((l) => listening.has(l))) return Number(entry.name);
  }
  return undefined;
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

/** Sums the CPU of a changing set of processes, which may exit before the end. */
export interface CpuTracker {
  /** CPU ms the selected processes used since the tracker started. */
  stop(): number;
}

/**
 * Samples `select()` every `intervalMs` and keeps each process's last reading, so a process that
 * exits before the end (a pgbench backend, say) still counts, up to its last sample.
 */
export function trackCpu(select: () => ProcStat[], intervalMs = 200): CpuTracker {
  const first = new Map<number, number>();
  const last = new Map<number, number>();
  const sample = (initial: boolean) => {
    for (const p of select()) {
      if (!first.has(p.pid)) first.set(p.pid, initial ? p.cpuMs : 0);
      last.set(p.pid, p.cpuMs);
    }
  };
  sample(true);
  const timer = setInterval(() => sample(false), intervalMs);
  return {
    stop() {
      clearInterval(timer);
      sample(false);
      let ms = 0;
      for (const [pid, v] of last) ms += v - (first.get(pid) ?? 0);
      return ms;
    },
  };
}
