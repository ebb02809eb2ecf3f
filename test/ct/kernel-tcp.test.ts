// Differential test against the running kernel: the same TCP/UDP frames go into a router network
// namespace (conntrack active through --ctstate rules) and into the core; after every packet the
// kernel's ctstate (from which FORWARD rule counted it), conntrack -L state, timeout and [ASSURED]
// must equal the core's. Skips with one line when namespaces/iptables are not available.
import { describe, it, expect, afterAll } from 'vitest';
import { execFileSync, spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { createInterface } from 'node:readline';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as L from '../../src/layout.js';
import { buildFrame, buildIPv4, icmpQuote, type FrameSpec } from '../../src/pcap/craft.js';
import { defaultHost } from '../../src/host/index.js';
import { TCP_STATE_NAMES, SCTP_STATE_NAMES, formatConntrack } from '../../src/report/conntrack.js';
import { kernelAvailable, reportSkip } from '../kernel/lib/netns.js';
import { makeCore, put, ct, ctinfo, w, unw, type Core } from './harness.js';

const skip = kernelAvailable();
if (skip) reportSkip(skip);

interface Step { sleep?: number; note: string; f?: string; seq?: number; ack?: number; dir?: 'r'; sport?: number; len?: number; win?: number; ws?: number; proto?: 'udp' | 'sctp'; spec?: FrameSpec }
const CLI = '192.0.2.50', SRV = '203.0.113.9';
const sh = (...a: string[]) => execFileSync(a[0], a.slice(1), { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 20_000 });
const tmp = mkdtempSync(join(tmpdir(), 'nfr-ct-k-'));
const made: string[] = [];
afterAll(() => {
  for (const n of made) { try { sh('ip', 'netns', 'del', n); } catch { /* gone */ } }
  rmSync(tmp, { recursive: true, force: true });
});

class Router {
  readonly a: string; readonly r: string; readonly b: string; readonly x: string; readonly w: string;
  macY = ''; macZ = '';
  prev = [0, 0, 0, 0];
  constructor(tag: string, sysctl: Record<string, number>, extra: string[][] = []) {
    const s = `nfct${process.pid % 100000}${tag}`;
    this.a = s + 'a'; this.r = s + 'r'; this.b = s + 'b'; this.x = s + 'x'; this.w = s + 'w';
    for (const n of [this.a, this.r, this.b]) { sh('ip', 'netns', 'add', n); made.push(n); }
    sh('ip', 'link', 'add', this.x, 'netns', this.a, 'type', 'veth', 'peer', 'name', s + 'y', 'netns', this.r);
    sh('ip', 'link', 'add', s + 'z', 'netns', this.r, 'type', 'veth', 'peer', 'name', this.w, 'netns', this.b);
    for (const [n, i] of [[this.a, this.x], [this.r, s + 'y'], [this.r, s + 'z'], [this.b, this.w]]) sh('ip', '-n', n, 'link', 'set', i, 'up');
    sh('ip', '-n', this.r, 'addr', 'add', '192.0.2.1/24', 'dev', s + 'y');
    sh('ip', '-n', this.r, 'addr', 'add', '198.51.100.1/24', 'dev', s + 'z');
    sh('ip', '-n', this.r, 'route', 'add', 'default', 'via', '198.51.100.254');
    sh('ip', '-n', this.r, 'neigh', 'add', '198.51.100.254', 'lladdr', '02:00:00:00:00:aa', 'dev', s + 'z', 'nud', 'permanent');
    sh('ip', '-n', this.r, 'neigh', 'add', CLI, 'lladdr', '02:00:00:00:00:bb', 'dev', s + 'y', 'nud', 'permanent');
    sh('ip', 'netns', 'exec', this.r, 'sysctl', '-qw', 'net.ipv4.ip_forward=1');
    for (const [k, v] of Object.entries(sysctl)) sh('ip', 'netns', 'exec', this.r, 'sysctl', '-qw', `${k}=${v}`);
    for (const st of ['INVALID', 'NEW', 'ESTABLISHED', 'RELATED']) {
      sh('ip', 'netns', 'exec', this.r, 'iptables-legacy', '-A', 'FORWARD', '-m', 'conntrack', '--ctstate', st, '-j', 'ACCEPT');
    }
    for (const cmd of extra) sh('ip', 'netns', 'exec', this.r, ...cmd);
    for (let h = 10; h <= 12; h++) sh('ip', '-n', this.r, 'neigh', 'add', `192.0.2.${h}`, 'lladdr', '02:00:00:00:00:cc', 'dev', s + 'y', 'nud', 'permanent');
    const mac = (ns: string, i: string) => JSON.parse(sh('ip', '-n', ns, '-j', 'link', 'show', i))[0].address as string;
    this.macY = mac(this.r, s + 'y');
    this.macZ = mac(this.r, s + 'z');
  }
  private inj?: ChildProcessWithoutNullStreams;
  private answers: string[] = [];
  private waiting?: (l: string) => void;
  async send(f: Uint8Array, out: boolean): Promise<void> {
    if (!this.inj) {
      this.inj = spawn('python3', [new URL('./inject-stdin.py', import.meta.url).pathname, `${this.a}:${this.x}`, `${this.b}:${this.w}`]);
      createInterface({ input: this.inj.stdout }).on('line', (l) => {
        if (this.waiting) { const w = this.waiting; this.waiting = undefined; w(l); } else this.answers.push(l);
      });
    }
    this.inj.stdin.write(`${out ? 0 : 1} ${Buffer.from(f).toString('hex')}\n`);
    const ans = this.answers.length ? this.answers.shift()! : await new Promise<string>((r) => { this.waiting = r; });
    if (ans !== 'ok') throw new Error(`inject: ${ans}`);
  }
  close(): void { this.inj?.stdin.end(); }
  /** Which --ctstate rule counted the last packet, and the conntrack -L fields of `sport`'s entry. */
  observe(sport: number, proto: string): { cls: string; state: string; timeout: number; assured: boolean } {
    const both = sh('ip', 'netns', 'exec', this.r, 'sh', '-c', `iptables-legacy -L FORWARD -v -x -n; echo ===; conntrack -L -p ${proto} 2>/dev/null`);
    const [ipt, ctl] = both.split('===');
    const cnt = ipt.split('\n').filter((l) => /ctstate/.test(l)).map((l) => Number(l.trim().split(/\s+/)[0]));
    const i = cnt.findIndex((v, k) => v !== this.prev[k]);
    this.prev = cnt;
    const cls = ['INVALID', 'NEW', 'ESTABLISHED', 'RELATED'][i] ?? 'none';
    const line = ctl.split('\n').find((l) => l.includes(`sport=${sport} `));
    if (!line) return { cls, state: '-', timeout: -1, assured: false };
    const m = line.split(/\s+/);
    return { cls, state: proto === 'tcp' || proto === 'sctp' ? m[3] : '', timeout: Number(m[2]), assured: /\[ASSURED\]/.test(line) };
  }
}

function coreObserve(c: Core, sport: number, proto: string): { cls: string; state: string; timeout: number; assured: boolean } {
  const info = ctinfo(c);
  const cls = info === L.CTINFO_INVALID ? 'INVALID' : info === L.CTINFO_NEW ? 'NEW'
    : info === L.CTINFO_RELATED || info === L.CTINFO_RELATED_REPLY ? 'RELATED' : 'ESTABLISHED';
  const k = ct(c);
  if (k && P_dir(c) === 0) c.x.ctConfirm();
  // the entry of this connection (the packet may carry none: INVALID)
  for (let e = c.x.ctFirst(); e; e = c.x.ctNext(e)) {
    const sp = c.x.ctPort(e, 0, 0);
    if (sp === sport && (c.x.ctProto(e) === (proto === 'tcp' ? 6 : proto === 'sctp' ? 132 : 17))) {
      const state = proto === 'tcp' ? TCP_STATE_NAMES[c.x.ctTcpState(e)] : proto === 'sctp' ? SCTP_STATE_NAMES[c.x.ctTcpState(e)] : '';
      return { cls, state, timeout: c.x.ctExpiresSec(e), assured: (c.x.ctStatus(e) & L.IPS_ASSURED) !== 0 };
    }
  }
  return { cls, state: '-', timeout: -1, assured: false };
}
const P_dir = (c: Core) => c.dv().getUint8(c.pkt + L.P_CTDIR);

async function differential(tag: string, steps: Step[], sysctl: Record<string, number> = {}): Promise<void> {
  const k = new Router(tag, sysctl);
  const c = makeCore({ host: { ...defaultHost(), sysctl } });
  const rows: string[] = [];
  const t0 = performance.now();
  for (const st of steps) {
    if (st.sleep) { await new Promise((r) => setTimeout(r, st.sleep! * 1000)); continue; }
    const out = st.dir !== 'r';
    const sport = st.sport ?? 40000;
    const proto = st.proto ?? 'tcp';
    const f = st.spec ? buildFrame({ dstMac: out ? k.macY : k.macZ, src: out ? CLI : SRV, dst: out ? SRV : CLI, sport: out ? sport : 80, dport: out ? 80 : sport, ...st.spec }) : buildFrame({
      proto, dstMac: out ? k.macY : k.macZ, src: out ? CLI : SRV, dst: out ? SRV : CLI,
      sport: out ? sport : 80, dport: out ? 80 : sport, flags: st.f ?? '', seq: st.seq ?? 0, ack: st.ack ?? 0,
      window: st.win ?? 65535, payload: st.len ?? 0, tcpOptions: st.ws !== undefined ? new Uint8Array([1, 3, 3, st.ws]) : undefined,
    });
    // the core gets the packet at the (real) time the kernel got it: the kernel's timers run on
    const t = 1000 + (performance.now() - t0) / 1000;
    await k.send(f, out);
    const kern = k.observe(sport, proto);
    // on a loaded machine sending and reading conntrack -L can take seconds of the kernel's timer
    const lag = Math.ceil((1000 + (performance.now() - t0) / 1000) - t);
    put(c, f, { t });
    c.x.ctIn();
    const core = coreObserve(c, sport, proto);
    // the kernel prints the timeout a little after the packet: the same second, or one less, plus
    // whatever time the send and the read took (timeouts of different states differ by far more)
    const tOk = Math.abs(kern.timeout - core.timeout) <= 1 + lag;
    rows.push(`${st.note}: kernel ${kern.cls} ${kern.state} ${kern.timeout}${kern.assured ? ' A' : ''} / core ${core.cls} ${core.state} ${core.timeout}${core.assured ? ' A' : ''}`);
    try {
      expect({ cls: core.cls, state: core.state, assured: core.assured, timeoutMatches: tOk }, rows.join('\n'))
        .toEqual({ cls: kern.cls, state: kern.state, assured: kern.assured, timeoutMatches: true });
    } catch (e) { k.close(); throw e; }
  }
  k.close();
}

describe.skipIf(skip !== null)('conntrack vs the kernel (frames injected into a router namespace)', () => {
  it('handshake, data, out-of-window, FIN both ways, reopen', async () => {
    await differential('c', [
      { note: 'SYN', f: 'S', seq: 1000 },
      { note: 'SYN retransmit', f: 'S', seq: 1000 },
      { note: 'SYN/ACK', dir: 'r', f: 'SA', seq: 5000, ack: 1001 },
      { note: 'ACK', f: 'A', seq: 1001, ack: 5001 },
      { note: 'data', f: 'PA', seq: 1001, ack: 5001, len: 100 },
      { note: 'ack data', dir: 'r', f: 'A', seq: 5001, ack: 1101 },
      { note: 'seq over window', f: 'PA', seq: 300000, ack: 5001, len: 10 },
      { note: 'ack over upper bound', f: 'A', seq: 1101, ack: 900000 },
      { note: 'ACK again', f: 'A', seq: 1101, ack: 5001 },
      { note: 'ACK repeat 1', f: 'A', seq: 1101, ack: 5001 },
      { note: 'ACK repeat 2', f: 'A', seq: 1101, ack: 5001 },
      { note: 'ACK repeat 3', f: 'A', seq: 1101, ack: 5001 },
      { note: 'FIN', f: 'FA', seq: 1101, ack: 5001 },
      { note: 'ack FIN', dir: 'r', f: 'A', seq: 5001, ack: 1102 },
      { note: 'server FIN', dir: 'r', f: 'FA', seq: 5001, ack: 1102 },
      { note: 'last ACK', f: 'A', seq: 1102, ack: 5002 },
      { note: 'reopen SYN', f: 'S', seq: 90000 },
    ]);
  }, 60_000);

  it('RSTs, invalid first packets, pickup, simultaneous open, window scaling', async () => {
    await differential('r', [
      { note: 'SYN', f: 'S', seq: 1000, sport: 1 },
      { note: 'SYN/ACK', dir: 'r', f: 'SA', seq: 5000, ack: 1001, sport: 1 },
      { note: 'ACK', f: 'A', seq: 1001, ack: 5001, sport: 1 },
      { note: 'RST', f: 'R', seq: 1001, sport: 1 },
      { note: 'SYN', f: 'S', seq: 1000, sport: 2 },
      { note: 'refused', dir: 'r', f: 'RA', seq: 0, ack: 1001, sport: 2 },
      { note: 'first SYN/ACK', f: 'SA', seq: 1, ack: 1, sport: 3 },
      { note: 'first FIN', f: 'FA', seq: 1, ack: 1, sport: 4 },
      { note: 'SYN|FIN', f: 'SF', seq: 1, sport: 5 },
      { note: 'pickup', f: 'A', seq: 7777, ack: 8888, sport: 6 },
      { note: 'simul SYN', f: 'S', seq: 1000, sport: 7 },
      { note: 'simul SYN reply', dir: 'r', f: 'S', seq: 5000, sport: 7 },
      { note: 'simul SYN/ACK', f: 'SA', seq: 1000, ack: 5001, sport: 7 },
      { note: 'simul ACK', dir: 'r', f: 'A', seq: 5001, ack: 1001, sport: 7 },
      { note: 'ws SYN', f: 'S', seq: 1000, sport: 8, ws: 7 },
      { note: 'ws SYN/ACK', dir: 'r', f: 'SA', seq: 5000, ack: 1001, sport: 8, win: 1000, ws: 7 },
      { note: 'ACK', f: 'A', seq: 1001, ack: 5001, sport: 8 },
      { note: 'srv ACK', dir: 'r', f: 'A', seq: 5001, ack: 1001, sport: 8, win: 1000 },
      { note: 'data +100000', f: 'PA', seq: 101001, ack: 5001, len: 10, sport: 8 },
      { note: 'no-ws SYN', f: 'S', seq: 1000, sport: 9 },
      { note: 'ws SYN/ACK', dir: 'r', f: 'SA', seq: 5000, ack: 1001, sport: 9, win: 1000, ws: 7 },
      { note: 'ACK', f: 'A', seq: 1001, ack: 5001, sport: 9 },
      { note: 'srv ACK', dir: 'r', f: 'A', seq: 5001, ack: 1001, sport: 9, win: 1000 },
      { note: 'data +100000', f: 'PA', seq: 101001, ack: 5001, len: 10, sport: 9 },
    ]);
  }, 60_000);

  it('tcp_loose=0 and tcp_be_liberal=1', async () => {
    await differential('l', [{ note: 'pickup, loose 0', f: 'A', seq: 7777, ack: 8888, sport: 6 }], { 'net.netfilter.nf_conntrack_tcp_loose': 0 });
    await differential('b', [
      { note: 'SYN', f: 'S', seq: 1000 },
      { note: 'SYN/ACK', dir: 'r', f: 'SA', seq: 5000, ack: 1001 },
      { note: 'ACK', f: 'A', seq: 1001, ack: 5001 },
      { note: 'seq over window, liberal', f: 'PA', seq: 300000, ack: 5001, len: 10 },
    ], { 'net.netfilter.nf_conntrack_tcp_be_liberal': 1 });
  }, 60_000);
});

describe.skipIf(skip !== null)('NAT choices vs the kernel', () => {
  it('DNAT address range: the same jhash2 pick per client; a port range starts at its low port', async () => {
    const k = new Router('n', {}, [
      ['iptables-legacy', '-t', 'nat', '-A', 'PREROUTING', '-d', '198.51.100.1', '-p', 'udp', '--dport', '53', '-j', 'DNAT', '--to-destination', '192.0.2.10-192.0.2.12'],
      ['iptables-legacy', '-t', 'nat', '-A', 'PREROUTING', '-d', '198.51.100.1', '-p', 'tcp', '--dport', '80', '-j', 'DNAT', '--to-destination', '192.0.2.10:8000-8010'],
    ]);
    const c = makeCore();
    const clients = ['203.0.113.5', '203.0.113.6', '203.0.113.77', '198.18.1.2', '198.18.200.9', '203.0.113.250'];
    const got: string[] = [], want: string[] = [];
    for (const [i, cl] of clients.entries()) {
      const f = buildFrame({ proto: 'udp', dstMac: k.macZ, src: cl, dst: '198.51.100.1', sport: 1000 + i, dport: 53 });
      await k.send(f, false);
      const line = sh('ip', 'netns', 'exec', k.r, 'conntrack', '-L', '-p', 'udp', '--orig-src', cl).split('\n')[0];
      got.push(/src=\S+ dst=\S+ sport=\d+ dport=\d+ (?:\[UNREPLIED\] )?src=(\S+)/.exec(line)?.[1] ?? '?');
      put(c, f, { ifindex: 1 });
      c.x.ctIn();
      c.x.natSetup(L.MANIP_DST, L.NAT_MAP_IPS, w('192.0.2.10'), w('192.0.2.12'), 0, 0);
      c.x.natManip(L.MANIP_DST);
      want.push(unw(c.dv().getUint32(c.pkt + L.P_DADDR, true)));
      c.x.ctAbort();
    }
    expect(new Set(got).size).toBeGreaterThan(1); // the clients do not all land on one address
    expect(want).toEqual(got);
    const f = buildFrame({ proto: 'tcp', dstMac: k.macZ, src: '203.0.113.5', dst: '198.51.100.1', sport: 999, dport: 80, flags: 'S', seq: 1 });
    await k.send(f, false);
    const line = sh('ip', 'netns', 'exec', k.r, 'conntrack', '-L', '-p', 'tcp').split('\n')[0];
    expect(/src=192\.0\.2\.10 dst=203\.0\.113\.5 sport=(\d+)/.exec(line)?.[1]).toBe('8000');
    k.close();
  }, 60_000);

  it('implicit source-port remap of a null binding happens in the kernel too', async () => {
    const k = new Router('m', {}, [
      ['iptables-legacy', '-t', 'nat', '-A', 'POSTROUTING', '-s', '192.0.2.50', '-j', 'SNAT', '--to-source', '192.0.2.60'],
    ]);
    for (const src of ['192.0.2.50', '192.0.2.60']) {
      await k.send(buildFrame({ proto: 'udp', dstMac: k.macY, src, dst: SRV, sport: 5000, dport: 53 }), true);
    }
    const lines = sh('ip', 'netns', 'exec', k.r, 'conntrack', '-L', '-p', 'udp').split('\n').filter((l) => l.includes('dport=53'));
    const b = lines.find((l) => /^\S+\s+17\s+\d+ src=192\.0\.2\.60 /.test(l))!;
    const remapped = Number(/dst=192\.0\.2\.60 sport=53 dport=(\d+)/.exec(b)![1]);
    expect(remapped).not.toBe(5000);
    expect(remapped).toBeGreaterThanOrEqual(1024);
    k.close();
  }, 60_000);

  it('conntrack -L lines (UDP, ICMP, GRE, TCP) equal our formatter\'s, timeouts aside', async () => {
    // GRE version 0 carrying a small IPv4 packet (a NATed GRE packet needs 8 bytes after the header)
    const greV0 = new Uint8Array([0, 0, 0x08, 0, ...buildFrame({ link: 'raw', proto: 'udp', payload: 4 })]);
    const k = new Router('f', {}, [
      ['iptables-legacy', '-t', 'nat', '-A', 'POSTROUTING', '-o', `nfct${process.pid % 100000}fz`, '-j', 'MASQUERADE'],
    ]);
    const c = makeCore();
    const frames: [FrameSpec, boolean][] = [
      [{ proto: 'udp', src: CLI, dst: SRV, sport: 5353, dport: 53 }, true],
      [{ proto: 'udp', src: SRV, dst: '198.51.100.1', sport: 53, dport: 5353 }, false],
      [{ proto: 'udp', src: CLI, dst: SRV, sport: 5354, dport: 53 }, true],
      [{ proto: 'icmp', src: CLI, dst: SRV, icmpType: 8, icmpId: 42 }, true],
      [{ proto: 47, src: CLI, dst: SRV, payload: greV0 }, true],
      [{ proto: 47, src: SRV, dst: '198.51.100.1', payload: greV0 }, false],
      [{ proto: 47, src: CLI, dst: SRV, payload: greV0 }, true],
      [{ proto: 'tcp', src: CLI, dst: SRV, sport: 41000, dport: 80, flags: 'S', seq: 100 }, true],
      [{ proto: 'tcp', src: SRV, dst: '198.51.100.1', sport: 80, dport: 41000, flags: 'SA', seq: 900, ack: 101 }, false],
      [{ proto: 'tcp', src: CLI, dst: SRV, sport: 41000, dport: 80, flags: 'A', seq: 101, ack: 901 }, true],
      [{ proto: 'tcp', src: CLI, dst: SRV, sport: 41001, dport: 80, flags: 'S', seq: 100 }, true],
    ];
    for (const [spec, out] of frames) {
      const f = buildFrame({ ...spec, dstMac: out ? k.macY : k.macZ });
      await k.send(f, out);
      put(c, f, { t: 1000, ifindex: out ? 0 : 1 });
      c.x.ctIn();
      if (c.x.natNeeded(L.MANIP_DST)) c.x.natNullBinding(L.MANIP_DST);
      c.x.natManip(L.MANIP_DST);
      c.x.routeInput();
      if (c.x.natNeeded(L.MANIP_SRC)) c.x.natMasquerade(0, 0, 0);
      c.x.natManip(L.MANIP_SRC);
      c.x.ctConfirm();
    }
    const strip = (l: string) => l.replace(/^(\S+\s+\d+) \d+ /, '$1 T ').trim();
    const kern = sh('ip', 'netns', 'exec', k.r, 'conntrack', '-L').split('\n').filter((l) => /^\w+\s+\d+ /.test(l)).map(strip).sort();
    const ours = formatConntrack(c.mem.buffer as ArrayBuffer, c.x.ctTable() >>> 0, 1000n * 250n, 250).split('\n').filter(Boolean).map(strip).sort();
    expect(ours).toEqual(kern);
    k.close();
  }, 60_000);

  it('SCTP association: states, timeouts, vtag checks', async () => {
    const A = 0x0a0a0a0a, B = 0x0b0b0b0b;
    const be = (v: number) => [v >>> 24, (v >>> 16) & 255, (v >>> 8) & 255, v & 255];
    const init = (tag: number) => new Uint8Array([...be(tag), 0, 1, 0, 0, 0, 1, 0, 1, 0, 0, 0, 1]);
    const sc = (vtag: number, chunks: { type: number; flags?: number; data?: Uint8Array }[]): FrameSpec => ({ proto: 'sctp', vtag, chunks });
    await differential('s', [
      { note: 'INIT', proto: 'sctp', spec: sc(0, [{ type: 1, data: init(A) }]) },
      { note: 'INIT_ACK', proto: 'sctp', dir: 'r', spec: sc(A, [{ type: 2, data: init(B) }]) },
      { note: 'COOKIE_ECHO', proto: 'sctp', spec: sc(B, [{ type: 10, data: new Uint8Array(8) }]) },
      { note: 'COOKIE_ACK', proto: 'sctp', dir: 'r', spec: sc(A, [{ type: 11 }]) },
      { note: 'DATA', proto: 'sctp', spec: sc(B, [{ type: 0, data: new Uint8Array(16) }]) },
      { note: 'DATA bad vtag', proto: 'sctp', spec: sc(0x1234, [{ type: 0, data: new Uint8Array(16) }]) },
      { note: 'SHUTDOWN', proto: 'sctp', spec: sc(B, [{ type: 7, data: new Uint8Array(4) }]) },
      { note: 'SHUTDOWN_ACK', proto: 'sctp', dir: 'r', spec: sc(A, [{ type: 8 }]) },
      { note: 'SHUTDOWN_COMPLETE', proto: 'sctp', spec: sc(B, [{ type: 14 }]) },
      { note: 'INIT vtag!=0', proto: 'sctp', sport: 2, spec: sc(5, [{ type: 1, data: init(A) }]) },
      { note: 'OOTB ABORT', proto: 'sctp', sport: 3, spec: sc(5, [{ type: 6 }]) },
      { note: 'HEARTBEAT', proto: 'sctp', sport: 4, spec: sc(7, [{ type: 4, data: new Uint8Array(8) }]) },
    ]);
  }, 60_000);

  it('UDP stream rule (2 s), ICMP echo and RELATED errors', async () => {
    const quoted = icmpQuote(buildIPv4({ proto: 'udp', src: CLI, dst: SRV, sport: 7000, dport: 80 }));
    await differential('u', [
      { note: 'udp out', proto: 'udp', sport: 7000, spec: { proto: 'udp' } },
      { note: 'udp reply', proto: 'udp', sport: 7000, dir: 'r', spec: { proto: 'udp' } },
      { note: 'udp out 2', proto: 'udp', sport: 7000, spec: { proto: 'udp' } },
      { note: 'port unreachable (RELATED)', proto: 'udp', sport: 7000, dir: 'r', spec: { proto: 'icmp', icmpType: 3, icmpCode: 3, inner: quoted } },
      { sleep: 2.2, note: '' },
      { note: 'udp out after 2 s', proto: 'udp', sport: 7000, spec: { proto: 'udp' } },
      { note: 'udp unreplied', proto: 'udp', sport: 7001, spec: { proto: 'udp' } },
    ]);
  }, 60_000);

  it('MASQUERADE keeps a free port and remaps a clash within its class (<512, 512-1023, >=1024)', async () => {
    const k = new Router('q', {}, [['iptables-legacy', '-t', 'nat', '-A', 'POSTROUTING', '-o', `nfct${process.pid % 100000}qz`, '-j', 'MASQUERADE']]);
    const c = makeCore();
    const seen: Record<string, number[]> = { kernel: [], core: [] };
    for (const sport of [22, 700, 40000]) {
      for (const src of ['192.0.2.50', '192.0.2.51']) {
        const f = buildFrame({ proto: 'udp', dstMac: k.macY, src, dst: SRV, sport, dport: 53 });
        await k.send(f, true);
        put(c, f, { ifindex: 0 });
        c.x.ctIn(); c.x.natNullBinding(L.MANIP_DST); c.x.natManip(L.MANIP_DST); c.x.routeInput();
        c.x.natMasquerade(0, 0, 0); c.x.natManip(L.MANIP_SRC); c.x.ctConfirm();
        seen.core.push(c.dv().getUint16(c.pkt + L.P_SPORT, true));
      }
    }
    const lines = sh('ip', 'netns', 'exec', k.r, 'conntrack', '-L', '-p', 'udp').split('\n');
    for (const sport of [22, 700, 40000]) {
      for (const src of ['192.0.2.50', '192.0.2.51']) {
        const l = lines.find((x) => x.includes(`src=${src} `) && x.includes(`sport=${sport} `))!;
        seen.kernel.push(Number(/dst=198\.51\.100\.1 sport=53 dport=(\d+)/.exec(l)![1]));
      }
    }
    const cls = (p: number) => (p < 512 ? 'low' : p < 1024 ? 'mid' : 'high');
    // the first of each pair keeps its port in both; the second gets another port of the same class
    for (const who of ['kernel', 'core']) {
      const v = seen[who];
      expect([v[0], v[2], v[4]]).toEqual([22, 700, 40000]);
      expect([v[1], v[3], v[5]].map(cls)).toEqual(['low', 'mid', 'high']);
      expect(v[1] !== 22 && v[3] !== 700 && v[5] !== 40000).toBe(true);
    }
    k.close();
  }, 60_000);
});
