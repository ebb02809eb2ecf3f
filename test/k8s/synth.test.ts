import { describe, it, expect } from 'vitest';
import { createHash } from 'node:crypto';
import { synthObjects, objectsToListJSON, SYNTH_CLUSTER } from '../../src/k8s/synth.js';
import { buildCluster, parseManifestText } from '../../src/k8s/manifests.js';
import { generateRules } from '../../src/k8s/proxier.js';

const rules = (o: Parameters<typeof synthObjects>[0]): string =>
  generateRules(buildCluster(synthObjects(o), { hostname: SYNTH_CLUSTER.hostname }), { clusterCIDR: SYNTH_CLUSTER.clusterCIDR, nodeIPs: [SYNTH_CLUSTER.nodeIP] }, SYNTH_CLUSTER.hostname).text;
const sha = (s: string): string => createHash('sha256').update(s).digest('hex');

describe('k8s synth', () => {
  const opts = { services: 200, endpoints: 4, nodeportFraction: 0.3, affinityFraction: 0.2, localFraction: 0.2, udpFraction: 0.1, seed: 42 };
  it('is deterministic for a seed and differs for another seed', () => {
    const a = rules(opts);
    expect(sha(rules(opts))).toBe(sha(a));
    expect(sha(rules({ ...opts, seed: 43 }))).not.toBe(sha(a));
  });
  it('has the rule counts of kube-proxy-rules.md §4.1 for plain ClusterIP services', () => {
    // ClusterIP N x M (restore input): nat rules = 5 + N(2+3M) (KUBE-SERVICES jump, masq rule,
    // M SVC->SEP jumps, 2 SEP rules per endpoint; 5 fixed rules); filter = 4 rules.
    const N = 10;
    const M = 10;
    const r = generateRules(buildCluster(synthObjects({ services: N, endpoints: M }), { hostname: SYNTH_CLUSTER.hostname }), { clusterCIDR: SYNTH_CLUSTER.clusterCIDR, form: 'restore' }, SYNTH_CLUSTER.hostname);
    expect(r.natRules).toBe(5 + N * (2 + 3 * M));
    expect(r.filterRules).toBe(4);
    expect(r.natChains).toBe(4 + N * (1 + M));
  });
  it('--manifests-out reproduces the same rules through the manifest reader', () => {
    const objs = synthObjects(opts);
    const text = objectsToListJSON(objs, 'x');
    const back = generateRules(buildCluster(parseManifestText(text, 'synth.json'), { hostname: SYNTH_CLUSTER.hostname }), { clusterCIDR: SYNTH_CLUSTER.clusterCIDR, nodeIPs: [SYNTH_CLUSTER.nodeIP] }, SYNTH_CLUSTER.hostname).text;
    expect(back).toBe(rules(opts));
  });
  it('switches to large-cluster mode above 1000 endpoints (no per-endpoint comments)', () => {
    const small = rules({ services: 250, endpoints: 4 }); // 1000 endpoints: not large
    const large = rules({ services: 251, endpoints: 4 }); // 1004
    expect(small).toMatch(/-A KUBE-SEP-\S+ -m comment --comment synth\/svc-00000:http -s /);
    expect(large).toMatch(/-A KUBE-SEP-\S+ -s 198\.18\./);
    expect(large).not.toMatch(/-> 198\.18/);
    // KUBE-SERVICES keeps its comments in large-cluster mode.
    expect(large).toContain('--comment "synth/svc-00250:http cluster IP"');
  });
  it('generates 10,000 services x 5 endpoints quickly', () => {
    // CPU time, not wall time: the machine is shared. Typically ~0.8 s on an idle core (V8's GC
    // threads are included in the process's CPU time, hence the margin).
    const c0 = process.cpuUsage();
    const text = rules({ services: 10000, endpoints: 5, nodeportFraction: 0.2, seed: 7 });
    const c = process.cpuUsage(c0);
    expect(text.length).toBeGreaterThan(10_000_000);
    expect((c.user + c.system) / 1000).toBeLessThan(4000);
  });
  it('keeps endpoint ip:port unique when pod IPs wrap (N*M > 65534)', () => {
    const objs = synthObjects({ services: 3, endpoints: 30000 });
    const seen = new Set<string>();
    for (const o of objs) {
      if (o.obj.kind !== 'EndpointSlice') continue;
      for (const e of o.obj.endpoints) seen.add(`${e.addresses[0]}:${o.obj.ports[0].port}`);
    }
    expect(seen.size).toBe(90000);
  });
});
