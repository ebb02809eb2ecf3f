// Kubernetes objects in, kube-proxy's view out: Services become service ports, EndpointSlices /
// Endpoints / Pods / Deployments become endpoints, the way kube-proxy (v1.28, iptables mode, IPv4)
// sees them through its ServiceChangeTracker and EndpointSliceCache.
//
// Input: JSON or YAML files holding single objects, `List` kinds (kind: List or any *List with
// `items`) and multi-document YAML as `kubectl get -o yaml|json` writes them.
import { readFileSync } from 'node:fs';
import { parseYamlDocuments, SourceError, YamlError, yamlLine, type YamlValue } from './yaml.js';

/** A manifest that cannot be read or understood (a YamlError is reported as one). */
export class ManifestError extends SourceError {}

// deno-lint-ignore no-explicit-any
export type Obj = Record<string, any>;

/** An object read from a file, with where it came from (for error messages). */
export interface SourcedObject {
  obj: Obj;
  file: string;
  line: number; // first line of the document/item when known (1 otherwise)
}

export type Protocol = 'TCP' | 'UDP' | 'SCTP';

/** One port of one Service, as kube-proxy's servicePortInfo. */
export interface ServicePort {
  namespace: string;
  name: string;
  portName: string;
  /** ServicePortName.String(): "ns/name" or "ns/name:portName". */
  svcPortName: string;
  protocol: Protocol;
  port: number;
  targetPort: number | string | null;
  nodePort: number;
  clusterIP: string;
  externalIPs: string[];
  loadBalancerIPs: string[];
  loadBalancerSourceRanges: string[];
  /** externalTrafficPolicy Local on a NodePort/LoadBalancer Service. */
  externalPolicyLocal: boolean;
  internalPolicyLocal: boolean;
  /** Only for LoadBalancer + externalTrafficPolicy Local. */
  healthCheckNodePort: number;
  sessionAffinityClientIP: boolean;
  stickyMaxAgeSeconds: number;
  /** spec.selector (null when none: endpoints only from Endpoints/EndpointSlices). */
  selector: Record<string, string> | null;
}

export interface Endpoint {
  ip: string;
  port: number;
  /** "ip:port" (net.JoinHostPort). */
  endpoint: string;
  ready: boolean;
  serving: boolean;
  terminating: boolean;
  nodeName: string | null;
  /** The pod behind it, when known (targetRef / Pod name / synthesised): for --scale. */
  pod?: string;
}

export interface Cluster {
  servicePorts: ServicePort[];
  /** Keyed by `${svcPortName}/${protocol}`, sorted by "ip:port" string as kube-proxy sorts them. */
  endpoints: Map<string, Endpoint[]>;
  /** Objects of kinds this reader ignores (e.g. ConfigMap), "Kind ns/name" each. */
  ignored: string[];
  /** Pods synthesised from Deployments (for --manifests-out / reports): "ns/pod ip". */
  synthesizedPods: string[];
}

export interface ClusterOptions {
  /** This node's name: endpoints with this nodeName are local (externalTrafficPolicy/internalTrafficPolicy Local). */
  hostname?: string;
  /** CIDR used to give pod IPs to the replicas of Deployments that back a Service with no endpoints. */
  podCIDR?: string;
  /** deployment name (or ns/name) -> replicas, for what-if runs. */
  scale?: Map<string, number>;
}

export const epKey = (svcPortName: string, protocol: Protocol): string => `${svcPortName}/${protocol}`;

// ---------------------------------------------------------------------------------------------
// Reading files

/** Read one manifest file (JSON or YAML); returns its objects with List kinds flattened. */
export function readManifestFile(path: string): SourcedObject[] {
  let text: string;
  try {
    text = readFileSync(path === '-' ? 0 : path, 'utf8');
  } catch (e) {
    throw new ManifestError(path, 0, 0, `cannot read: ${(e as Error).message}`);
  }
  return parseManifestText(text, path);
}

export function parseManifestText(text: string, file: string): SourcedObject[] {
  const trimmed = text.replace(/^\uFEFF/, '').trimStart();
  const out: SourcedObject[] = [];
  if (trimmed.startsWith('{') || trimmed.startsWith('[')) {
    let v: unknown;
    try {
      v = JSON.parse(text.replace(/^\uFEFF/, ''));
    } catch (e) {
      const body = text.replace(/^\uFEFF/, '');
      const { pos, msg } = jsonErrorAt(body) ?? { pos: 0, msg: (e as Error).message };
      const { line, column } = lineCol(body, pos);
      throw new ManifestError(file, line, column, `invalid JSON: ${msg}`);
    }
    const docs = Array.isArray(v) ? v : [v];
    for (const d of docs) flatten(d, file, 1, out);
    return out;
  }
  let docs: YamlValue[];
  try {
    docs = parseYamlDocuments(text, file);
  } catch (e) {
    if (e instanceof YamlError) throw new ManifestError(e.file, e.line, e.column, e.detail);
    throw e;
  }
  // Document start lines, for messages.
  const starts = docStartLines(text);
  docs.forEach((d, i) => flatten(d, file, starts[i] ?? 1, out));
  return out;
}

function docStartLines(text: string): number[] {
  const lines = text.split('\n');
  const starts: number[] = [];
  let inDoc = false;
  for (let i = 0; i < lines.length; i++) {
    const l = lines[i];
    if (/^---(\s|$)/.test(l) || /^\.\.\.(\s|$)/.test(l)) {
      inDoc = false;
      continue;
    }
    if (!inDoc && l.trim() !== '' && !l.trim().startsWith('#')) {
      starts.push(i + 1);
      inDoc = true;
    }
  }
  return starts;
}

/**
 * Where a JSON text is wrong (JSON.parse's messages do not always carry a position): a strict
 * scan that returns the offset and a description of the first offending token.
 */
function jsonErrorAt(t: string): { pos: number; msg: string } | null {
  let i = 0;
  const ws = (): void => {
    while (i < t.length && ' \t\n\r'.includes(t[i])) i++;
  };
  const bad = (what: string): never => {
    throw { pos: i, msg: i >= t.length ? `unexpected end of input (${what})` : `unexpected '${t[i]}' (${what})` };
  };
  const str = (): void => {
    i++;
    while (i < t.length && t[i] !== '"') {
      if (t[i] === '\\') i++;
      else if (t.charCodeAt(i) < 0x20) bad('control character in string');
      i++;
    }
    if (i >= t.length) bad('unterminated string');
    i++;
  };
  const value = (): void => {
    ws();
    const c = t[i];
    if (c === '{') {
      i++;
      ws();
      if (t[i] === '}') {
        i++;
        return;
      }
      for (;;) {
        ws();
        if (t[i] !== '"') bad('expected a string key');
        str();
        ws();
        if (t[i] !== ':') bad("expected ':'");
        i++;
        value();
        ws();
        if (t[i] === ',') i++;
        else if (t[i] === '}') {
          i++;
          return;
        } else bad("expected ',' or '}'");
      }
    }
    if (c === '[') {
      i++;
      ws();
      if (t[i] === ']') {
        i++;
        return;
      }
      for (;;) {
        value();
        ws();
        if (t[i] === ',') i++;
        else if (t[i] === ']') {
          i++;
          return;
        } else bad("expected ',' or ']'");
      }
    }
    if (c === '"') return str();
    const m = /^(-?(0|[1-9]\d*)(\.\d+)?([eE][-+]?\d+)?|true|false|null)/.exec(t.slice(i, i + 400));
    if (!m) bad('expected a value');
    i += m![0].length;
  };
  try {
    value();
    ws();
    if (i < t.length) bad('text after the JSON value');
    return null;
  } catch (e) {
    return e as { pos: number; msg: string };
  }
}

function lineCol(text: string, pos: number): { line: number; column: number } {
  let line = 1;
  let col = 1;
  for (let i = 0; i < pos && i < text.length; i++) {
    if (text[i] === '\n') {
      line++;
      col = 1;
    } else col++;
  }
  return { line, column: col };
}

function flatten(v: unknown, file: string, parentLine: number, out: SourcedObject[]): void {
  const line = yamlLine(v) ?? parentLine;
  if (v === null || v === undefined) return;
  if (typeof v !== 'object' || Array.isArray(v)) {
    throw new ManifestError(file, line, 1, `expected a Kubernetes object (a mapping with 'kind'), got ${Array.isArray(v) ? 'a sequence' : JSON.stringify(v)}`);
  }
  const o = v as Obj;
  if (typeof o.kind !== 'string') throw new ManifestError(file, line, 1, `object without 'kind'`);
  if ((o.kind === 'List' || o.kind.endsWith('List')) && Array.isArray(o.items)) {
    for (const it of o.items) {
      if (it && typeof it === 'object' && !it.kind && o.kind !== 'List') it.kind = o.kind.slice(0, -4);
      flatten(it, file, line, out);
    }
    return;
  }
  out.push({ obj: o, file, line });
}

// ---------------------------------------------------------------------------------------------
// Building kube-proxy's view

const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);

/** An integer field in [min, max] (absent: def). */
function int(src: SourcedObject, v: unknown, name: string, min: number, max: number, def: number): number {
  if (v === undefined || v === null) return def;
  const n = typeof v === 'number' ? v : typeof v === 'string' && /^\d+$/.test(v) ? Number(v) : NaN;
  if (!Number.isInteger(n) || n < min || n > max) fail(src, `${name} must be an integer ${min}..${max}, not ${JSON.stringify(v)}`);
  return n;
}

function fail(src: SourcedObject, msg: string): never {
  const o = src.obj;
  const ns = o.metadata?.namespace ?? 'default';
  throw new ManifestError(src.file, src.line, 1, `${o.kind} ${ns}/${o.metadata?.name ?? '?'}: ${msg}`);
}

export function isIPv4(s: string): boolean {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(s);
  return !!m && m.slice(1).every((x) => Number(x) <= 255 && (x === '0' || !x.startsWith('0')));
}

export function parseCIDR(s: string): { base: number; prefix: number } | null {
  const m = /^([^/]+)\/(\d{1,2})$/.exec(s.trim());
  if (!m || !isIPv4(m[1]) || Number(m[2]) > 32) return null;
  const prefix = Number(m[2]);
  const mask = prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
  return { base: (ipToInt(m[1]) & mask) >>> 0, prefix };
}

export function ipToInt(s: string): number {
  const p = s.split('.').map(Number);
  return ((p[0] << 24) | (p[1] << 16) | (p[2] << 8) | p[3]) >>> 0;
}
export function intToIp(n: number): string {
  return `${n >>> 24}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}`;
}

type Shape = 'map' | 'list' | 'string' | 'scalar';
const SHAPES: Record<string, [string, Shape][]> = {
  '*': [['metadata', 'map'], ['metadata.name', 'string'], ['metadata.namespace', 'string'], ['metadata.labels', 'map'], ['metadata.labels.*', 'scalar']],
  Service: [
    ['spec', 'map'], ['spec.type', 'string'], ['spec.clusterIP', 'string'], ['spec.clusterIPs', 'list'], ['spec.clusterIPs.*', 'string'],
    ['spec.ports', 'list'], ['spec.ports.*', 'map'], ['spec.ports.*.name', 'string'], ['spec.ports.*.protocol', 'string'], ['spec.ports.*.targetPort', 'scalar'],
    ['spec.externalIPs', 'list'], ['spec.externalIPs.*', 'string'], ['spec.loadBalancerSourceRanges', 'list'], ['spec.loadBalancerSourceRanges.*', 'string'],
    ['spec.selector', 'map'], ['spec.selector.*', 'scalar'], ['spec.sessionAffinityConfig', 'map'], ['spec.sessionAffinityConfig.clientIP', 'map'],
    ['status', 'map'], ['status.loadBalancer', 'map'], ['status.loadBalancer.ingress', 'list'], ['status.loadBalancer.ingress.*', 'map'],
  ],
  EndpointSlice: [
    ['ports', 'list'], ['ports.*', 'map'], ['ports.*.name', 'string'], ['ports.*.protocol', 'string'],
    ['endpoints', 'list'], ['endpoints.*', 'map'], ['endpoints.*.addresses', 'list'], ['endpoints.*.addresses.*', 'string'],
    ['endpoints.*.conditions', 'map'], ['endpoints.*.nodeName', 'string'], ['endpoints.*.targetRef', 'map'], ['endpoints.*.targetRef.name', 'string'],
  ],
  Endpoints: [
    ['subsets', 'list'], ['subsets.*', 'map'], ['subsets.*.addresses', 'list'], ['subsets.*.addresses.*', 'map'], ['subsets.*.addresses.*.ip', 'string'],
    ['subsets.*.addresses.*.targetRef', 'map'], ['subsets.*.addresses.*.targetRef.name', 'string'],
    ['subsets.*.notReadyAddresses', 'list'], ['subsets.*.notReadyAddresses.*', 'map'], ['subsets.*.notReadyAddresses.*.ip', 'string'],
    ['subsets.*.ports', 'list'], ['subsets.*.ports.*', 'map'], ['subsets.*.ports.*.name', 'string'], ['subsets.*.ports.*.protocol', 'string'],
  ],
  Pod: [
    ['spec', 'map'], ['spec.nodeName', 'string'], ['spec.containers', 'list'], ['spec.containers.*', 'map'], ['spec.containers.*.ports', 'list'], ['spec.containers.*.ports.*', 'map'],
    ['status', 'map'], ['status.podIP', 'string'], ['status.conditions', 'list'], ['status.conditions.*', 'map'],
  ],
  Deployment: [
    ['spec', 'map'], ['spec.template', 'map'], ['spec.template.metadata', 'map'], ['spec.template.metadata.labels', 'map'], ['spec.template.metadata.labels.*', 'scalar'],
    ['spec.template.spec', 'map'], ['spec.template.spec.containers', 'list'], ['spec.template.spec.containers.*', 'map'],
    ['spec.template.spec.containers.*.ports', 'list'], ['spec.template.spec.containers.*.ports.*', 'map'],
  ],
};
SHAPES.ReplicaSet = SHAPES.Deployment;
SHAPES.StatefulSet = SHAPES.Deployment;

/** Check the fields this reader uses have the types Kubernetes gives them (absent is fine). */
function checkShapes(src: SourcedObject): void {
  const rules = [...SHAPES['*'], ...(SHAPES[src.obj.kind] ?? [])];
  const kindOf = (v: unknown): string => (v === null ? 'null' : Array.isArray(v) ? 'a list' : typeof v === 'object' ? 'a mapping' : typeof v === 'string' ? 'a string' : `${typeof v} ${JSON.stringify(v)}`);
  const visit = (v: unknown, parts: string[], shape: Shape, shown: string): void => {
    if (v === undefined || v === null) return;
    if (parts.length === 0) {
      const ok = shape === 'map' ? typeof v === 'object' && !Array.isArray(v) : shape === 'list' ? Array.isArray(v) : shape === 'string' ? typeof v === 'string' : typeof v !== 'object';
      if (!ok) fail(src, `${shown} must be ${shape === 'map' ? 'a mapping' : shape === 'list' ? 'a list' : shape === 'string' ? 'a string' : 'a scalar'}, not ${kindOf(v)}`);
      return;
    }
    const [head, ...rest] = parts;
    if (typeof v !== 'object') return; // the parent's own rule reports it
    if (head === '*') {
      const entries = Array.isArray(v) ? v.map((x, i) => [String(i), x] as const) : Object.entries(v as Obj);
      for (const [k, x] of entries) {
        const at = `${shown}${Array.isArray(v) ? `[${k}]` : `.${k}`}`;
        if ((x === null || x === undefined) && rest.length === 0 && Array.isArray(v)) fail(src, `${at} must not be null`);
        visit(x, rest, shape, at);
      }
    } else if (!Array.isArray(v)) visit((v as Obj)[head], rest, shape, shown ? `${shown}.${head}` : head);
  };
  for (const [path, shape] of rules) visit(src.obj, path.split('.'), shape, '');
}

/** Build kube-proxy's view (IPv4 only) from the objects of all files. */
export function buildCluster(objs: SourcedObject[], opts: ClusterOptions = {}): Cluster {
  for (const s of objs) checkShapes(s);
  const services: SourcedObject[] = [];
  const slices: SourcedObject[] = [];
  const endpointsObjs: SourcedObject[] = [];
  const pods: SourcedObject[] = [];
  const workloads: SourcedObject[] = [];
  const ignored: string[] = [];
  for (const s of objs) {
    const k = s.obj.kind;
    const ns = s.obj.metadata?.namespace ?? 'default';
    if (!s.obj.metadata || typeof s.obj.metadata.name !== 'string') {
      if (k !== 'EndpointSlice' || typeof s.obj.metadata?.generateName !== 'string') fail(s, 'metadata.name is missing');
    }
    if (k === 'Service') services.push(s);
    else if (k === 'EndpointSlice') slices.push(s);
    else if (k === 'Endpoints') endpointsObjs.push(s);
    else if (k === 'Pod') pods.push(s);
    else if (k === 'Deployment' || k === 'ReplicaSet' || k === 'StatefulSet') workloads.push(s);
    else ignored.push(`${k} ${ns}/${s.obj.metadata?.name}`);
  }

  // --- Services -> service ports (service.go newBaseServiceInfo + ShouldSkipService)
  const servicePorts: ServicePort[] = [];
  const svcByName = new Map<string, SourcedObject>();
  for (const s of services) {
    const o = s.obj;
    const ns: string = o.metadata.namespace ?? 'default';
    const name: string = o.metadata.name;
    const key = `${ns}/${name}`;
    if (svcByName.has(key)) fail(s, 'Service defined twice');
    svcByName.set(key, s);
    const spec = o.spec ?? {};
    const type: string = spec.type ?? 'ClusterIP';
    if (type === 'ExternalName') continue;
    // GetClusterIPByFamily: the IPv4 one of clusterIPs (dual-stack), else clusterIP.
    const v4FromList: string | undefined = Array.isArray(spec.clusterIPs) ? spec.clusterIPs.find((x: string) => isIPv4(x)) : undefined;
    const clusterIP: string | undefined = v4FromList ?? str(spec.clusterIP);
    if (!clusterIP || clusterIP === 'None') continue; // headless or not yet allocated: kube-proxy skips it
    if (!isIPv4(clusterIP)) {
      if (clusterIP.includes(':')) continue; // IPv6 Service: the IPv6 proxier's business
      fail(s, `spec.clusterIP '${clusterIP}' is not an IPv4 address`);
    }
    const nodeLike = type === 'NodePort' || type === 'LoadBalancer';
    const externalPolicyLocal = nodeLike && spec.externalTrafficPolicy === 'Local';
    const internalPolicyLocal = spec.internalTrafficPolicy === 'Local';
    const externalIPs: string[] = (spec.externalIPs ?? []).filter((ip: string) => isIPv4(ip));
    const lbIPs: string[] = type === 'LoadBalancer' ? (o.status?.loadBalancer?.ingress ?? []).map((i: Obj) => i.ip).filter((ip: unknown) => typeof ip === 'string' && isIPv4(ip)) : [];
    // TrimSpace'd, then only the IPv4 CIDRs (MapCIDRsByIPFamily drops what does not parse).
    const ranges: string[] = type === 'LoadBalancer' ? (spec.loadBalancerSourceRanges ?? []).map((r: string) => String(r).trim()).filter((r: string) => parseCIDR(r) !== null) : [];
    const affinity = spec.sessionAffinity === 'ClientIP';
    const sticky = int(s, spec.sessionAffinityConfig?.clientIP?.timeoutSeconds, 'spec.sessionAffinityConfig.clientIP.timeoutSeconds', 1, 86400, 10800);
    const hc = type === 'LoadBalancer' && externalPolicyLocal ? int(s, spec.healthCheckNodePort, 'spec.healthCheckNodePort', 0, 65535, 0) : 0;
    const selector = spec.selector && typeof spec.selector === 'object' && Object.keys(spec.selector).length > 0 ? (spec.selector as Record<string, string>) : null;
    const ports: Obj[] = Array.isArray(spec.ports) ? spec.ports : [];
    const seen = new Set<string>();
    for (const p of ports) {
      const protocol = (p.protocol ?? 'TCP') as Protocol;
      if (protocol !== 'TCP' && protocol !== 'UDP' && protocol !== 'SCTP') fail(s, `unsupported port protocol '${p.protocol}'`);
      const port = int(s, p.port, 'spec.ports[].port', 1, 65535, NaN);
      if (Number.isNaN(port)) fail(s, 'spec.ports[].port is missing');
      const portName: string = p.name ?? '';
      if (seen.has(`${portName}/${protocol}`)) fail(s, `duplicate port name '${portName}'`);
      if (typeof p.targetPort === 'number' || typeof p.targetPort === 'boolean') int(s, p.targetPort, 'spec.ports[].targetPort', 1, 65535, 0);
      seen.add(`${portName}/${protocol}`);
      const svcPortName = portName ? `${key}:${portName}` : key;
      servicePorts.push({
        namespace: ns,
        name,
        portName,
        svcPortName,
        protocol,
        port,
        targetPort: p.targetPort ?? null,
        nodePort: nodeLike ? int(s, p.nodePort, 'spec.ports[].nodePort', 0, 65535, 0) : 0,
        clusterIP,
        externalIPs,
        loadBalancerIPs: lbIPs,
        loadBalancerSourceRanges: ranges,
        externalPolicyLocal,
        internalPolicyLocal,
        healthCheckNodePort: hc,
        sessionAffinityClientIP: affinity,
        stickyMaxAgeSeconds: sticky,
        selector,
      });
    }
  }

  // --- endpoints
  const epSets = new Map<string, Map<string, Endpoint>>();
  const add = (svcPortName: string, protocol: Protocol, ep: Endpoint): void => {
    const k = epKey(svcPortName, protocol);
    let set = epSets.get(k);
    if (!set) epSets.set(k, (set = new Map()));
    // endpointslicecache: duplicates of an "ip:port" are dropped, except that a local one wins.
    if (!set.has(ep.endpoint) || (opts.hostname !== undefined && ep.nodeName === opts.hostname)) set.set(ep.endpoint, ep);
  };
  const servicesWithSlices = new Set<string>();

  // EndpointSlices (endpointslicecache.go): labels["kubernetes.io/service-name"], IPv4 address type.
  for (const s of slices) {
    const o = s.obj;
    const ns: string = o.metadata?.namespace ?? 'default';
    const svc = o.metadata?.labels?.['kubernetes.io/service-name'];
    if (typeof svc !== 'string') fail(s, "EndpointSlice without label 'kubernetes.io/service-name'");
    servicesWithSlices.add(`${ns}/${svc}`);
    if (o.addressType && o.addressType !== 'IPv4') continue;
    for (const p of (o.ports ?? []) as Obj[]) {
      if (p.port === undefined || p.port === null) continue;
      const portName: string = p.name ?? '';
      const protocol = (p.protocol ?? 'TCP') as Protocol;
      const spn = portName ? `${ns}/${svc}:${portName}` : `${ns}/${svc}`;
      for (const e of (o.endpoints ?? []) as Obj[]) {
        const addrs: string[] = e.addresses ?? [];
        if (addrs.length === 0) continue;
        const c = e.conditions ?? {};
        const ready = c.ready === undefined || c.ready === null ? true : !!c.ready;
        const serving = c.serving === undefined || c.serving === null ? true : !!c.serving;
        const terminating = c.terminating === undefined || c.terminating === null ? false : !!c.terminating;
        const ip = addrs[0]; // kube-proxy uses the first address only
        if (!isIPv4(ip)) fail(s, `endpoint address '${ip}' is not IPv4`);
        const port = int(s, p.port, 'ports[].port', 1, 65535, 0);
        const pod = e.targetRef?.kind === 'Pod' && typeof e.targetRef.name === 'string' ? (e.targetRef.name as string) : undefined;
        add(spn, protocol, { ip, port, endpoint: `${ip}:${port}`, ready, serving, terminating, nodeName: e.nodeName ?? null, pod });
      }
    }
  }
  // Endpoints (core/v1): what the EndpointSlice mirroring controller would turn into slices.
  for (const s of endpointsObjs) {
    const o = s.obj;
    const ns: string = o.metadata.namespace ?? 'default';
    const svc: string = o.metadata.name;
    if (servicesWithSlices.has(`${ns}/${svc}`)) continue; // the slices win
    for (const sub of (o.subsets ?? []) as Obj[]) {
      for (const p of (sub.ports ?? []) as Obj[]) {
        const portName: string = p.name ?? '';
        const protocol = (p.protocol ?? 'TCP') as Protocol;
        const spn = portName ? `${ns}/${svc}:${portName}` : `${ns}/${svc}`;
        const port = int(s, p.port, 'subsets[].ports[].port', 1, 65535, 0);
        if (port === 0) fail(s, 'subsets[].ports[].port is missing');
        for (const [list, ready] of [[sub.addresses ?? [], true], [sub.notReadyAddresses ?? [], false]] as [Obj[], boolean][]) {
          for (const a of list) {
            if (!isIPv4(a.ip)) fail(s, `address '${a.ip}' is not IPv4`);
            const pod = typeof a.targetRef?.name === 'string' && (a.targetRef.kind ?? 'Pod') === 'Pod' ? (a.targetRef.name as string) : undefined;
            add(spn, protocol, { ip: a.ip, port, endpoint: `${a.ip}:${port}`, ready, serving: ready, terminating: false, nodeName: a.nodeName ?? null, pod });
          }
        }
      }
    }
    servicesWithSlices.add(`${ns}/${svc}`);
  }

  // Services with a selector and no Endpoints/EndpointSlices: what the endpoint controller would
  // build from the Pods given, or else from the Deployments' replicas (synthesised pod IPs).
  const synthesizedPods: string[] = [];
  const labelsMatch = (sel: Record<string, string>, labels: Record<string, string> | undefined): boolean =>
    !!labels && Object.entries(sel).every(([k, v]) => labels[k] === v);
  let podAlloc: { next: number; last: number } | null = null;
  const podCIDR = opts.podCIDR;
  const allocIP = (): string => {
    if (!podAlloc) {
      if (!podCIDR) throw new ManifestError('<options>', 0, 0, 'a Deployment backs a Service that has no endpoints: give --pod-cidr to synthesise its pods\' IPs');
      const c = parseCIDR(podCIDR);
      if (!c || c.prefix > 30) throw new ManifestError('<options>', 0, 0, `bad --pod-cidr '${podCIDR}' (an IPv4 CIDR of at most /30)`);
      // Like a node's host-local IPAM: .1 is the bridge, pods from .2, the broadcast address unused.
      podAlloc = { next: c.base + 2, last: c.base + 2 ** (32 - c.prefix) - 2 };
    }
    if (podAlloc.next > podAlloc.last) throw new ManifestError('<options>', 0, 0, `--pod-cidr ${podCIDR} has no addresses left`);
    return intToIp(podAlloc.next++);
  };
  // Workloads' replicas, in a fixed order (namespace/name), so synthesised IPs are stable.
  const wlSorted = [...workloads].sort((a, b) => cmp(`${a.obj.metadata.namespace ?? 'default'}/${a.obj.metadata.name}`, `${b.obj.metadata.namespace ?? 'default'}/${b.obj.metadata.name}`));
  const synthPodsByNs = new Map<string, { labels: Record<string, string>; ip: string; containers: Obj[]; nodeName: string | null; name: string }[]>();
  const usedScale = new Set<string>();
  const scaledTo = new Map<SourcedObject, number>();
  const synthesized = new Set<SourcedObject>();
  const servicesNeedingPods = servicePorts.filter((sp) => sp.selector && !servicesWithSlices.has(`${sp.namespace}/${sp.name}`));
  const podObjs = pods.map((p) => ({
    name: p.obj.metadata.name as string,
    ns: p.obj.metadata.namespace ?? 'default',
    labels: (p.obj.metadata.labels ?? {}) as Record<string, string>,
    ip: p.obj.status?.podIP as string | undefined,
    containers: (p.obj.spec?.containers ?? []) as Obj[],
    nodeName: (p.obj.spec?.nodeName ?? null) as string | null,
    ready: podReady(p.obj),
    terminating: !!p.obj.metadata.deletionTimestamp,
    src: p,
  }));
  for (const w of wlSorted) {
    const o = w.obj;
    const ns: string = o.metadata.namespace ?? 'default';
    const name: string = o.metadata.name;
    const labels = (o.spec?.template?.metadata?.labels ?? {}) as Record<string, string>;
    let replicas = int(w, o.spec?.replicas, 'spec.replicas', 0, 1000000, 1);
    for (const key of [name, `${ns}/${name}`, `deployment/${name}`]) {
      const r = opts.scale?.get(key);
      if (r !== undefined) {
        replicas = r;
        usedScale.add(key);
        scaledTo.set(w, r);
      }
    }
    // Only synthesise when a Service needs it and no real Pod of the workload's labels was given.
    const needed = servicesNeedingPods.some((sp) => sp.namespace === ns && labelsMatch(sp.selector!, labels));
    const hasRealPods = podObjs.some((p) => p.ns === ns && labelsMatch(labels, p.labels));
    if (!needed || hasRealPods) continue;
    const list = synthPodsByNs.get(ns) ?? [];
    synthPodsByNs.set(ns, list);
    synthesized.add(w);
    for (let i = 0; i < replicas; i++) {
      const ip = allocIP();
      list.push({ labels, ip, containers: o.spec?.template?.spec?.containers ?? [], nodeName: opts.hostname ?? null, name: `${name}-${i}` });
      synthesizedPods.push(`${ns}/${name}-${i} ${ip}`);
    }
  }
  if (opts.scale) {
    for (const k of opts.scale.keys()) {
      if (!usedScale.has(k)) throw new ManifestError('<options>', 0, 0, `--scale: no Deployment/ReplicaSet/StatefulSet named '${k}'`);
    }
  }
  for (const sp of servicesNeedingPods) {
    const candidates = [
      ...podObjs.filter((p) => p.ns === sp.namespace && p.ip && labelsMatch(sp.selector!, p.labels)).map((p) => ({ ...p, ip: p.ip as string })),
      ...(synthPodsByNs.get(sp.namespace) ?? []).filter((p) => labelsMatch(sp.selector!, p.labels)).map((p) => ({ ...p, ready: true, terminating: false })),
    ];
    for (const p of candidates) {
      if (!isIPv4(p.ip)) continue;
      const port = resolveTargetPort(sp, p.containers);
      if (port === null) continue;
      add(sp.svcPortName, sp.protocol, { ip: p.ip, port, endpoint: `${p.ip}:${port}`, ready: p.ready && !p.terminating, serving: p.ready, terminating: p.terminating, nodeName: p.nodeName, pod: p.name });
    }
  }

  // --scale on a workload whose Services already have endpoints (EndpointSlices, Endpoints or Pods
  // in the manifests): the what-if on a dump of a real cluster. The workload's endpoints are those
  // whose pod is named NAME-... (targetRef / Pod name), or all of the Service port's endpoints when
  // no pod names are known. Scaling down keeps the first N by "ip:port"; scaling up adds pods on
  // --hostname with addresses from --pod-cidr (skipping addresses in use), the same pod address for
  // every port of the Service.
  const inUse = new Set<string>();
  for (const set of epSets.values()) for (const e of set.values()) inUse.add(e.ip);
  const freeIP = (): string => {
    for (;;) {
      const ip = allocIP();
      if (!inUse.has(ip)) {
        inUse.add(ip);
        return ip;
      }
    }
  };
  for (const w of wlSorted) {
    const N = scaledTo.get(w);
    if (N === undefined || synthesized.has(w)) continue;
    const ns: string = w.obj.metadata.namespace ?? 'default';
    const name: string = w.obj.metadata.name;
    const labels = (w.obj.spec?.template?.metadata?.labels ?? {}) as Record<string, string>;
    const containers = (w.obj.spec?.template?.spec?.containers ?? []) as Obj[];
    const newPods: string[] = [];
    for (const sp of servicePorts) {
      if (sp.namespace !== ns || !sp.selector || !labelsMatch(sp.selector, labels)) continue;
      const k = epKey(sp.svcPortName, sp.protocol);
      let set = epSets.get(k);
      if (!set) epSets.set(k, (set = new Map()));
      const all = [...set.values()].sort((a, b) => cmp(a.endpoint, b.endpoint));
      const owned = all.some((e) => e.pod !== undefined) ? all.filter((e) => e.pod?.startsWith(`${name}-`)) : all;
      for (const e of owned.slice(N)) set.delete(e.endpoint);
      const port = owned[0]?.port ?? resolveTargetPort(sp, containers);
      if (port === null) continue;
      for (let j = owned.length; j < N; j++) {
        const idx = j - owned.length;
        while (newPods.length <= idx) newPods.push(freeIP());
        const ip = newPods[idx];
        set.set(`${ip}:${port}`, { ip, port, endpoint: `${ip}:${port}`, ready: true, serving: true, terminating: false, nodeName: opts.hostname ?? null, pod: `${name}-scaled-${idx}` });
      }
    }
    newPods.forEach((ip, i) => synthesizedPods.push(`${ns}/${name}-scaled-${i} ${ip}`));
  }

  const endpoints = new Map<string, Endpoint[]>();
  for (const [k, set] of epSets) endpoints.set(k, [...set.values()].sort((a, b) => cmp(a.endpoint, b.endpoint)));
  servicePorts.sort((a, b) => cmp(a.svcPortName, b.svcPortName) || cmp(a.protocol, b.protocol));
  return { servicePorts, endpoints, ignored, synthesizedPods };
}

function podReady(o: Obj): boolean {
  if (o.status?.phase && o.status.phase !== 'Running') return false;
  const conds: Obj[] = o.status?.conditions ?? [];
  const r = conds.find((c) => c.type === 'Ready');
  return r ? r.status === 'True' : true;
}

/** targetPort: a number, a container port name, or (absent) the service port. */
function resolveTargetPort(sp: ServicePort, containers: Obj[]): number | null {
  const tp = sp.targetPort;
  if (tp === null || tp === undefined || tp === '') return sp.port;
  if (typeof tp === 'number') return tp;
  if (/^\d+$/.test(tp)) return Number(tp);
  for (const c of containers) {
    for (const p of (c.ports ?? []) as Obj[]) {
      if (p.name === tp && (p.protocol ?? 'TCP') === sp.protocol) {
        const n = Number(p.containerPort);
        return Number.isInteger(n) && n >= 1 && n <= 65535 ? n : null;
      }
    }
  }
  return null;
}

/** Go's string order (bytewise for ASCII; kube object names are ASCII). */
export function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
