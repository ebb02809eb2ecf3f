// The egress comparison for the router's own packets: ICMP errors (no DF) are compared with the IP
// id and header checksum masked (the kernel's id is a keyed hash: lib/harness.ts compareOutputs),
// and only those two fields; RSTs (DF, id 0) are compared whole. Doctored nfreplay outputs made
// from the kernel's own egress of the reject-replies case (3 ICMP errors, 2 RSTs, 1 forwarded).
import { describe, it, expect, beforeAll } from 'vitest';
import { kernelAvailable, reportSkip } from './lib/netns.js';
import { compareOutputs, type Case, type KernelResult } from './lib/harness.js';
import { refereeFixture } from './lib/referee.js';

const reason = kernelAvailable();
if (reason) reportSkip(reason);

/** Set the IP id and recompute the header checksum (a routine of its own, RFC 1071). */
function withId(ip: Uint8Array, id: number): Uint8Array<ArrayBuffer> {
  const p = Uint8Array.from(ip);
  p[4] = id >> 8; p[5] = id & 0xff;
  p[10] = p[11] = 0;
  let s = 0;
  for (let i = 0; i < (p[0] & 15) * 4; i += 2) s += (p[i] << 8) | p[i + 1];
  while (s > 0xffff) s = (s & 0xffff) + (s >>> 16);
  p[10] = (~s >> 8) & 0xff; p[11] = ~s & 0xff;
  return p;
}

describe.skipIf(reason !== null)('the comparison of the router\'s own packets', () => {
  const fx = refereeFixture('reject-replies', 'referee-em');
  let c: Case;
  let k: KernelResult;
  beforeAll(() => { ({ c, k } = fx); });
  const outputs = (egress: Uint8Array[], linktype?: number) => fx.outputs(k.saveC, k.conntrackText, egress, linktype);

  it('masks the IP id and checksum of the ICMP errors, and nothing else', () => {
    const kinds = k.egress.map((e) => [e.local, (e.ip[6] & 0x40) !== 0, e.ip[9]]);
    // the case's egress: 3 ICMP errors without DF, 2 RSTs with DF (all local), 1 forwarded datagram
    expect(kinds.filter(([l, df, p]) => l && !df && p === 1)).toHaveLength(3);
    expect(kinds.filter(([l, df, p]) => l && df && p === 6)).toHaveLength(2);
    const err = k.egress.findIndex((e) => e.local && e.ip[9] === 1);
    const rst = k.egress.findIndex((e) => e.local && e.ip[9] === 6);
    expect((k.egress[err].ip[4] << 8) | k.egress[err].ip[5]).not.toBe(0); // the kernel's hashed id
    // nfreplay's id 0 on every ICMP error: agrees
    const zero = k.egress.map((e) => (e.local && e.ip[9] === 1 ? withId(e.ip, 0) : Uint8Array.from(e.ip)));
    const ok = compareOutputs(c, k, outputs(zero));
    expect(ok.differences).toEqual([]);
    expect(ok.agree).toBe(ok.total);
    // one more byte of an ICMP error wrong (its TOS): caught
    const tos = zero.map((p) => Uint8Array.from(p));
    tos[err][1] ^= 0x04;
    const badTos = compareOutputs(c, k, outputs(tos));
    expect(badTos.differences.filter((d) => !d.startsWith('(info)')).length).toBeGreaterThan(0);
    // a RST with another id: caught (DF packets are compared whole)
    const rid = zero.map((p) => Uint8Array.from(p));
    rid[rst] = withId(rid[rst], 1);
    const badRst = compareOutputs(c, k, outputs(rid));
    expect(badRst.differences.filter((d) => !d.startsWith('(info)')).length).toBeGreaterThan(0);
  });

  it('compares the MACs of the router\'s own packets (Ethernet --out)', () => {
    const eth = (macs: Uint8Array, ip: Uint8Array) => { const f = new Uint8Array(14 + ip.length); f.set(macs, 0); f[12] = 8; f.set(ip, 14); return f; };
    const frames = k.egress.map((e) => eth(e.macs!, e.local && e.ip[9] === 1 ? withId(e.ip, 0) : e.ip));
    const ok = compareOutputs(c, k, outputs(frames, 1));
    expect(ok.differences).toEqual([]);
    // the RST with its MACs the other way round (as if not swapped): caught
    const rst = k.egress.findIndex((e) => e.local && e.ip[9] === 6);
    const m = k.egress[rst].macs!;
    const bad = frames.slice();
    bad[rst] = eth(Uint8Array.from([...m.subarray(6, 12), ...m.subarray(0, 6)]), k.egress[rst].ip);
    const r = compareOutputs(c, k, outputs(bad, 1));
    expect(r.differences).toEqual([expect.stringMatching(new RegExp(`^egress #${rst} on eth0: kernel MACs `))]);
  });
});
