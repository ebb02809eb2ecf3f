// The global ICMP limiter at its defaults (icmp_msgs_per_sec 1000, icmp_msgs_burst 50), kernel vs
// nfreplay. The kernel takes a random 0, 1 or 2 credits per error sent (icmp_global_consume,
// get_random_u32_below(3)), so the number of errors is random on both sides and the exact
// comparison of cases.test.ts cannot apply: this file runs the same router (lib/harness.ts
// runKernel) and compares within bounds derived from the distribution below. The case's own
// folder (cases.test.ts) checks the limiter exactly with icmp_msgs_burst 0.
//
// Traffic, in real time on eth0: burst A of 300 UDP datagrams to 203.0.113.7:9 (REJECT: port
// unreachable) from 300 sources 198.18.0.0 + i (routed back via 192.0.2.1 on eth0), 10 us apart;
// 1.5 s later burst B, 100 more from 198.19.0.0 + i. Each source is new, so the per-destination
// limiter (a full bucket of 6 per new peer) never refuses: only the global one does.
//
// The count of one burst: the first error finds credit 0 and a stamp at least HZ/50 old (burst A:
// a new netns, stamp 0; burst B: 1.5 s later) and refills to min(credit + incr, 50) = 50 (incr =
// 1000 * HZ / HZ = 1000; the credit left is >= -2). Then errors are sent while the credit is > 0:
// N = min{k : D_1 + ... + D_k >= 50}, D_i uniform on {0, 1, 2} (mean 1, variance 2/3). If the
// burst lasts 20 ms or more after the refill, a refill of 1000 * delta / HZ (20 for 5 jiffies at
// HZ 250) is due once the credit is used up; the bursts here last 3 ms and 1 ms as sent (tcpreplay
// may stretch them on a loaded machine: the kernel's upper bound then grows with the span its errors
// show, see kUpper).
// Bounds [30, 110]: P(N < 30) = P(D_1 + ... + D_29 >= 50) = 4.5e-7 (29 draws: mean 29, sd 4.4;
// exact, by convolution); P(N > 110) <= P(D_1 + ... + D_110 < 78) = 6.6e-5 with the extra refill
// (mean 110, sd 8.6), 1.6e-13 without. Both sides, both bursts (110 + 70 per possible refill for
// the kernel's, below).
// Measured (6.18, HZ 250, seven runs): kernel burst A 50, 41, 57, 50, 54, 60, 66; burst B 56, 54,
// 44, 46, 43, 58, 39; nfreplay (seed 20260601) 45 and 45.
// The REJECT rule's counter must agree exactly (400), and each side's OUTPUT counter must equal its
// own number of errors on the wire.
import { describe, it, expect, afterEach } from 'vitest';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Lab, kernelAvailable, reportSkip, sweepStale } from '../../lib/netns.js';
import { runKernel, SEED, type Case, type CasePacket, type HostModel } from '../../lib/harness.js';
import { nfreplay } from '../../lib/nfreplay.js';
import { parseCounters } from '../../lib/iptables.js';
import { readCapture, ipDatagram } from '../../lib/pcapfile.js';
import { buildFrame } from '../../../../src/pcap/craft.js';

const reason = kernelAvailable();
if (reason) reportSkip(reason);

const DIR = fileURLToPath(new URL('.', import.meta.url));
const RULES = `*filter
:INPUT ACCEPT [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
-A FORWARD -p udp -m udp --dport 9 -j REJECT
-A OUTPUT -p icmp -m icmp --icmp-type 3/3
COMMIT
`;
const HOST: HostModel = {
  interfaces: [{ name: 'eth0', addresses: ['192.0.2.254/24'] }, { name: 'eth1', addresses: ['198.51.100.1/24'] }],
  routes: [{ dst: 'default', via: '198.51.100.254', dev: 'eth1' }, { dst: '198.18.0.0/15', via: '192.0.2.1', dev: 'eth0' }],
  ingress: 'eth0',
  sysctl: {},
};
const A = 300, B = 100;

function packets(): CasePacket[] {
  const p: CasePacket[] = [];
  const one = (src: string, i: number, ts: number) => ({
    frame: buildFrame({ src, dst: '203.0.113.7', proto: 'udp', sport: 20000 + i, dport: 9, payload: 20, ttl: 64, id: i + 1 }), ts,
  });
  for (let i = 0; i < A; i++) p.push(one(`198.18.${i >> 8}.${i & 255}`, i, 1.7e9 + i * 1e-5));
  for (let i = 0; i < B; i++) p.push(one(`198.19.${i >> 8}.${i & 255}`, A + i, 1.7e9 + 1.5 + i * 1e-5));
  return p;
}

/** An ICMP 3/3 error's burst, by the source it goes back to (198.18/16: A = 0, 198.19/16: B = 1);
 *  -1 for any other datagram. */
function burstOf(ip: Uint8Array): number {
  if (ip[9] !== 1 || ip[20] !== 3 || ip[21] !== 3 || ip[16] !== 198) return -1;
  return ip[17] === 18 ? 0 : ip[17] === 19 ? 1 : -1;
}

describe.skipIf(reason !== null)('global ICMP limit at its defaults (random consumption)', () => {
  let lab: Lab | undefined;
  afterEach(async () => { await lab?.destroy(); lab = undefined; });

  it('kernel and nfreplay each send 30..110 errors per burst; the REJECT counter agrees exactly', async () => {
    sweepStale();
    const c: Case = { name: 'icmp-global-burst50', dir: DIR, rules: RULES, host: HOST, packets: packets(), realTime: true };
    lab = new Lab('icmp-burst50');
    const k = await runKernel(c, lab);
    const kErr = k.egress.filter((e) => e.local && e.ip[9] === 1 && e.ip[20] === 3 && e.ip[21] === 3)
      .map((e) => ({ burst: burstOf(e.ip), ts: e.ts }));
    // tcpreplay on a loaded machine can stretch a burst: a refill needs HZ/50 jiffies (20 ms at HZ
    // 250, >= 20 ms at any HZ) after the previous one, so a burst whose errors span t seconds saw at
    // most R = floor(t / 0.02) refills after the first, each of at most 50 credits (the burst cap):
    // the kernel's upper bound grows by 70 per possible refill (50 draws of mean 1 and sd 0.82 each,
    // with a margin of > 5 sd over the first bound's). R is 0 when the burst arrives as sent.
    const spans = [0, 1].map((i) => {
      const t = kErr.filter((e) => e.burst === i).map((e) => e.ts);
      return t.length ? Math.max(...t) - Math.min(...t) : 0;
    });
    const kUpper = spans.map((t) => 110 + 70 * Math.floor(t / 0.02));
    const out = join(k.workdir, 'nfr-out.pcap'), save = join(k.workdir, 'nfr.save');
    const r = nfreplay(['replay', '--rules', k.rulesPath, '--pcap', k.pcapPath, '--host', k.hostPath,
      '--save-counters', save, '--out', out, '--seed', String(SEED), '--quiet']);
    expect(r.code, r.stderr).toBe(0);
    const cap = readCapture(readFileSync(out));
    const nErr = cap.packets.map((p) => ipDatagram(p.data, cap.linktype)).filter((ip): ip is Uint8Array => ip !== null)
      .filter((ip) => ip[9] === 1 && ip[20] === 3 && ip[21] === 3).map(burstOf);
    const kc = k.counters, nc = parseCounters(readFileSync(save, 'utf8'));
    const n = (m: typeof kc, key: string) => Number(m.get(key)?.packets ?? -1);
    const kb = [0, 1].map((i) => kErr.filter((e) => e.burst === i).length);
    const nb = [0, 1].map((i) => nErr.filter((x) => x === i).length);
    process.stdout.write(`icmp-global-burst50: errors per burst: kernel ${kb.join(' + ')} (spans ${spans.map((t) => (t * 1e3).toFixed(1)).join(' / ')} ms), nfreplay ${nb.join(' + ')} (of ${A} + ${B} rejected)\n`);
    expect(n(kc, 'filter:FORWARD:1')).toBe(A + B);
    expect(n(nc, 'filter:FORWARD:1')).toBe(A + B);
    expect(n(kc, 'filter:OUTPUT:1')).toBe(kErr.length);
    expect(n(nc, 'filter:OUTPUT:1')).toBe(nErr.length);
    kb.forEach((x, i) => { expect(x).toBeGreaterThanOrEqual(30); expect(x).toBeLessThanOrEqual(kUpper[i]); });
    // nfreplay replays the capture's own timing (10 us apart: no refill within a burst)
    for (const x of nb) { expect(x).toBeGreaterThanOrEqual(30); expect(x).toBeLessThanOrEqual(110); }
    rmSync(k.workdir, { recursive: true, force: true });
  });
});
