// Random and mutated frames through dissect -> defrag -> ctIn -> NAT -> confirm: the core must never
// trap (an out-of-bounds access would abort the whole wasm instance) and must keep its invariants.
import { describe, it, expect } from 'vitest';
import * as L from '../../src/layout.js';
import { buildFrame, buildIPv4, icmpQuote, fragmentIPv4, type FrameSpec } from '../../src/pcap/craft.js';
import { makeCore, put } from './harness.js';
import { mulberry32 } from '../../src/util/random.js';

const rng = mulberry32;

describe('fuzz', () => {
  it('mutated valid frames and random bytes never trap', () => {
    const r = rng(12345);
    const c = makeCore({ capacity: 64 });
    const pick = <T>(a: T[]) => a[Math.floor(r() * a.length)];
    const addrs = ['192.0.2.50', '192.0.2.1', '198.51.100.1', '203.0.113.9', '127.0.0.1', '255.255.255.255', '224.0.0.1', '0.0.0.0'];
    const bases: FrameSpec[] = [
      { proto: 'tcp', flags: 'S' }, { proto: 'tcp', flags: 'SA' }, { proto: 'tcp', flags: 'PA', payload: 30 },
      { proto: 'udp', payload: 12 }, { proto: 'icmp', icmpType: 8 }, { proto: 'sctp' }, { proto: 47, payload: 12 },
      { proto: 'icmp', icmpType: 3, icmpCode: 3, inner: icmpQuote(buildIPv4({ proto: 'udp' })) },
      { proto: 'icmp', icmpType: 11, inner: icmpQuote(buildIPv4({ proto: 'tcp' }), 20) },
    ];
    let processed = 0;
    for (let i = 0; i < 4000; i++) {
      let f: Uint8Array;
      let lt = pick([1, 101, 228, 113, 276]);
      const mode = r();
      if (mode < 0.15) {
        f = new Uint8Array(Math.floor(r() * 120));
        for (let k = 0; k < f.length; k++) f[k] = Math.floor(r() * 256);
      } else {
        const spec: FrameSpec = { ...pick(bases), src: pick(addrs), dst: pick(addrs), sport: Math.floor(r() * 65536), dport: Math.floor(r() * 65536), link: pick(['ether', 'raw', 'sll', 'sll2'] as const) };
        f = buildFrame(spec);
        lt = { ether: 1, raw: 101, sll: 113, sll2: 276 }[spec.link as 'ether'];
        if (mode < 0.3) {
          const ip = buildIPv4(spec);
          if (ip.length > 40) { f = pick(fragmentIPv4(ip, 16)); lt = 101; }
        }
        // flip some bytes, maybe truncate
        const flips = r() < 0.5 ? 0 : Math.floor(r() * 4);
        for (let k = 0; k < flips; k++) f[Math.floor(r() * f.length)] = Math.floor(r() * 256);
        if (r() < 0.2) f = f.subarray(0, Math.floor(r() * f.length));
      }
      const res = put(c, f, { linktype: lt, t: 1000 + i * 0.01, ifindex: pick([0, 1, 0xffff]), ordinal: i, wirelen: f.length + (r() < 0.1 ? 10 : 0) });
      if (res !== L.RES_NONE) continue;
      const d = c.x.defrag();
      if (d === 1 || d === 3) continue;
      c.x.ctIn();
      if (c.x.natNeeded(L.MANIP_DST)) c.x.natSetup(L.MANIP_DST, L.NAT_MAP_IPS | L.NAT_PROTO_SPECIFIED, 0x0a0200c0, 0x0c0200c0, 8000, 8010);
      c.x.natManip(L.MANIP_DST);
      const route = c.x.routeInput();
      if (route < 0) { c.x.ctAbort(); continue; }
      if (c.x.natNeeded(L.MANIP_SRC)) c.x.natMasquerade(r() < 0.5 ? L.NAT_PROTO_RANDOM_FULLY : 0, 0, 0);
      c.x.natManip(L.MANIP_SRC);
      if (r() < 0.2) c.x.ctAbort(); else c.x.ctConfirm();
      processed++;
    }
    expect(processed).toBeGreaterThan(300);
    // invariants: at most capacity connections; every listed one is live and confirmed
    expect(c.x.ctCount()).toBeLessThanOrEqual(64);
    let n = 0;
    for (let e = c.x.ctFirst(); e; e = c.x.ctNext(e)) n++;
    expect(n).toBeLessThanOrEqual(64);
  });
});
