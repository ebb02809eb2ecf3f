// nfreplay demo: the bundled seed scenario — a Service with three endpoints behind a ClusterIP,
// kube-proxy's rules (pcaps/k8s/service3/rules.txt) and a capture of client connections with
// replies (service3.pcap) — replayed on node-0 (192.0.2.10). Prints the chain hit counts and the
// DNAT split per endpoint.
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import { dirname, join, relative } from 'node:path';
import type { Command } from '../commands.js';
import type { HostModel } from '../host/index.js';
import { replay, errorText } from './replay.js';
import { targetText } from '../replay/rules-adapter.js';
import { formatTotals } from '../report/text.js';

/** node-0 as gen.sh describes it: 192.0.2.10 on eth0; clients arrive via the default gateway;
 *  the endpoint pods (198.18.32.0/24) live on another node reached via 192.0.2.20, so MASQUERADE
 *  picks 192.0.2.10 — the address the capture's replies are sent to. */
export function demoHost(): HostModel {
  return {
    interfaces: [{ name: 'eth0', addresses: ['192.0.2.10/24'] }],
    routes: [
      { dst: 'default', via: '192.0.2.254', dev: 'eth0' },
      { dst: '198.18.0.0/16', via: '192.0.2.20', dev: 'eth0' },
    ],
    ingress: 'eth0',
    sysctl: {},
  };
}

export function demoDir(): string {
  return join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'pcaps', 'k8s', 'service3');
}

const HELP = `nfreplay demo [--seed N] [--linear]
Replay the bundled scenario: a 3-endpoint Service behind a ClusterIP (kube-proxy iptables rules)
and 1,400 client connections; print chain hit counts and how DNAT spread the connections.

Example:
  nfreplay demo --seed 7
`;

export const demoCommand: Command = {
  name: 'demo',
  summary: 'replay the bundled 3-endpoint Service scenario and show the DNAT split',
  help: HELP,
  async run(argv) {
    let v;
    try {
      v = parseArgs({ args: argv, options: { seed: { type: 'string' }, linear: { type: 'boolean' } } }).values;
    } catch (e) {
      process.stderr.write(`nfreplay demo: ${(e as Error).message}\n`);
      return 2;
    }
    const dir = demoDir();
    const rules = join(dir, 'rules.txt'), pcap = join(dir, 'service3.pcap');
    try {
      const r = await replay({ rules, pcap, hostModel: demoHost(), seed: v.seed ? Number(v.seed) : 1, linear: v.linear });
      const k = r.engine.counters();
      const c = r.compiled;
      const out: string[] = [];
      const rel = (p: string) => relative(process.cwd(), p) || p;
      out.push(`nfreplay demo: kube-proxy Service with three endpoints, replayed on node-0 (192.0.2.10)`);
      out.push(`  rules:   ${rel(rules)}`, `  capture: ${rel(pcap)} (${r.engine.packets} packets)`, '');
      out.push('chain hits (packets that entered the chain):');
      for (const ch of c.chains) {
        if (ch.builtin) continue;
        let hits = 0n;
        for (const ri of c.rules) {
          const t = ri.model.target;
          if (t?.kind === 'jump' && t.chain === ch.name && ri.model.table === ch.table) hits += k.packets[ri.index];
        }
        if (hits > 0n) out.push(`  ${ch.table.padEnd(7)} ${ch.name.padEnd(28)} ${String(hits).padStart(8)}`);
      }
      out.push('', 'DNAT split per endpoint (new connections):');
      const dnat = c.rules.filter((ri) => ri.model.target?.kind === 'module' && ri.model.target.module === 'DNAT');
      const total = dnat.reduce((a, ri) => a + k.packets[ri.index], 0n);
      for (const ri of dnat) {
        const n = k.packets[ri.index];
        const pct = total > 0n ? (Number(n) * 100) / Number(total) : 0;
        out.push(`  ${targetText(r.api, ri.model).trim().padEnd(36)} ${String(n).padStart(8)}  ${pct.toFixed(1).padStart(5)}%`);
      }
      const st = r.engine.stats();
      out.push('', formatTotals({ packets: r.engine.packets, ...st }), '');
      process.stdout.write(out.join('\n'));
      return 0;
    } catch (e) {
      process.stderr.write(`${errorText(e, 'demo')}\n`);
      return 2;
    }
  },
};
