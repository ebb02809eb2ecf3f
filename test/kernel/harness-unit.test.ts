// Pure parts of the kernel harness (no root needed): which counters depend on random choices, the
// chi-square test, conntrack and iptables-save parsing, the checksum verifier.
import { describe, it, expect } from 'vitest';
import { readFileSync } from 'node:fs';
import { randomDependent, chiSquareP } from './lib/harness.js';
import { parseConntrack, ctKey } from './lib/conntrack.js';
import { parseCounters } from './lib/iptables.js';
import { checksumProblem } from './lib/csum.js';

describe('kernel harness helpers', () => {
  it('marks statistic rules, the rules after them, their target chains and affinity lists as random', () => {
    const text = readFileSync(new URL('./cases/k8s-service-3ep/rules.txt', import.meta.url), 'utf8')
      .replace(/^(-A|:)/gm, (m) => (m === '-A' ? '[0:0] -A' : m));
    const dep = randomDependent(text);
    const A = 'nat:KUBE-SVC-DAKOCTDC5UCOR7ZP';
    const B = 'nat:KUBE-SVC-G4RDBLL5YDRMFUB4';
    expect(dep.has(`${A}:1`)).toBe(false); // the masquerade-mark rule before the first statistic rule
    for (const n of [2, 3, 4]) expect(dep.has(`${A}:${n}`)).toBe(true);
    expect(dep.has('nat:KUBE-SEP-MLQY3IAZVQIKMIXU:2')).toBe(true);
    // svc-b: the rcheck rules come before the statistic rules but test lists the SEP chains set.
    expect(dep.has(`${B}:1`)).toBe(false);
    for (const n of [2, 3, 4, 5, 6, 7]) expect(dep.has(`${B}:${n}`)).toBe(true);
    // KUBE-MARK-MASQ is also jumped to from the SEP chains: conservatively random (its total happens
    // to be deterministic here, but a chain reached from a random rule is not in general).
    expect(dep.has('nat:KUBE-MARK-MASQ:1')).toBe(true);
    expect(dep.has('nat:KUBE-SERVICES:1')).toBe(false);
    expect(dep.has('filter:KUBE-FORWARD:2')).toBe(false);
  });

  it('chi-square homogeneity p-values', () => {
    // a = [10, 20], b = [20, 10]: expected 15 everywhere, chi2 = 4 * 25/15 = 6.67, df 1 -> p = 0.0098.
    expect(chiSquareP([10, 20], [20, 10])).toBeCloseTo(0.00982, 4);
    // a = [60, 20, 20], b = [20, 60, 20]: expected 40/40/20 in each row, chi2 = 4 * 400/40 = 40,
    // df 2, whose upper tail is exactly e^(-chi2/2) = e^-20.
    expect(chiSquareP([60, 20, 20], [20, 60, 20]) / Math.exp(-20)).toBeCloseTo(1, 6);
    expect(chiSquareP([200, 200, 200], [200, 200, 200])).toBeGreaterThan(0.99);
    expect(chiSquareP([100, 0, 50], [100, 0, 50])).toBeGreaterThan(0.99);
    expect(chiSquareP([300, 0, 0], [0, 300, 0])).toBeLessThan(1e-10);
  });

  it('parses conntrack -L in both forms', () => {
    const e = parseConntrack([
      'ipv4     2 tcp      6 119 TIME_WAIT src=192.0.2.9 dst=203.0.113.10 sport=40001 dport=80 src=203.0.113.10 dst=198.51.100.1 sport=80 dport=40001 [ASSURED] mark=0 use=1',
      'icmp     1 29 src=192.0.2.31 dst=203.0.113.10 type=8 code=0 id=4660 src=203.0.113.10 dst=198.51.100.1 type=0 code=0 id=4660 mark=0 use=1',
      'udp      17 29 src=192.0.2.32 dst=203.0.113.99 sport=33002 dport=33434 [UNREPLIED] src=203.0.113.99 dst=198.51.100.1 sport=33434 dport=33002 mark=0 use=1',
      'conntrack v1.4.7 (conntrack-tools): 3 flow entries have been shown.',
    ].join('\n'));
    expect(e.length).toBe(3);
    expect(ctKey(e[0])).toBe('tcp TIME_WAIT src=192.0.2.9 dst=203.0.113.10 sport=40001 dport=80 | src=203.0.113.10 dst=198.51.100.1 sport=80 dport=40001 ASSURED mark=0');
    expect(e[1].orig).toEqual({ src: '192.0.2.31', dst: '203.0.113.10', type: 8, code: 0, id: 4660 });
    expect(e[1].reply.dst).toBe('198.51.100.1');
    expect(e[2].flags).toEqual(['UNREPLIED']);
    expect(e[2].reply.sport).toBe(33434);
  });

  it('keys iptables-save -c counters by table, chain and rule position', () => {
    const m = parseCounters('*filter\n:INPUT ACCEPT [3:120]\n:X - [0:0]\n[1:40] -A INPUT -j X\n[2:80] -A X -p tcp\n[5:6] -A INPUT\nCOMMIT\n');
    expect([...m.keys()]).toEqual(['filter:INPUT:policy', 'filter:INPUT:1', 'filter:X:1', 'filter:INPUT:2']);
    expect(m.get('filter:INPUT:2')!.packets).toBe(5n);
  });

  it('verifies checksums independently', () => {
    // The kernel's RST from the port-forward case (valid) and the same with one checksum byte changed.
    const ok = Buffer.from('45000028000040004006d467c6336401cb0071330016a02900000000061028d8501400007a400000', 'hex');
    expect(checksumProblem(ok)).toBeNull();
    const bad = Uint8Array.from(ok);
    bad[37] ^= 1;
    expect(checksumProblem(bad)).toBe('tcp');
    bad[10] ^= 1;
    expect(checksumProblem(bad)).toBe('ip');
  });
});
