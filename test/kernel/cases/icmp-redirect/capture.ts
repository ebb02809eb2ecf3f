// Everything arrives on eth0 (tcpreplay) at the times given (ms after the first packet): the case
// is replayed in real time (`realTime`), as the redirect limiter counts jiffies between packets.
// Senders on eth0's subnet 192.0.2.0/24: A 192.0.2.10, C 192.0.2.30, F 192.0.2.40; off-link D 198.18.0.5 (routed
// via 192.0.2.254 on eth0). Destinations: B 192.0.2.20 (on eth0's subnet), R 203.0.113.5 (via
// 192.0.2.254 on eth0), E 198.51.100.7 (on eth1). UDP flows (20-byte payloads: 48-byte datagrams):
//   AB A:5000->B:7, AR A:5001->R:7, AE A:5002->E:7, CB C:6000->B:7, DB D:7000->B:7,
//   FD F:8000->192.0.2.99:53, DNATed to B:53;
// `big` = AB with 100 bytes of payload (128 bytes: the FORWARD DROP rule's length);
// `err` = an ICMP port unreachable from C to B quoting B:7->C:6001 (no such connection: INVALID),
// 56 bytes.
import { buildFrame, buildIPv4, icmpQuote, type FrameSpec } from '../../../../src/pcap/craft.js';
import type { CasePacket } from '../../lib/harness.js';

/** tcpreplay keeps the capture's timing (see harness.ts). */
export const realTime = true;

const A = '192.0.2.10', B = '192.0.2.20', C = '192.0.2.30', D = '198.18.0.5', R = '203.0.113.5', E = '198.51.100.7';
const F = '192.0.2.40';
const FLOWS: Record<string, FrameSpec> = {
  AB: { src: A, dst: B, sport: 5000 },
  AR: { src: A, dst: R, sport: 5001 },
  AE: { src: A, dst: E, sport: 5002 },
  CB: { src: C, dst: B, sport: 6000 },
  DB: { src: D, dst: B, sport: 7000 },
  FD: { src: F, dst: '192.0.2.99', sport: 8000, dport: 53 },
  big: { src: A, dst: B, sport: 5000, payload: 100 },
};

/** [ms, flow] in time order; check.ts walks the limiter through them. A packet that must not get a
 *  redirect comes soon after the previous redirect (>= 34 ms before the next is allowed), one that
 *  must get one 50 ms or more after it is allowed: a late packet cannot turn a "no" into a "yes"
 *  unless it is that late. */
export const SCHEDULE: [number, string][] = [
  [0, 'AB'], [3, 'AB'], [6, 'AR'], [30, 'CB'], [33, 'CB'], [50, 'DB'], [60, 'AE'],
  [100, 'AB'], [120, 'CB'], [125, 'AB'], [250, 'AB'], [260, 'err'], [300, 'CB'], [310, 'DB'],
  [460, 'big'], [470, 'CB'], [500, 'CB'], [510, 'FD'], [600, 'FD'], [620, 'FD'], [700, 'AB'],
  [830, 'AR'], [1300, 'AB'], [1520, 'AB'], [2850, 'AR'], [5000, 'AE'], [5460, 'AB'], [10000, 'AB'],
  [10630, 'AB'], [10700, 'AB'], [10800, 'AR'],
];

export default function capture(_seed: number): CasePacket[] {
  return SCHEDULE.map(([ms, f], i) => {
    let spec: FrameSpec;
    if (f === 'err') {
      const quoted = buildIPv4({ src: B, dst: C, proto: 'udp', sport: 7, dport: 6001, payload: 20 });
      spec = { src: C, dst: B, proto: 'icmp', icmpType: 3, icmpCode: 3, inner: icmpQuote(quoted) };
    } else {
      spec = { proto: 'udp', dport: 7, payload: 20, ...FLOWS[f] };
    }
    return { frame: buildFrame({ ...spec, ttl: 64 - (i % 3), id: i + 1 }), ts: 1.7e9 + ms / 1000 };
  });
}
