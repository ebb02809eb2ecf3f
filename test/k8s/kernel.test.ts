// The generated text against the real iptables-legacy-restore, in a throwaway network namespace
// this test creates (and deletes). Nothing touches the root namespace.
import { describe, it, expect } from 'vitest';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { buildCluster, readManifestFile } from '../../src/k8s/manifests.js';
import { generateRules, type ProxierOptions } from '../../src/k8s/proxier.js';
import { synthObjects, SYNTH_CLUSTER } from '../../src/k8s/synth.js';
import { parseRuleset } from '../../src/rules/parse.js';
import { printRuleset } from '../../src/rules/print.js';

const fx = (f: string): string => new URL(`./fixtures/${f}`, import.meta.url).pathname;
const which = (t: string): boolean => spawnSync('sh', ['-c', `command -v ${t}`]).status === 0;
const skipReason =
  process.getuid?.() !== 0 ? 'not root' : !which('iptables-legacy-restore') || !which('iptables-legacy-save') ? 'iptables-legacy-restore/-save not installed' : !which('ip') ? 'iproute2 not installed' : null;

function inNamespace<T>(fn: (ns: string) => T): T {
  const ns = `nfr-k8s-${process.pid}-${Math.floor(Math.random() * 1e6)}`;
  const add = spawnSync('ip', ['netns', 'add', ns]);
  if (add.status !== 0) throw new Error(`ip netns add ${ns}: ${add.stderr}`);
  try {
    return fn(ns);
  } finally {
    spawnSync('ip', ['netns', 'del', ns]);
  }
}

const run = (ns: string, cmd: string[], input?: string) => spawnSync('ip', ['netns', 'exec', ns, ...cmd], { input, encoding: 'utf8', maxBuffer: 1 << 28 });

/** iptables-save text per table, without comment lines (tables come in module-load order). */
function tablesOf(save: string): Map<string, string> {
  const m = new Map<string, string>();
  let cur: string[] | null = null;
  let name = '';
  for (const l of save.split('\n')) {
    if (l.startsWith('#') || l === '') continue;
    if (l.startsWith('*')) {
      name = l.slice(1);
      cur = [l];
      continue;
    }
    cur!.push(l);
    if (l === 'COMMIT') m.set(name, cur!.join('\n'));
  }
  return m;
}

const features = (o: ProxierOptions = {}): string =>
  generateRules(buildCluster(readManifestFile(fx('features.yaml')), { hostname: 'node-0' }), { clusterCIDR: '198.18.0.0/16', nodeIPs: ['192.0.2.10'], ...o }, 'node-0').text;
const synth = (o: ProxierOptions = {}): string =>
  generateRules(
    buildCluster(synthObjects({ services: 300, endpoints: 4, nodeportFraction: 0.3, affinityFraction: 0.3, localFraction: 0.3, udpFraction: 0.2, seed: 5 }), { hostname: SYNTH_CLUSTER.hostname }),
    { clusterCIDR: SYNTH_CLUSTER.clusterCIDR, nodeIPs: [SYNTH_CLUSTER.nodeIP], ...o },
    SYNTH_CLUSTER.hostname,
  ).text;

describe.skipIf(skipReason !== null)(`iptables-legacy-restore accepts the generated rules${skipReason ? ` (skipped: ${skipReason})` : ''}`, () => {
  const cases: [string, () => string][] = [
    ['features (full form)', () => features()],
    ['features, --random-fully, --masquerade-all, bit 0', () => features({ randomFully: true, masqueradeAll: true, masqueradeBit: 0 })],
    ['features, --nodeport-addresses, no localhost nodeports', () => features({ nodePortAddresses: ['192.0.2.0/24'], localhostNodePorts: false })],
    ['synthetic 300x4 with every fraction (large-cluster mode)', () => synth()],
    ['the service3 demo rules', () => readFileSync(new URL('../../pcaps/k8s/service3/rules.txt', import.meta.url), 'utf8')],
  ];
  it.each(cases)('%s: loads, and iptables-save prints what `rules print` prints', (_name, make) => {
    const text = make();
    inNamespace((ns) => {
      const r = run(ns, ['iptables-legacy-restore'], text);
      expect(r.stderr).toBe('');
      expect(r.status).toBe(0);
      const saved = run(ns, ['iptables-legacy-save']);
      expect(saved.status).toBe(0);
      const kernel = tablesOf(saved.stdout);
      const ours = tablesOf(printRuleset(parseRuleset(text, 'generated'), { counters: false }));
      expect([...kernel.keys()].sort()).toEqual([...ours.keys()].sort());
      for (const [t, body] of ours) expect(kernel.get(t)).toBe(body);
    });
  });
  it('the restore form reloads over the full form with --noflush (a kube-proxy resync)', () => {
    inNamespace((ns) => {
      expect(run(ns, ['iptables-legacy-restore'], features()).status).toBe(0);
      const before = run(ns, ['iptables-legacy-save']).stdout;
      const r = run(ns, ['iptables-legacy-restore', '--noflush'], features({ form: 'restore' }));
      expect(r.stderr).toBe('');
      expect(r.status).toBe(0);
      expect(tablesOf(run(ns, ['iptables-legacy-save']).stdout)).toEqual(tablesOf(before));
    });
  });
});
