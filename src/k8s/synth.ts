// Synthetic clusters: N Services x M endpoints as Service + EndpointSlice objects (the same objects
// `kubectl get -o json` would show), run through the same reader and proxier as real manifests.
//
// Addresses (benchmark/documentation ranges only):
//   ClusterIPs  198.19.0.1 ... (198.19.0.0/16, so at most 65,534 Services)
//   pod IPs     198.18.0.2 ... 198.18.255.255 (198.18.0.0/16, the cluster CIDR); when N*M needs more
//               than 65,534 pod IPs the addresses repeat with the next target port (8080, 8081, ...)
//               so every endpoint "ip:port" stays unique
//   nodes       192.0.2.10 (this node, "node-0"), 192.0.2.11, ... (--nodes)
// Services are `synth/svc-NNNNN`, port "http" 80/TCP -> 8080 (or "dns" 53/UDP -> 5353 for the UDP
// fraction). NodePorts count up from 30000. Which Services get a NodePort, Local traffic policy,
// ClientIP affinity or UDP is drawn from a seeded generator, four draws per Service, so a seed
// always gives the same cluster.
import type { Obj, SourcedObject } from './manifests.js';
import { intToIp, ipToInt } from './manifests.js';
import { mulberry32 } from '../util/random.js';

export interface SynthOptions {
  services: number;
  endpoints: number;
  nodeportFraction?: number;
  affinityFraction?: number;
  localFraction?: number;
  udpFraction?: number;
  nodes?: number;
  seed?: number;
}

/** The options `k8s rules` needs to turn the synthetic manifests into the same rules. */
export const SYNTH_CLUSTER = {
  hostname: 'node-0',
  clusterCIDR: '198.18.0.0/16',
  nodeIP: '192.0.2.10',
};

export function synthObjects(o: SynthOptions): SourcedObject[] {
  const N = o.services;
  const M = o.endpoints;
  if (!Number.isInteger(N) || N < 0 || N > 65534) throw new RangeError(`--services must be an integer 0..65534 (got ${N})`);
  if (!Number.isInteger(M) || M < 0 || M > 100000) throw new RangeError(`--endpoints must be an integer 0..100000 (got ${M})`);
  const nodes = o.nodes ?? 3;
  if (!Number.isInteger(nodes) || nodes < 1 || nodes > 200) throw new RangeError(`--nodes must be 1..200 (got ${nodes})`);
  for (const [k, v] of [['nodeport', o.nodeportFraction], ['affinity', o.affinityFraction], ['local', o.localFraction], ['udp', o.udpFraction]] as const) {
    if (v !== undefined && !(v >= 0 && v <= 1)) throw new RangeError(`--${k}-fraction must be between 0 and 1 (got ${v})`);
  }
  const rnd = mulberry32(o.seed ?? 1);
  const svcBase = ipToInt('198.19.0.0');
  const podBase = ipToInt('198.18.0.0');
  const POD_IPS = 65534; // 198.18.0.2 .. 198.18.255.255
  let podCounter = 0;
  let nextNodePort = 30000;
  const out: SourcedObject[] = [];
  const file = '<synth>';
  const width = Math.max(5, String(N).length);
  for (let i = 0; i < N; i++) {
    const nodePortDraw = rnd();
    const localDraw = rnd();
    const affinityDraw = rnd();
    const udpDraw = rnd();
    const isNodePort = nodePortDraw < (o.nodeportFraction ?? 0);
    const isLocal = localDraw < (o.localFraction ?? 0);
    const hasAffinity = affinityDraw < (o.affinityFraction ?? 0);
    const udp = udpDraw < (o.udpFraction ?? 0);
    const name = `svc-${String(i).padStart(width, '0')}`;
    const port: Obj = udp ? { name: 'dns', port: 53, protocol: 'UDP', targetPort: 5353 } : { name: 'http', port: 80, protocol: 'TCP', targetPort: 8080 };
    const spec: Obj = { type: isNodePort ? 'NodePort' : 'ClusterIP', clusterIP: intToIp(svcBase + 1 + i), ports: [port] };
    if (isNodePort) {
      if (nextNodePort > 65535) throw new RangeError('more NodePort Services than ports 30000..65535');
      port.nodePort = nextNodePort++;
    }
    if (isLocal) {
      if (isNodePort) spec.externalTrafficPolicy = 'Local';
      else spec.internalTrafficPolicy = 'Local';
    }
    if (hasAffinity) {
      spec.sessionAffinity = 'ClientIP';
      spec.sessionAffinityConfig = { clientIP: { timeoutSeconds: 10800 } };
    }
    out.push({ obj: { apiVersion: 'v1', kind: 'Service', metadata: { name, namespace: 'synth' }, spec }, file, line: 1 });
    if (M === 0) continue;
    const eps: Obj[] = [];
    let targetPort = port.targetPort as number;
    const epPorts = new Map<number, Obj[]>();
    for (let j = 0; j < M; j++) {
      const g = podCounter++;
      const ip = intToIp(podBase + 2 + (g % POD_IPS));
      targetPort = (port.targetPort as number) + Math.floor(g / POD_IPS);
      const e = { addresses: [ip], conditions: { ready: true }, nodeName: `node-${(i + j) % nodes}` };
      let l = epPorts.get(targetPort);
      if (!l) epPorts.set(targetPort, (l = []));
      l.push(e);
      eps.push(e);
    }
    // One slice per target port (a slice has one port list), as the controller would make them.
    let k = 0;
    for (const [tp, list] of epPorts) {
      out.push({
        obj: {
          apiVersion: 'discovery.k8s.io/v1',
          kind: 'EndpointSlice',
          metadata: { name: `${name}-${k++}`, namespace: 'synth', labels: { 'kubernetes.io/service-name': name } },
          addressType: 'IPv4',
          endpoints: list,
          ports: [{ name: port.name, port: tp, protocol: port.protocol }],
        },
        file,
        line: 1,
      });
    }
  }
  return out;
}

/** The objects as a `kind: List` JSON document, one item per line. */
export function objectsToListJSON(objs: SourcedObject[], note: string): string {
  const head = JSON.stringify({ apiVersion: 'v1', kind: 'List', metadata: { annotations: { 'nfreplay/rules-options': note } } });
  const items = objs.map((o) => JSON.stringify(o.obj));
  return `${head.slice(0, -1)},"items":[\n${items.join(',\n')}\n]}\n`;
}
