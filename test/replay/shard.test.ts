// Sharding decisions: which rulesets take the sequential path, the recent mask, the union of flows
// by dependency records (exact tuples, clashes heating a family), and the plan that co-locates
// joined flows.
import { describe, it, expect } from 'vitest';
import { loadRulesApi } from '../../src/replay/rules-adapter.js';
import { Dependencies, orderedState, recentMask, plan, overrideTable, shardOf, needsDependencyLog } from '../../src/replay/shard.js';

const api = await loadRulesApi();
const nat = (rules: string) => api.parseRuleset(`*nat\n:PREROUTING ACCEPT [0:0]\n:INPUT ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n:POSTROUTING ACCEPT [0:0]\n${rules}\nCOMMIT\n`, 't.rules');
const filter = (rules: string) => api.parseRuleset(`*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n${rules}\nCOMMIT\n`, 't.rules');

/** a log record: flow key, 52-bit tuple hash, kind */
function rec(flow: number, h: number, kind: number): number[] {
  return [flow, h % 0x100000000, Math.floor(h / 0x100000000) | (kind << 20)];
}

describe('sequential path', () => {
  it('ordered state forces it, random statistic and kube-proxy affinity do not', () => {
    expect(orderedState(filter('-A FORWARD -m statistic --mode nth --every 3 --packet 0 -j ACCEPT'))).toMatch(/^statistic --mode nth \(t.rules:5\)/);
    expect(orderedState(filter('-A FORWARD -m statistic --mode random --probability 0.5 -j ACCEPT'))).toBeNull();
    expect(orderedState(filter('-A FORWARD -m limit --limit 3/sec -j ACCEPT'))).toMatch(/^limit/);
    expect(orderedState(nat('-A POSTROUTING -p tcp -j SNAT --to-source 192.0.2.1-192.0.2.9 --persistent'))).toMatch(/SNAT --persistent/);
    expect(orderedState(nat('-A POSTROUTING -p tcp -j SNAT --to-source 192.0.2.1-192.0.2.9'))).toBeNull();
    // recent in filter (sees every packet, not only NEW ones) or keyed by destination
    expect(orderedState(filter('-A FORWARD -m recent --set --name X --mask 255.255.255.255 --rsource'))).toMatch(/recent outside the nat table/);
    expect(orderedState(nat('-A PREROUTING -m recent --set --name X --mask 255.255.255.255 --rdest'))).toMatch(/--rdest/);
    // kube-proxy: --rcheck --seconds 10800 --reap in the SVC chain, --set in the SEP chain
    expect(orderedState(nat('-A PREROUTING -m recent --rcheck --seconds 10800 --reap --name A --mask 255.255.255.255 --rsource -j ACCEPT\n-A PREROUTING -m recent --set --name A --mask 255.255.255.255 --rsource'))).toBeNull();
    // --reap with two windows on one list: reaping (any address's LRU entry) can change answers
    expect(orderedState(nat('-A PREROUTING -m recent --rcheck --seconds 10 --reap --name A --mask 255.255.255.255 --rsource -j ACCEPT\n-A PREROUTING -m recent --rcheck --seconds 60 --name A --mask 255.255.255.255 --rsource -j ACCEPT'))).toMatch(/--reap on list A/);
  });

  it('dependency log only with NAT targets or recent', () => {
    expect(needsDependencyLog(filter('-A FORWARD -m conntrack --ctstate ESTABLISHED -j ACCEPT'))).toBe(false);
    expect(needsDependencyLog(nat('-A POSTROUTING -j MASQUERADE'))).toBe(true);
    expect(needsDependencyLog(nat('-A PREROUTING -p tcp -j DNAT --to-destination 192.0.2.1:80'))).toBe(true);
    expect(needsDependencyLog(nat('-A PREROUTING -m recent --set --name A --mask 255.255.255.255 --rsource'))).toBe(true);
  });

  it('recent mask: AND of the lists, as wire bytes loaded little-endian', () => {
    expect(recentMask(nat('-A PREROUTING -p tcp -j ACCEPT'))).toBeNull();
    // 255.255.255.0 on the wire is ff ff ff 00: little-endian u32 0x00ffffff
    expect(recentMask(nat('-A PREROUTING -m recent --set --name A --mask 255.255.255.0 --rsource\n-A PREROUTING -m recent --set --name B --mask 255.255.255.255 --rsource'))).toBe(0x00ffffff);
    expect(recentMask(nat('-A PREROUTING -m recent --set --name A --mask 255.255.255.255 --rsource'))).toBe(0xffffffff);
  });
});

describe('dependencies', () => {
  it('flows sharing an exact tuple join; a miss joins the connection that created the tuple', () => {
    const d = new Dependencies();
    // flow 11 created a NATed connection: orig tuple 1000, reply tuple 2000 (family 9000);
    // flow 22's packet missed with tuple 2000 (its captured tuple is that reply); flow 33 unrelated
    d.add(new Uint32Array([...rec(11, 1000, 1), ...rec(11, 2000, 2), ...rec(11, 9000, 3), ...rec(22, 2000, 0), ...rec(33, 3000, 1)]));
    expect(d.groups().map((g) => [...g].sort())).toEqual([[11, 22]]);
    expect(d.clashes).toBe(0);
    expect(d.hotFamilies).toBe(0);
  });

  it('a clash (two flows created the same tuple) heats the family: all its flows join, later ones too', () => {
    const d = new Dependencies();
    // flows 1, 2, 3 SNATed towards one server: reply tuples 501, 502, 503, all in family 7777
    d.add(new Uint32Array([...rec(1, 101, 1), ...rec(1, 501, 2), ...rec(1, 7777, 3),
      ...rec(2, 102, 1), ...rec(2, 502, 2), ...rec(2, 7777, 3),
      ...rec(3, 103, 1), ...rec(3, 503, 2), ...rec(3, 7777, 3)]));
    expect(d.groups()).toEqual([]);
    // flow 4 (another shard) picked reply tuple 501 as flow 1 did: a clash
    d.add(new Uint32Array([...rec(4, 104, 1), ...rec(4, 501, 2), ...rec(4, 7777, 3)]));
    expect(d.clashes).toBe(1);
    expect(d.hotFamilies).toBe(1);
    expect(d.groups().map((g) => [...g].sort())).toEqual([[1, 2, 3, 4]]);
    // a later flow of the hot family joins as it comes
    d.add(new Uint32Array([...rec(5, 105, 1), ...rec(5, 505, 2), ...rec(5, 7777, 3)]));
    expect(d.groups().map((g) => [...g].sort())).toEqual([[1, 2, 3, 4, 5]]);
  });

  it('ICMP peer slots (kind 8) and fragments: joins by slot, datagrams counted, JOIN records join', () => {
    const d = new Dependencies();
    d.add(new Uint32Array([...rec(7, 0x10005, 8), ...rec(9, 0x10005, 8), ...rec(12, 0x10006, 8)]));
    d.add(new Uint32Array([...rec(50, 50, 7), ...rec(50, 12, 6), ...rec(51, 51, 7)]));
    expect(d.groups().map((g) => [...g].sort((a, b) => a - b))).toEqual([[7, 9], [12, 50]]);
    expect(d.fragDatagrams.size).toBe(2);
  });

  it('recent sources: flows of one client join, and are counted', () => {
    const d = new Dependencies();
    d.add(new Uint32Array([...rec(1, 42, 5), ...rec(2, 42, 5), ...rec(3, 43, 5)]));
    expect(d.groups().map((g) => [...g].sort())).toEqual([[1, 2]]);
    expect(d.recentSources.size).toBe(2);
  });

  it('plan moves a split group into its smallest key\'s shard; nothing to move, nothing changes', () => {
    const d = new Dependencies();
    d.add(new Uint32Array([...rec(10, 1, 1), ...rec(13, 1, 0)]));   // shards 10 % 4 = 2, 13 % 4 = 1
    const ovr = new Map<number, number>();
    expect([...plan(d, 4, ovr)].sort()).toEqual([1, 2]);
    expect(shardOf(13, 4, ovr)).toBe(2);
    expect(shardOf(10, 4, ovr)).toBe(2);
    expect(plan(d, 4, ovr).size).toBe(0);
    // the override table holds the pair where the core's probe finds it (key & mask, then linear)
    const t = overrideTable(ovr);
    const mask = t.length / 2 - 1;
    let i = 13 & mask;
    while (t[i * 2] !== 13) i = (i + 1) & mask;
    expect(t[i * 2 + 1]).toBe(2);
  });
});
