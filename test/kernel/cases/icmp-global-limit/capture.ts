// Everything arrives on eth0 (tcpreplay) at the times given (ms after the first packet), replayed in
// real time (`realTime`): the global ICMP limiter counts jiffies. Every packet has its own source
// 192.0.2.(10 + i), so the per-destination limiter (6 per source at once) never refuses one.
// Kinds: `rej` UDP to 203.0.113.7:9 (REJECT: port unreachable, limited), `ttl` UDP to :10 with TTL 1
// (time exceeded, limited), `rst` TCP SYN to :23 (REJECT tcp-reset: not ICMP), `ping` echo request
// to the router (echo reply: type 0, outside icmp_ratemask), `big` 1100-byte UDP to :10 with DF
// (eth1's MTU is 1000: frag needed, never limited), all other packets 48-byte datagrams.
// Groups are 2 ms long and 30 ms or more apart. A group that must be refused comes 30 ms after the
// refill before it: 20 ms or less (delta < HZ/50) and up to 100 ms (incr 0) both refuse, so only a
// tcpreplay lateness of 70 ms between two groups could move a packet across a limiter threshold
// (check.ts).
import { buildFrame, type FrameSpec } from '../../../../src/pcap/craft.js';
import type { CasePacket } from '../../lib/harness.js';

/** tcpreplay keeps the capture's timing (see harness.ts). */
export const realTime = true;

/** [ms, kind] in time order. */
export const SCHEDULE: [number, string][] = [
  [0, 'rej'], [0.3, 'rej'], [0.6, 'rst'], [0.9, 'ping'], [1.2, 'big'], [1.5, 'ttl'],
  [30, 'rej'], [30.3, 'ttl'], [30.6, 'ping'], [30.9, 'rst'],
  [200, 'ttl'], [200.3, 'rej'], [200.6, 'big'],
  [230, 'rej'],
  [400, 'rej'], [400.3, 'rej'],
  [1500, 'rej'], [1500.3, 'rej'],
];

export default function capture(_seed: number): CasePacket[] {
  return SCHEDULE.map(([ms, kind], i) => {
    const src = `192.0.2.${10 + i}`;
    const base: FrameSpec = { src, dst: '203.0.113.7', ttl: 64, id: i + 1 };
    let spec: FrameSpec;
    if (kind === 'rej') spec = { ...base, proto: 'udp', sport: 40000 + i, dport: 9, payload: 20 };
    else if (kind === 'ttl') spec = { ...base, proto: 'udp', sport: 40000 + i, dport: 10, payload: 20, ttl: 1 };
    else if (kind === 'rst') spec = { ...base, proto: 'tcp', sport: 40000 + i, dport: 23, flags: 'S', seq: 1000 };
    else if (kind === 'ping') spec = { ...base, dst: '192.0.2.254', proto: 'icmp', icmpType: 8, icmpId: 100 + i, icmpSeq: 1, payload: 20 };
    else spec = { ...base, proto: 'udp', sport: 40000 + i, dport: 10, payload: 1072, df: true };
    return { frame: buildFrame(spec), ts: 1.7e9 + ms / 1000 };
  });
}
