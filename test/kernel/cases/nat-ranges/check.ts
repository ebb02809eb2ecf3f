// Expectations derived from the kernel's NAT code (nf_nat_core.c), not from its output:
// - find_best_ips_proto: address = min + reciprocal_scale(jhash2(src address, initval), range size),
//   initval = destination address (DNAT and plain SNAT) or 0 (--persistent). No port enters the hash,
//   so a client's two connections get the same server and the same SNAT address; with --persistent
//   the SNAT address depends on the client alone. Which one is the hash's business: here only "inside
//   the range", "the same for both connections of a client" and "not all 12 clients on one address"
//   (no random seed is involved: two runs in fresh namespaces gave byte-identical egress).
// - Ports: DNAT without a port range keeps port 80; SNAT keeps the client's port (all distinct).
// - #25 -> 203.0.113.30:8000 (80 is outside 8000-8002: nf_nat_l4proto_unique_tuple, DST manip without
//   --random, starts at offset 0); #26 would have the same reply tuple (203.0.113.30:8000 ->
//   192.0.2.5:50000: no SNAT towards .30) -> the next port, 8001.
// Counters: PREROUTING rules 1, 2, 3 -> 24, 1, 1 (40 bytes each); POSTROUTING SNAT 24; policy 2 (#25,
// #26 are excluded by ! -d 203.0.113.30).
import { expect } from 'vitest';
import type { KernelResult } from '../../lib/harness.js';

export function check(k: KernelResult): void {
  const p = (key: string) => Number(k.counters.get(key)?.packets ?? -1);
  expect([p('nat:PREROUTING:1'), p('nat:PREROUTING:2'), p('nat:PREROUTING:3')]).toEqual([24, 1, 1]);
  expect([p('nat:POSTROUTING:1'), p('nat:POSTROUTING:policy')]).toEqual([24, 2]);
  const eg = k.egress.map((e) => {
    const ip = e.ip;
    return { src: ip.subarray(12, 16).join('.'), dst: ip.subarray(16, 20).join('.'), sport: (ip[20] << 8) | ip[21], dport: (ip[22] << 8) | ip[23] };
  });
  expect(eg.length).toBe(26);
  const servers = new Set<string>();
  for (let i = 0; i < 12; i++) {
    const [a, b] = [eg[2 * i], eg[2 * i + 1]];
    expect(['203.0.113.20', '203.0.113.21', '203.0.113.22']).toContain(a.dst);
    expect(['198.51.100.10', '198.51.100.11', '198.51.100.12']).toContain(a.src);
    expect([b.dst, b.src]).toEqual([a.dst, a.src]);
    expect([a.sport, b.sport, a.dport, b.dport]).toEqual([40002 + 2 * i, 40003 + 2 * i, 80, 80]);
    servers.add(a.dst);
  }
  expect(servers.size).toBeGreaterThan(1);
  expect([eg[24], eg[25]]).toEqual([
    { src: '192.0.2.5', dst: '203.0.113.30', sport: 50000, dport: 8000 },
    { src: '192.0.2.5', dst: '203.0.113.30', sport: 50000, dport: 8001 },
  ]);
}
