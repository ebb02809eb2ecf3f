// The referee must not be vacuous: fed the kernel's own results as if nfreplay had written them, the
// comparison agrees on everything; each kind of doctored output (a counter, a conntrack state or
// timeout, an egress byte, a missing packet) is reported as exactly one difference.
import { describe, it, expect, beforeAll } from 'vitest';
import { kernelAvailable, reportSkip } from './lib/netns.js';
import { compareOutputs, type Case, type KernelResult } from './lib/harness.js';
import { refereeFixture } from './lib/referee.js';

const reason = kernelAvailable();
if (reason) reportSkip(reason);

describe.skipIf(reason !== null)('the comparison catches disagreements', () => {
  const fx = refereeFixture('nat-router', 'referee');
  let c: Case;
  let k: KernelResult;
  beforeAll(() => { ({ c, k } = fx); });
  const outputs = (counters: string, conntrack: string, egress: Uint8Array[]) => fx.outputs(counters, conntrack, egress);
  const kernelIps = () => k.egress.map((e) => Uint8Array.from(e.ip));

  it('agrees with the kernel itself', () => {
    const r = compareOutputs(c, k, outputs(k.saveC, k.conntrackText, kernelIps()));
    expect(r.differences).toEqual([]);
    expect(r.agree).toBe(r.total);
    // 9 + 4 + 1 + 1 + ... counters, 3 conntrack entries, 13 egress packets
    expect(r.total).toBe(k.counters.size + k.conntrack.length + k.egress.length);
  });

  it('reports a counter one packet off', () => {
    const doctored = k.saveC.replace('[2:98] -A FORWARD -s 192.0.2.9/32', '[3:98] -A FORWARD -s 192.0.2.9/32');
    expect(doctored).not.toBe(k.saveC);
    const r = compareOutputs(c, k, outputs(doctored, k.conntrackText, kernelIps()));
    expect(r.differences).toEqual(['counter filter:FORWARD:2 (-A FORWARD -s 192.0.2.9/32 -j ACCEPT): kernel [2:98] nfreplay [3:98]']);
  });

  it('reports a conntrack state and a timeout out of range', () => {
    const st = compareOutputs(c, k, outputs(k.saveC, k.conntrackText.replace('TIME_WAIT', 'CLOSE'), kernelIps()));
    expect(st.differences.length).toBe(2); // only in kernel (TIME_WAIT) + only in nfreplay (CLOSE)
    expect(st.differences[0]).toMatch(/^conntrack only in kernel: tcp TIME_WAIT /);
    const to = compareOutputs(c, k, outputs(k.saveC, k.conntrackText.replace(/ 431999 ESTABLISHED/, ' 431900 ESTABLISHED'), kernelIps()));
    expect(to.differences).toHaveLength(1);
    expect(to.differences[0]).toMatch(/^conntrack timeout of tcp ESTABLISHED .*: kernel 43199\d s, nfreplay 431900 s$/);
  });

  it('reports one wrong egress byte and a missing packet', () => {
    const ips = kernelIps();
    ips[3][8] += 1; // the TTL of the 4th packet
    const wrong = compareOutputs(c, k, outputs(k.saveC, k.conntrackText, ips));
    expect(wrong.differences).toHaveLength(1);
    expect(wrong.differences[0]).toMatch(/^egress #3 on eth1: kernel /);
    const missing = compareOutputs(c, k, outputs(k.saveC, k.conntrackText, kernelIps().filter((_, i) => i !== 5)));
    expect(missing.differences).toHaveLength(1);
    expect(missing.differences[0]).toMatch(/^egress only in the kernel: #5 on eth1: /);
    const extra = kernelIps();
    extra.splice(2, 0, Uint8Array.from(extra[0]));
    const more = compareOutputs(c, k, outputs(k.saveC, k.conntrackText, extra));
    expect(more.differences).toHaveLength(1);
    expect(more.differences[0]).toMatch(/^egress only in nfreplay \(before kernel #2\): /);
  });
});
