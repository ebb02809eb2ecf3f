import { describe, it, expect } from 'vitest';
import { readFileSync } from 'node:fs';
import { buildCluster, readManifestFile, parseManifestText } from '../../src/k8s/manifests.js';
import { generateRules } from '../../src/k8s/proxier.js';
import { portProtoHash, sepChain, probability, goFixed, masqueradeMark } from '../../src/k8s/names.js';

const fx = (f: string): string => new URL(`./fixtures/${f}`, import.meta.url).pathname;

describe('kube-proxy chain names', () => {
  // Values printed in kube-proxy's own tests (proxier_test.go) and in real clusters, as collected
  // in kube-proxy-rules.md §3.1.
  it.each([
    ['ns1/svc1:p80', 'tcp', 'XPGD46QRK7WJZT7O'],
    ['default/kubernetes:https', 'tcp', 'NPX46M4PTMTKRN6Y'],
    ['kube-system/kube-dns:dns', 'udp', 'TCOU7JCQXEZGVUNU'],
    ['kube-system/kube-dns:dns-tcp', 'tcp', 'ERIFXISQEP7F7OF4'],
    ['ns2/svc2:p80', 'tcp', 'GNZBNJ2PO5MGZ6GT'],
    ['ns5/svc5:p80', 'tcp', 'NUKIZ6OKUXPJNT4C'],
    ['ns1/svc1', 'tcp', 'AQI2S6QIMU7PVVRP'],
  ])('portProtoHash(%s, %s) = %s', (s, p, h) => {
    expect(portProtoHash(s, p)).toBe(h);
  });
  it.each([
    ['ns1/svc1:p80', 'tcp', '10.180.0.1:80', 'KUBE-SEP-SXIVWICOYRO3J4NJ'],
    ['ns1/svc1:p80', 'tcp', '[ff06::c2]:80', 'KUBE-SEP-XJJ5QXWGJG344QDZ'],
    ['ns1/svc1', 'tcp', '10.0.1.1:80', 'KUBE-SEP-3JOIVZTXZZRGORX4'],
    ['ns1/svc1', 'tcp', '10.0.1.2:80', 'KUBE-SEP-IO5XOSKPAXIFQXAJ'],
    ['ns1/svc1', 'tcp', '10.0.1.3:80', 'KUBE-SEP-XGJFVO3L2O5SRFNT'],
  ])('sepChain(%s, %s, %s) = %s', (s, p, ep, h) => {
    expect(sepChain(s, p, ep)).toBe(h);
  });
});

describe('probabilities', () => {
  // fmt.Sprintf("%0.10f", 1.0/float64(n)): decimal expansions of 1/n rounded at the 10th digit
  // by hand (1/3 = 0.33333333333.. -> ...3333; 1/6 = 0.16666666666.. -> ...6667; 1/7 =
  // 0.142857142857.. -> ...1429; 1/9 = 0.1111111111|1 -> ...1111), and TestComputeProbability's
  // strings for 1/100000 and 1/100001.
  const expected = ['1.0000000000', '0.5000000000', '0.3333333333', '0.2500000000', '0.2000000000', '0.1666666667', '0.1428571429', '0.1250000000', '0.1111111111', '0.1000000000'];
  it.each(expected.map((s, i) => [i + 1, s]))('n=%i -> %s', (n, s) => {
    expect(probability(n as number)).toBe(s);
  });
  it('matches TestComputeProbability for large n', () => {
    expect(probability(100000)).toBe('0.0000100000');
    expect(probability(100001)).toBe('0.0000099999');
  });
  it('rounds exact ties half-to-even like Go (1/2048 = 0.00048828125 exactly)', () => {
    // 2048 = 2^11 so 1/2048 is exact in binary and its 11th decimal is a 5: Go's strconv rounds
    // to even (…812), JavaScript's toFixed would round up (…813).
    expect(goFixed(1 / 2048, 10)).toBe('0.0004882812');
  });
  it('formats the mark as %#08x', () => {
    expect(masqueradeMark(14)).toBe('0x00004000');
    expect(masqueradeMark(0)).toBe('0x00000001');
    expect(masqueradeMark(31)).toBe('0x80000000');
  });
});

describe('proxier against kube-proxy test output', () => {
  it('reproduces TestOverallIPTablesRulesWithMultipleServices', () => {
    // Expected text copied from kube-proxy's test (an independent oracle); the manifests
    // express the same Services/EndpointSlices; options are the fake proxier's.
    const objs = readManifestFile(fx('overall-multiple-services.yaml'));
    const cluster = buildCluster(objs, { hostname: 'test-hostname' });
    const r = generateRules(cluster, { clusterCIDR: '10.0.0.0/8', masqueradeMarkText: '0x4000', nodeIPs: ['192.168.0.2'], form: 'restore' }, 'test-hostname');
    expect(r.text).toBe(readFileSync(fx('overall-multiple-services.expected'), 'utf8'));
  });
});

describe('proxier against TestInternalTrafficPolicyE2E (3 endpoints, unnamed port)', () => {
  it('writes the lines kube-proxy v1.28 writes', () => {
    const text = `
kind: Service
apiVersion: v1
metadata: {name: svc1, namespace: ns1}
spec:
  clusterIP: 172.30.1.1
  ports: [{port: 80, protocol: TCP}]
---
kind: EndpointSlice
apiVersion: discovery.k8s.io/v1
metadata: {name: svc1-x, namespace: ns1, labels: {kubernetes.io/service-name: svc1}}
addressType: IPv4
ports: [{port: 80, protocol: TCP}]
endpoints:
- addresses: [10.0.1.3]
- addresses: [10.0.1.1]
- addresses: [10.0.1.2]
`;
    const out = generateRules(buildCluster(parseManifestText(text, 'e2e.yaml')), { clusterCIDR: '10.0.0.0/8', form: 'restore' }).text.split('\n');
    // Lines from kube-proxy-rules.md §2.4 (v1.28 proxier_test.go TestInternalTrafficPolicyE2E).
    for (const l of [
      '-A KUBE-SERVICES -m comment --comment "ns1/svc1 cluster IP" -m tcp -p tcp -d 172.30.1.1 --dport 80 -j KUBE-SVC-AQI2S6QIMU7PVVRP',
      '-A KUBE-SVC-AQI2S6QIMU7PVVRP -m comment --comment "ns1/svc1 cluster IP" -m tcp -p tcp -d 172.30.1.1 --dport 80 ! -s 10.0.0.0/8 -j KUBE-MARK-MASQ',
      '-A KUBE-SVC-AQI2S6QIMU7PVVRP -m comment --comment "ns1/svc1 -> 10.0.1.1:80" -m statistic --mode random --probability 0.3333333333 -j KUBE-SEP-3JOIVZTXZZRGORX4',
      '-A KUBE-SVC-AQI2S6QIMU7PVVRP -m comment --comment "ns1/svc1 -> 10.0.1.2:80" -m statistic --mode random --probability 0.5000000000 -j KUBE-SEP-IO5XOSKPAXIFQXAJ',
      '-A KUBE-SVC-AQI2S6QIMU7PVVRP -m comment --comment "ns1/svc1 -> 10.0.1.3:80" -j KUBE-SEP-XGJFVO3L2O5SRFNT',
      '-A KUBE-SEP-3JOIVZTXZZRGORX4 -m comment --comment ns1/svc1 -s 10.0.1.1 -j KUBE-MARK-MASQ',
      '-A KUBE-SEP-3JOIVZTXZZRGORX4 -m comment --comment ns1/svc1 -m tcp -p tcp -j DNAT --to-destination 10.0.1.1:80',
    ]) expect(out).toContain(l);
  });
});

describe('kube-proxy v1.28 details (from pkg/proxy/service.go, endpointslicecache.go, topology.go)', () => {
  const rules = (yaml: string, hostname = 'node-0'): string =>
    generateRules(buildCluster(parseManifestText(yaml, 'd.yaml'), { hostname }), { clusterCIDR: '198.18.0.0/16', nodeIPs: ['192.0.2.10'], form: 'restore' }, hostname).text;
  const slice = (svc: string, eps: string): string => `---\nkind: EndpointSlice\nmetadata: {name: ${svc}-1, labels: {kubernetes.io/service-name: ${svc}}}\naddressType: IPv4\nports: [{port: 8080}]\nendpoints:\n${eps}`;
  it('dual-stack: the IPv4 entry of clusterIPs is used even when the primary is IPv6', () => {
    const t = rules(`kind: Service\nmetadata: {name: ds}\nspec:\n  clusterIP: "2001:db8::1"\n  clusterIPs: ["2001:db8::1", 198.19.0.9]\n  ports: [{port: 80, targetPort: 8080}]\n${slice('ds', '- addresses: [198.18.0.5]\n')}`);
    expect(t).toContain('-d 198.19.0.9 --dport 80 -j KUBE-SVC-');
  });
  it('loadBalancerSourceRanges that are not IPv4 CIDRs are dropped', () => {
    const t = rules(`kind: Service\nmetadata: {name: lb}\nspec:\n  type: LoadBalancer\n  clusterIP: 198.19.0.8\n  loadBalancerSourceRanges: ["2001:db8::/64", "bogus", " 198.51.100.0/24 "]\n  ports: [{port: 80, targetPort: 8080, nodePort: 30001}]\nstatus: {loadBalancer: {ingress: [{ip: 203.0.113.9}]}}\n${slice('lb', '- addresses: [198.18.0.5]\n')}`);
    expect(t.match(/^-A KUBE-FW-\S+ .* -s .*$/gm)!.map((l) => l.replace(/^.* -s /, "-s "))).toEqual([expect.stringMatching(/^-s 198\.51\.100\.0\/24 -j KUBE-EXT-[A-Z2-7]{16}$/)]);
  });
  it('a duplicate endpoint counts once, and the local copy wins (externalTrafficPolicy Local)', () => {
    const t = rules(`kind: Service\nmetadata: {name: np}\nspec:\n  type: NodePort\n  externalTrafficPolicy: Local\n  clusterIP: 198.19.0.7\n  ports: [{port: 80, targetPort: 8080, nodePort: 30002}]\n${slice('np', '- addresses: [198.18.0.5]\n  nodeName: node-1\n')}\n${slice('np', '- addresses: [198.18.0.5]\n  nodeName: node-0\n').replace('np-1', 'np-2')}`);
    expect(t.match(/^:KUBE-SEP-/gm)!.length).toBe(1);
    expect(t).toMatch(/^-A KUBE-SVL-\S+ -m comment --comment "default\/np -> 198\.18\.0\.5:8080" -j KUBE-SEP-/m);
  });
  it('terminating endpoints are used only when no endpoint is ready (serving defaults to true)', () => {
    const eps = '- addresses: [198.18.0.5]\n  conditions: {ready: false, terminating: true}\n- addresses: [198.18.0.6]\n  conditions: {ready: false, serving: false, terminating: true}\n';
    const t = rules(`kind: Service\nmetadata: {name: term}\nspec:\n  clusterIP: 198.19.0.6\n  ports: [{port: 80, targetPort: 8080}]\n${slice('term', eps)}`);
    expect(t).toContain('--to-destination 198.18.0.5:8080');
    expect(t).not.toContain('198.18.0.6');
  });
});

describe('proxier options (syncProxyRules branches)', () => {
  const svc = `kind: Service\nmetadata: {name: s}\nspec:\n  type: NodePort\n  clusterIP: 198.19.0.5\n  ports: [{port: 80, targetPort: 8080, nodePort: 30005}]\n---\nkind: EndpointSlice\nmetadata: {name: s-1, labels: {kubernetes.io/service-name: s}}\naddressType: IPv4\nports: [{port: 8080}]\nendpoints: [{addresses: [198.18.0.5]}]\n`;
  const gen = (o: Parameters<typeof generateRules>[1]): string => generateRules(buildCluster(parseManifestText(svc, 's.yaml')), { form: 'restore', ...o }).text;
  it('without --cluster-cidr there is no "! -s CIDR" masquerade rule (no local detector)', () => {
    expect(gen({})).not.toMatch(/KUBE-SVC-\S+ .*-j KUBE-MARK-MASQ/);
  });
  it('--masquerade-all masquerades every ClusterIP connection', () => {
    expect(gen({ clusterCIDR: '198.18.0.0/16', masqueradeAll: true })).toMatch(/^-A KUBE-SVC-\S+ -m comment --comment "default\/s cluster IP" -m tcp -p tcp -d 198\.19\.0\.5 --dport 80 -j KUBE-MARK-MASQ$/m);
  });
  it('--random-fully and --masquerade-bit', () => {
    const t = gen({ randomFully: true, masqueradeBit: 5 });
    expect(t).toContain('-A KUBE-POSTROUTING -m comment --comment "kubernetes service traffic requiring SNAT" -j MASQUERADE --random-fully');
    expect(t).toContain('-A KUBE-MARK-MASQ -j MARK --or-mark 0x00000020');
    expect(t).toContain('-A KUBE-POSTROUTING -m mark ! --mark 0x00000020/0x00000020 -j RETURN');
  });
  it('localhost NodePorts off: no KUBE-FIREWALL chain, the tail rule excludes 127.0.0.0/8', () => {
    const t = gen({ localhostNodePorts: false });
    expect(t).not.toContain('KUBE-FIREWALL');
    expect(t).toContain('-A KUBE-SERVICES -m comment --comment "kubernetes service nodeports; NOTE: this must be the last rule in this chain" -m addrtype --dst-type LOCAL ! -d 127.0.0.0/8 -j KUBE-NODEPORTS');
  });
  it('--nodeport-addresses: one tail rule per node IP inside the CIDRs, and no localhost NodePorts', () => {
    const t = gen({ nodePortAddresses: ['192.0.2.0/24'], nodeIPs: ['192.0.2.10', '203.0.113.10', '192.0.2.11'] });
    // NewProxier turns localhostNodePorts off when the addresses do not contain 127.0.0.0.
    expect(t).not.toContain('KUBE-FIREWALL');
    expect(gen({ nodePortAddresses: ['192.0.2.0/24', '127.0.0.0/8'], nodeIPs: ['192.0.2.10'] })).toContain(':KUBE-FIREWALL - [0:0]');
    // 0.0.0.0/0 means all local addresses: the addrtype tail rule.
    expect(gen({ nodePortAddresses: ['192.0.2.0/24', '0.0.0.0/0'], nodeIPs: ['192.0.2.10'] })).toContain('-m addrtype --dst-type LOCAL -j KUBE-NODEPORTS');
    expect(t.match(/^-A KUBE-SERVICES .*-j KUBE-NODEPORTS$/gm)).toEqual([
      '-A KUBE-SERVICES -m comment --comment "kubernetes service nodeports; NOTE: this must be the last rule in this chain" -d 192.0.2.10 -j KUBE-NODEPORTS',
      '-A KUBE-SERVICES -m comment --comment "kubernetes service nodeports; NOTE: this must be the last rule in this chain" -d 192.0.2.11 -j KUBE-NODEPORTS',
    ]);
  });
  it('the full form adds builtin chains and the jump rules in kube-proxy\'s -I order', () => {
    const t = gen({ form: 'full' });
    const input = t.split('\n').filter((l) => l.startsWith('-A INPUT '));
    // Each jump is inserted at the top of its chain (EnsureRule Prepend): kubelet's KUBE-FIREWALL
    // first (it runs before the kube-proxy pod), then kube-proxy's iptablesJumpChains in list
    // order, so the last one listed for INPUT comes first and KUBE-FIREWALL ends up last, as in
    // real node dumps.
    expect(input).toEqual([
      '-A INPUT -m conntrack --ctstate NEW -m comment --comment "kubernetes load balancer firewall" -j KUBE-PROXY-FIREWALL',
      '-A INPUT -m comment --comment "kubernetes health check service ports" -j KUBE-NODEPORTS',
      '-A INPUT -m conntrack --ctstate NEW -m comment --comment "kubernetes externally-visible service portals" -j KUBE-EXTERNAL-SERVICES',
      '-A INPUT -j KUBE-FIREWALL',
    ]);
    expect(t).toContain('*nat\n:PREROUTING ACCEPT [0:0]\n:INPUT ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n:POSTROUTING ACCEPT [0:0]\n');
    expect(t).toContain('-A PREROUTING -m comment --comment "kubernetes service portals" -j KUBE-SERVICES\n');
  });
});
