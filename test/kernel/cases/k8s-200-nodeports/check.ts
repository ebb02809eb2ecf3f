// Invariants derived from the capture and the rules text alone (the numbers depend on the generator's
// draws, so they are computed here, not typed in):
// - connections = distinct client flows arriving on eth0; each is NEW once: nat PREROUTING's jump to
//   KUBE-SERVICES counts exactly that many.
// - the only drops are the NodePorts with externalTrafficPolicy Local and no local endpoint (filter
//   KUBE-EXTERNAL-SERVICES, reached from INPUT since such packets stay addressed to the node): their
//   counters add up to the client packets sent to those ports; every other connection is DNATed once
//   (the KUBE-SEP DNAT rules add up to the remaining connections) and masqueraded (clients are outside
//   the cluster CIDR, NodePorts are Cluster policy): KUBE-MARK-MASQ and MASQUERADE count them too.
// - one endpoint per Service, so the generator's replies are exact: no INVALID packet (KUBE-FORWARD 1 = 0),
//   every reply and later packet ESTABLISHED (KUBE-FORWARD 3 = forwarded packets - first packets).
// - egress = frames in - dropped; conntrack = one entry per accepted connection, TCP closed
//   (TIME_WAIT, ASSURED), UDP replied.
import { expect } from 'vitest';
import type { KernelResult } from '../../lib/harness.js';
import { readCapture } from '../../lib/pcapfile.js';
import { readFileSync } from 'node:fs';

export function check(k: KernelResult): void {
  const p = (key: string) => Number(k.counters.get(key)?.packets ?? -1);
  const rules = [...k.counters.values()];
  const cap = readCapture(readFileSync(k.pcapPath));
  const clientPkts = cap.packets.filter((x) => x.iface === 'eth0' || x.iface === undefined).map((x) => x.data.subarray(14))
    .filter((ip) => !(ip[12] === 198 && ip[13] === 18));
  const flowKey = (ip: Uint8Array) => { const h = (ip[0] & 15) * 4; return `${ip.subarray(12, 20).join('.')}:${ip[9]}:${ip[h] << 8 | ip[h + 1]}:${ip[h + 2] << 8 | ip[h + 3]}`; };
  const connections = new Set(clientPkts.map(flowKey)).size;
  expect(p('nat:PREROUTING:1')).toBe(connections);
  // Drop rules: NodePorts of eTP=Local Services without a local endpoint.
  const dropRules = rules.filter((c) => c.table === 'filter' && / -j DROP$/.test(c.text) && /has no local endpoints/.test(c.text) && /--dport (\d+)/.test(c.text));
  const dropPorts = new Set(dropRules.filter((c) => c.chain === 'KUBE-EXTERNAL-SERVICES').map((c) => Number(/--dport (\d+)/.exec(c.text)![1])));
  const toDropped = clientPkts.filter((ip) => ip.subarray(16, 20).join('.') === '192.0.2.10' && dropPorts.has(ip[20 + 2] << 8 | ip[20 + 3]));
  const dropped = toDropped.length;
  const droppedConns = new Set(toDropped.map(flowKey)).size;
  expect(dropRules.reduce((s, c) => s + Number(c.packets), 0)).toBe(dropped);
  expect(rules.filter((c) => c.table === 'filter' && / -j (DROP|REJECT)/.test(c.text) && !dropRules.includes(c)).every((c) => c.packets === 0n)).toBe(true);
  const accepted = connections - droppedConns;
  const dnat = rules.filter((c) => c.chain.startsWith('KUBE-SEP-') && / -j DNAT /.test(c.text)).reduce((s, c) => s + Number(c.packets), 0);
  expect(dnat).toBe(accepted);
  expect(p('nat:KUBE-MARK-MASQ:1')).toBe(accepted);
  expect(p('nat:KUBE-POSTROUTING:3')).toBe(accepted);
  const forwarded = cap.packets.length - dropped;
  expect(p('filter:KUBE-FORWARD:1')).toBe(0);
  expect(p('filter:KUBE-FORWARD:2')).toBe(accepted); // first packets: marked for masquerade
  expect(p('filter:KUBE-FORWARD:3')).toBe(forwarded - accepted);
  expect(k.egress.length).toBe(forwarded);
  expect(k.conntrack.length).toBe(accepted);
  expect(new Set(k.conntrack.map((e) => (e.proto === 'tcp' ? `tcp ${e.state} ${e.flags.join(',')}` : `${e.proto} ${e.flags.join(',')}`))))
    .toEqual(new Set(['tcp TIME_WAIT ASSURED', 'udp ']));
  expect(k.conntrack.every((e) => e.reply.dst === '192.0.2.10' || e.reply.dst.startsWith('203.0.113.') || e.reply.dst.startsWith('198.51.100.'))).toBe(true);
}
