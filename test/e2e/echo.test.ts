// The host answers pings: the echo reply walks OUTPUT/POSTROUTING as a locally generated packet,
// tracked as the reply of the request's connection. Expected counters: the real kernel (6.18, netns,
// same rules: fixtures/echo-reply.rules) after two 84-byte echo requests (id 7, seq 1 and 2) from
// 192.0.2.2 to 192.0.2.1.
import { describe, it, expect, afterAll } from 'vitest';
import { runScenario, cleanup } from './helpers.js';
import type { HostModel } from '../../src/host/index.js';

afterAll(cleanup);
const host: HostModel = { interfaces: [{ name: 'eth0', addresses: ['192.0.2.1/24'] }], routes: [], ingress: 'eth0', sysctl: {} };

describe('echo replies', () => {
  it('count in OUTPUT as ESTABLISHED; the second request is ESTABLISHED too', async () => {
    const ping = (seq: number) => ({ on: 'eth0', src: '192.0.2.2', dst: '192.0.2.1', proto: 'icmp' as const, icmpType: 8, icmpId: 7, icmpSeq: seq, payload: 56, t: seq * 0.2 });
    const r = await runScenario(new URL('./fixtures/echo-reply.rules', import.meta.url).pathname, host, [ping(1), ping(2)]);
    expect(r.cnt('filter/INPUT')).toEqual([2, 168]);
    expect(r.cnt('filter/INPUT#1')).toEqual([1, 84]);
    expect(r.cnt('filter/OUTPUT')).toEqual([2, 168]);
    expect(r.cnt('filter/OUTPUT#1')).toEqual([2, 168]);
    expect(r.cnt('filter/OUTPUT#2')).toEqual([0, 0]);
    expect(r.cnt('filter/OUTPUT#3')).toEqual([2, 168]);
    expect(r.cnt('nat/PREROUTING')).toEqual([1, 84]);
    expect(r.cnt('nat/INPUT')).toEqual([1, 84]);
    expect(r.cnt('nat/OUTPUT')).toEqual([0, 0]);
    expect(r.cnt('nat/POSTROUTING')).toEqual([0, 0]);
    expect(r.cnt('raw/OUTPUT')).toEqual([2, 168]);
    expect(r.engine.stats().rejectReplies).toBe(2n);
  });
});
