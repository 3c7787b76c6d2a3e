import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { readFileSync } from "node:fs";
import os from "node:os";

/**
 * Child processes of the benchmark, CPU pinning and per-process measurements (resident memory, CPU time). Every child
 * is registered so that {@link killAll} can end it however the run ends: normally, on an error, or on Ctrl-C.
 */

/** CPU placement of the run: which core each part runs on, or why nothing is pinned. */
export interface Pinning {
  /** True when the gateway gets core 0 and everything else core 1. */
  pinned: boolean;
  /** Shown in the report. */
  description: string;
}

const children = new Set<ChildProcess>();
const tails = new WeakMap<ChildProcess, { text: string }>();
const TAIL_CHARS = 8_000;

/** Whether `taskset` exists and this machine offers at least two cores to this process. */
export function pinningAvailable(): { ok: true } | { ok: false; reason: string } {
  const probe = spawnSync("taskset", ["-p", String(process.pid)], { encoding: "utf8" });
  if (probe.error || probe.status !== 0) return { ok: false, reason: "taskset is not installed" };
  const allowed = cpusAllowed();
  if (allowed.length < 2 || !allowed.includes(0) || !allowed.includes(1)) {
    return { ok: false, reason: `cores 0 and 1 are not both available (allowed: ${allowed.join(",") || "unknown"})` };
  }
  return { ok: true };
}

/** The CPUs this process may run on (from /proc), or every CPU when that cannot be read. */
export function cpusAllowed(pid: number | "self" = "self"): number[] {
  try {
    const line = readFileSync(`/proc/${pid}/status`, "utf8").match(/^Cpus_allowed_list:\s*(.+)$/m)?.[1] ?? "";
    return line.split(",").flatMap((part) => {
      const [a, b] = part.split("-").map(Number);
      return b === undefined ? [a] : Array.from({ length: b - a + 1 }, (_, i) => a + i);
    });
  } catch {
    return os.cpus().map((_, i) => i);
  }
}

/** Moves a running process (all its threads) to the given cores. Returns false when taskset refuses. */
export function repin(pid: number, cores: string): boolean {
  return spawnSync("taskset", ["-a", "-p", "-c", cores, String(pid)], { stdio: "ignore" }).status === 0;
}

export interface SpawnOptions {
  env: NodeJS.ProcessEnv;
  /** `taskset -c <cores>` in front of the command, when set. */
  cores?: string;
  /** Keep stdin as a pipe (the mock exits when it closes). */
  stdinPipe?: boolean;
}

/** Spawns and registers a child; stdout and stderr are pipes the caller reads. */
export function spawnChild(command: string, args: string[], options: SpawnOptions): ChildProcess {
  // taskset execs the command, so the child's pid is the command's own (its /proc entry is the one to read).
  const [file, argv] = options.cores ? ["taskset", ["-c", options.cores, command, ...args]] : [command, args];
  const child = spawn(file, argv, { env: options.env, stdio: [options.stdinPipe ? "pipe" : "ignore", "pipe", "pipe"] });
  children.add(child);
  child.once("exit", () => children.delete(child));
  // The last output is kept to explain a failure; reading it also keeps the pipes from filling up.
  const tail = { text: "" };
  tails.set(child, tail);
  const keep = (chunk: Buffer) => {
    tail.text = (tail.text + chunk.toString()).slice(-TAIL_CHARS);
  };
  child.stdout?.on("data", keep);
  child.stderr?.on("data", keep);
  return child;
}

/** The last few thousand characters a child wrote (stdout and stderr interleaved). */
export function outputTail(child: ChildProcess): string {
  return tails.get(child)?.text.trim() ?? "";
}

/**
 * Resolves with the first match of `pattern` in the child's stdout, or rejects when the child exits first or
 * `timeoutMs` passes (the error carries the tail of its output, to show why).
 */
export function waitForOutput(child: ChildProcess, pattern: RegExp, timeoutMs: number, what: string): Promise<RegExpMatchArray> {
  return new Promise((resolve, reject) => {
    let out = "";
    const onOut = (chunk: Buffer) => {
      out += chunk.toString();
      const match = out.match(pattern);
      if (match) {
        cleanup();
        resolve(match);
      }
    };
    const onExit = (code: number | null, signal: string | null) => {
      cleanup();
      reject(new Error(`${what} exited (${signal ?? `code ${code}`}) before it was ready:\n${outputTail(child)}`));
    };
    const timer = setTimeout(() => {
      cleanup();
      reject(new Error(`${what} was not ready within ${timeoutMs / 1000} s:\n${outputTail(child)}`));
    }, timeoutMs);
    const cleanup = () => {
      clearTimeout(timer);
      child.stdout?.off("data", onOut);
      child.off("exit", onExit);
    };
    child.stdout?.on("data", onOut);
    child.once("exit", onExit);
  });
}

/** Sends SIGTERM and waits up to `graceMs` for the exit, then SIGKILL. Resolves once the process is gone. */
export async function stopChild(child: ChildProcess, graceMs = 10_000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  child.kill("SIGTERM");
  const timer = setTimeout(() => child.kill("SIGKILL"), graceMs);
  await exited;
  clearTimeout(timer);
}

/** Ends every registered child that is still running. */
export async function killAll(graceMs = 3_000): Promise<void> {
  await Promise.all([...children].map((child) => stopChild(child, graceMs)));
}

/** The same, synchronously, for `process.on("exit")`: SIGKILL to whatever is left. */
export function killAllNow(): void {
  for (const child of children) {
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
  }
}

/** Resident memory of a process in MB (VmRSS), or null when it has gone. */
export function residentMb(pid: number): number | null {
  try {
    const kb = readFileSync(`/proc/${pid}/status`, "utf8").match(/^VmRSS:\s*(\d+)\s*kB/m)?.[1];
    return kb === undefined ? null : Number(kb) / 1024;
  } catch {
    return null;
  }
}

const TICKS_PER_SECOND = 100;

/** CPU time (user + system) a process has used so far, in seconds, or null when it has gone. */
export function cpuSeconds(pid: number): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // Fields after the command name, which is in parentheses and may contain spaces: utime and stime are 14th and 15th.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND;
  } catch {
    return null;
  }
}

/**
 * Time a CPU core has been busy so far (user, nice, system, irq, softirq and steal: anything but idle and I/O wait), in
 * seconds, from /proc/stat; null when it cannot be read.
 */
export function coreBusySeconds(core: number): number | null {
  try {
    const line = readFileSync("/proc/stat", "utf8").match(new RegExp(`^cpu${core} (.+)$`, "m"))?.[1];
    if (!line) return null;
    const [user, nice, system, , , irq, softirq, steal] = line.trim().split(/\s+/).map(Number);
    return (user + nice + system + irq + softirq + (steal || 0)) / TICKS_PER_SECOND;
  } catch {
    return null;
  }
}

/**
 * Samples a process's resident memory every `intervalMs` until stopped. `mark` labels the samples that follow, so
 * peaks can be attributed to a phase.
 */
export class MemorySampler {
  private timer: NodeJS.Timeout | undefined;
  private label = "idle";
  readonly samples: Array<{ at: number; label: string; mb: number }> = [];

  constructor(
    private readonly pid: number,
    private readonly intervalMs = 100,
  ) {}

  start(): void {
    this.timer = setInterval(() => this.sample(), this.intervalMs);
    this.timer.unref();
  }

  mark(label: string): void {
    this.label = label;
    this.sample();
  }

  sample(): number | null {
    const mb = residentMb(this.pid);
    if (mb !== null) this.samples.push({ at: Date.now(), label: this.label, mb });
    return mb;
  }

  /** The largest sample taken under a label matching `filter`. */
  peak(filter: (label: string) => boolean): { mb: number; label: string } | null {
    let best: { mb: number; label: string } | null = null;
    for (const s of this.samples) if (filter(s.label) && (!best || s.mb > best.mb)) best = { mb: s.mb, label: s.label };
    return best;
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
  }
}

/**
 * For a server the run starts as a child (the mock, the bare proxy): announces its port on stdout as `{"port": N}` (what
 * the run waits for), and closes it when the run ends — stdin closing (the run is gone), SIGTERM or SIGINT.
 */
export function serveUntilParentEnds(server: { port: number; close(): Promise<void> }): void {
  process.stdout.write(`${JSON.stringify({ port: server.port })}\n`);
  const stop = () => {
    void server.close().finally(() => process.exit(0));
  };
  process.stdin.on("end", stop).on("error", stop).resume();
  process.once("SIGTERM", stop);
  process.once("SIGINT", stop);
}
