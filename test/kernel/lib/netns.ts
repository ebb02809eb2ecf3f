// Network namespaces for the kernel tests: create/destroy with unique names, veth pairs among them,
// `ip netns exec` with timeouts, background processes, and clean-up on afterAll, failure and signals.
//
// Every name is `nfr-<pid>-<tag>-<role>`, so parallel test files (vitest forks) never collide, and a
// namespace left behind by a killed run is recognisable (its pid is dead) and swept by the next run.
// Nothing here touches the root namespace: veth pairs are created directly inside the namespaces
// (`ip -n A link add X type veth peer name Y netns B`), never in the root namespace and moved.
import { execFile, execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';

export interface ExecResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface ExecOptions {
  input?: string | Buffer;
  timeoutMs?: number;
  /** Do not throw on a non-zero exit status. */
  allowFail?: boolean;
}

const TOOLS = ['ip', 'iptables-legacy-restore', 'iptables-legacy-save', 'conntrack', 'tcpdump', 'tcpreplay', 'python3'];
const PATH_DIRS = (process.env.PATH ?? '').split(':');

function which(tool: string): string | undefined {
  for (const d of PATH_DIRS) if (d && existsSync(`${d}/${tool}`)) return `${d}/${tool}`;
  return undefined;
}

let availability: string | null | undefined;

/** null when the kernel tests can run here; otherwise a one-line reason why not. */
export function kernelAvailable(): string | null {
  if (availability !== undefined) return availability;
  availability = probe();
  return availability;
}

function probe(): string | null {
  if (process.platform !== 'linux') return `kernel tests skipped: platform is ${process.platform}, not linux`;
  if (typeof process.getuid === 'function' && process.getuid() !== 0) {
    return 'kernel tests skipped: not root (they need network namespaces and iptables)';
  }
  const missing = TOOLS.filter((t) => !which(t));
  if (missing.length) {
    return `kernel tests skipped: missing ${missing.join(', ')} (apt-get install iptables conntrack tcpdump tcpreplay iproute2 python3)`;
  }
  // Root in a container without CAP_SYS_ADMIN/CAP_NET_ADMIN: try a namespace for real.
  const name = `nfr-${process.pid}-probe`;
  try {
    execFileSync('ip', ['netns', 'add', name], { stdio: 'pipe', timeout: 10_000 });
    execFileSync('ip', ['netns', 'exec', name, 'iptables-legacy-save'], { stdio: 'pipe', timeout: 10_000 });
  } catch (e) {
    const msg = String((e as { stderr?: Buffer }).stderr ?? e).split('\n')[0];
    return `kernel tests skipped: cannot create a network namespace with iptables (${msg})`;
  } finally {
    try { execFileSync('ip', ['netns', 'del', name], { stdio: 'pipe', timeout: 10_000 }); } catch { /* not created */ }
  }
  return null;
}

let printed = false;
/**
 * Print the skip reason once per test run: vitest runs each file in its own fork of one parent, so a
 * marker named after the parent's pid keeps `npm test` to a single line.
 */
export function reportSkip(reason: string): void {
  if (printed) return;
  printed = true;
  const marker = `${tmpdir()}/nfr-kernel-skip-${process.ppid}`;
  try {
    writeFileSync(marker, reason, { flag: 'wx' });
  } catch {
    return; // another file of this run printed it
  }
  process.stdout.write(`${reason}\n`);
}

/** Run a command, collecting output; rejects on timeout or (unless allowFail) non-zero exit. */
export function run(argv: string[], opts: ExecOptions = {}): Promise<ExecResult> {
  return new Promise((resolve, reject) => {
    const child = execFile(argv[0], argv.slice(1), {
      timeout: opts.timeoutMs ?? 30_000,
      maxBuffer: 512 * 1024 * 1024,
      encoding: 'utf8',
      killSignal: 'SIGKILL',
    }, (err, stdout, stderr) => {
      const e = err as (NodeJS.ErrnoException & { code?: number | string; killed?: boolean }) | null;
      const code = e ? (typeof e.code === 'number' ? e.code : -1) : 0;
      if (e && e.killed) {
        reject(new Error(`timeout after ${opts.timeoutMs ?? 30_000} ms: ${argv.join(' ')}`));
        return;
      }
      if (code !== 0 && !opts.allowFail) {
        reject(new Error(`exit ${code}: ${argv.join(' ')}\n${stderr}${stdout.slice(0, 2000)}`));
        return;
      }
      resolve({ code, stdout, stderr });
    });
    if (opts.input !== undefined) child.stdin!.end(opts.input);
    else child.stdin!.end();
  });
}

/** A process running in the background inside a namespace (tcpdump). */
export interface Background {
  proc: ChildProcess;
  /** Send SIGINT (tcpdump flushes and exits cleanly) and wait; SIGKILL after timeoutMs. */
  stop(timeoutMs?: number): Promise<ExecResult>;
  /** Collected stderr so far. */
  stderr(): string;
}

const live = new Set<Lab>();
let handlersInstalled = false;

function installHandlers(): void {
  if (handlersInstalled) return;
  handlersInstalled = true;
  const syncCleanup = () => { for (const lab of live) lab.destroySync(); };
  process.on('exit', syncCleanup);
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.once(sig, () => { syncCleanup(); process.kill(process.pid, sig); });
  }
}

/** Delete namespaces `nfr-<pid>-*` whose process no longer exists (left by a killed run). */
export function sweepStale(): string[] {
  let names: string[] = [];
  try { names = readdirSync('/run/netns'); } catch { return []; }
  const gone: string[] = [];
  for (const n of names) {
    const m = /^nfr-(\d+)-/.exec(n);
    if (!m) continue;
    const pid = Number(m[1]);
    if (pid === process.pid) continue;
    let alive = true;
    try { process.kill(pid, 0); } catch (e) { alive = (e as NodeJS.ErrnoException).code === 'EPERM'; }
    if (alive) continue;
    try { execFileSync('ip', ['netns', 'del', n], { stdio: 'pipe', timeout: 10_000 }); gone.push(n); } catch { /* raced */ }
  }
  return gone;
}

/**
 * A set of namespaces owned by one test file (or one case). `tag` makes the names unique within the
 * process; the pid makes them unique across processes.
 */
export class Lab {
  readonly prefix: string;
  private readonly namespaces: string[] = [];
  private readonly bg = new Set<ChildProcess>();
  private macSeq = 0;

  constructor(tag: string) {
    if (!/^[a-z0-9-]{1,24}$/.test(tag)) throw new Error(`bad lab tag '${tag}'`);
    this.prefix = `nfr-${process.pid}-${tag}`;
    installHandlers();
    live.add(this);
  }

  /** Create namespace `<prefix>-<role>` with lo up; returns its name. */
  async ns(role: string): Promise<string> {
    const name = `${this.prefix}-${role}`;
    await run(['ip', 'netns', 'add', name]);
    this.namespaces.push(name);
    await this.exec(name, ['ip', 'link', 'set', 'lo', 'up']);
    return name;
  }

  /**
   * A veth pair between two namespaces, both ends up, with deterministic locally administered
   * MACs (02:6e:66:00:xx:yy). Returns the MACs.
   */
  async veth(nsA: string, ifA: string, nsB: string, ifB: string, mtu = 1500): Promise<{ macA: string; macB: string }> {
    const macA = this.nextMac();
    const macB = this.nextMac();
    await run(['ip', '-n', nsA, 'link', 'add', ifA, 'address', macA, 'mtu', String(mtu), 'type', 'veth',
      'peer', 'name', ifB, 'address', macB, 'mtu', String(mtu), 'netns', nsB]);
    await run(['ip', '-n', nsA, 'link', 'set', ifA, 'up']);
    await run(['ip', '-n', nsB, 'link', 'set', ifB, 'up']);
    return { macA, macB };
  }

  private nextMac(): string {
    const n = ++this.macSeq;
    const hex = (v: number) => v.toString(16).padStart(2, '0');
    return `02:6e:66:00:${hex((n >> 8) & 0xff)}:${hex(n & 0xff)}`;
  }

  /** `ip netns exec NS argv...` */
  exec(ns: string, argv: string[], opts: ExecOptions = {}): Promise<ExecResult> {
    return run(['ip', 'netns', 'exec', ns, ...argv], opts);
  }

  async sysctl(ns: string, name: string, value: string | number): Promise<void> {
    await this.exec(ns, ['sysctl', '-q', '-w', `${name}=${value}`]);
  }

  async readSysctl(ns: string, name: string): Promise<string> {
    return (await this.exec(ns, ['sysctl', '-n', name])).stdout.trim();
  }

  /** Start argv in the namespace in the background. */
  spawn(ns: string, argv: string[]): Background {
    const proc = spawn('ip', ['netns', 'exec', ns, ...argv], { stdio: ['ignore', 'pipe', 'pipe'] });
    this.bg.add(proc);
    let out = '';
    let err = '';
    proc.stdout!.setEncoding('utf8').on('data', (d: string) => { out += d; });
    proc.stderr!.setEncoding('utf8').on('data', (d: string) => { err += d; });
    const done = new Promise<number>((resolve) => {
      proc.on('exit', (code, signal) => { this.bg.delete(proc); resolve(code ?? (signal ? 128 : -1)); });
      proc.on('error', () => { this.bg.delete(proc); resolve(-1); });
    });
    return {
      proc,
      stderr: () => err,
      stop: async (timeoutMs = 5000) => {
        if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGINT');
        const timer = setTimeout(() => proc.kill('SIGKILL'), timeoutMs);
        const code = await done;
        clearTimeout(timer);
        return { code, stdout: out, stderr: err };
      },
    };
  }

  /** Delete one namespace of this lab now. */
  async drop(ns: string): Promise<void> {
    const i = this.namespaces.indexOf(ns);
    if (i < 0) return;
    this.namespaces.splice(i, 1);
    await run(['ip', 'netns', 'del', ns], { allowFail: true });
  }

  /** Kill background processes and delete every namespace of this lab. Safe to call twice. */
  async destroy(): Promise<void> {
    for (const p of this.bg) p.kill('SIGKILL');
    this.bg.clear();
    while (this.namespaces.length) {
      const n = this.namespaces.pop()!;
      await run(['ip', 'netns', 'del', n], { allowFail: true });
    }
    live.delete(this);
  }

  /** Synchronous variant for process exit and signals. */
  destroySync(): void {
    for (const p of this.bg) { try { p.kill('SIGKILL'); } catch { /* gone */ } }
    this.bg.clear();
    while (this.namespaces.length) {
      const n = this.namespaces.pop()!;
      try { execFileSync('ip', ['netns', 'del', n], { stdio: 'pipe', timeout: 10_000 }); } catch { /* gone */ }
    }
    live.delete(this);
  }
}
