import { describe, it, expect } from 'vitest';
import { parseManifestText, buildCluster, ManifestError } from '../../src/k8s/manifests.js';
import { parseYamlDocuments } from '../../src/k8s/yaml.js';
import { generateRules } from '../../src/k8s/proxier.js';

// A Service + Endpoints pair in the four shapes kubectl writes: YAML single objects in a
// multi-document stream, a YAML List, a JSON object array, and a JSON List.
const yamlMulti = `
apiVersion: v1
kind: Service
metadata:
  name: web
  namespace: shop
  annotations:
    kubectl.kubernetes.io/last-applied-configuration: |
      {"apiVersion":"v1","kind":"Service","metadata":{"name":"web"}}
spec:
  clusterIP: 198.19.0.10   # a comment
  ports:
  - name: http
    port: 80
    protocol: TCP
    targetPort: 8080
  selector:
    app: web
---
apiVersion: v1
kind: Endpoints
metadata:
  name: web
  namespace: shop
subsets:
- addresses:
  - ip: 198.18.0.12
  - ip: 198.18.0.11
    nodeName: "node-0"
  ports:
  - name: http
    port: 8080
    protocol: TCP
`;
const yamlList = `apiVersion: v1
items:
- apiVersion: v1
  kind: Service
  metadata:
    name: web
    namespace: shop
  spec:
    clusterIP: 198.19.0.10
    ports:
    - name: http
      port: 80
      protocol: TCP
      targetPort: 8080
    selector:
      app: web
- apiVersion: v1
  kind: Endpoints
  metadata:
    name: web
    namespace: shop
  subsets:
  - addresses:
    - ip: 198.18.0.12
    - nodeName: node-0
      ip: 198.18.0.11
    ports:
    - {name: http, port: 8080, protocol: TCP}
kind: List
metadata:
  resourceVersion: ""
`;
const svcObj = { apiVersion: 'v1', kind: 'Service', metadata: { name: 'web', namespace: 'shop' }, spec: { clusterIP: '198.19.0.10', ports: [{ name: 'http', port: 80, protocol: 'TCP', targetPort: 8080 }], selector: { app: 'web' } } };
const epObj = { apiVersion: 'v1', kind: 'Endpoints', metadata: { name: 'web', namespace: 'shop' }, subsets: [{ addresses: [{ ip: '198.18.0.12' }, { ip: '198.18.0.11', nodeName: 'node-0' }], ports: [{ name: 'http', port: 8080, protocol: 'TCP' }] }] };
const jsonArray = JSON.stringify([svcObj, epObj], null, 2);
const jsonList = JSON.stringify({ apiVersion: 'v1', kind: 'List', items: [svcObj, epObj] }, null, 4);

describe('manifest input shapes', () => {
  const rulesOf = (text: string, file: string): string => generateRules(buildCluster(parseManifestText(text, file)), { clusterCIDR: '198.18.0.0/16', form: 'restore' }).text;
  it('YAML multi-doc, YAML List, JSON array and JSON List give the same rules', () => {
    const a = rulesOf(yamlMulti, 'a.yaml');
    expect(rulesOf(yamlList, 'b.yaml')).toBe(a);
    expect(rulesOf(jsonArray, 'c.json')).toBe(a);
    expect(rulesOf(jsonList, 'd.json')).toBe(a);
    // Two endpoints sorted by "ip:port" string: .11 first with probability 1/2, .12 last.
    expect(a).toContain('-A KUBE-SVC-');
    expect(a).toMatch(/--comment "shop\/web:http -> 198\.18\.0\.11:8080" -m statistic --mode random --probability 0\.5000000000 -j KUBE-SEP-/);
    expect(a).toMatch(/--comment "shop\/web:http -> 198\.18\.0\.12:8080" -j KUBE-SEP-/);
  });
  it('keeps block scalars and comments apart from values', () => {
    const docs = parseYamlDocuments(yamlMulti, 'a.yaml') as any[];
    expect(docs).toHaveLength(2);
    expect(docs[0].metadata.annotations['kubectl.kubernetes.io/last-applied-configuration']).toBe('{"apiVersion":"v1","kind":"Service","metadata":{"name":"web"}}\n');
    expect(docs[0].spec.clusterIP).toBe('198.19.0.10');
    expect(docs[1].subsets[0].addresses[1]).toEqual({ ip: '198.18.0.11', nodeName: 'node-0' });
  });
  it('parses scalars the way Kubernetes YAML does', () => {
    const [d] = parseYamlDocuments(`a: "1"\nb: 1\nc: true\nd: ~\ne: 'it''s'\nf: "x\\ty"\ng: 1.5\nh: nginx:1.14\ni: {}\nj: []\nk: |-\n  one\n  two\nl: >\n  folded\n  text\n`, 'x.yaml') as any[];
    expect(d).toEqual({ a: '1', b: 1, c: true, d: null, e: "it's", f: 'x\ty', g: 1.5, h: 'nginx:1.14', i: {}, j: [], k: 'one\ntwo', l: 'folded text\n' });
  });
});

describe('manifest errors name file:line:column', () => {
  const err = (text: string, file = 'bad.yaml'): string => {
    try {
      parseManifestText(text, file);
    } catch (e) {
      expect(e).toBeInstanceOf(ManifestError);
      return (e as Error).message;
    }
    throw new Error('no error');
  };
  it('bad indentation', () => {
    expect(err('kind: Service\nmetadata:\n  name: a\n    namespace: b\n')).toBe("bad.yaml:4:5: unexpected '' after a scalar value (bad indentation?)".replace("''", "'namespace: b'"));
  });
  it('anchors are refused', () => {
    expect(err('kind: Service\nmetadata: &m\n  name: a\n')).toBe("bad.yaml:2:11: YAML anchors are not supported ('&m')");
  });
  it('unterminated quote', () => {
    expect(err('kind: "Service\n')).toBe('bad.yaml:1:7: unterminated quoted string "Service');
  });
  it('invalid JSON', () => {
    expect(err('{\n  "kind": "Service",\n  "metadata": }\n', 'bad.json')).toMatch(/^bad\.json:3:15: invalid JSON/);
  });
  it('object without kind', () => {
    expect(err('---\nmetadata:\n  name: x\n')).toBe("bad.yaml:2:1: object without 'kind'");
  });
  it('Deployment backing an empty Service needs --pod-cidr', () => {
    const objs = parseManifestText('kind: Deployment\nmetadata: {name: d}\nspec:\n  replicas: 2\n  template:\n    metadata:\n      labels: {app: d}\n---\nkind: Service\nmetadata: {name: s}\nspec:\n  clusterIP: 198.19.0.1\n  selector: {app: d}\n  ports: [{port: 80}]\n', 'd.yaml');
    expect(() => buildCluster(objs)).toThrow(/give --pod-cidr/);
  });
});

describe('Deployments become endpoints', () => {
  const text = `
kind: Deployment
apiVersion: apps/v1
metadata: {name: web, namespace: default}
spec:
  replicas: 3
  selector: {matchLabels: {app: web}}
  template:
    metadata:
      labels: {app: web, tier: front}
    spec:
      containers:
      - name: nginx
        image: nginx
        ports:
        - {name: www, containerPort: 8080}
---
kind: Service
apiVersion: v1
metadata: {name: web}
spec:
  clusterIP: 198.19.0.5
  selector: {app: web}
  ports:
  - {port: 80, targetPort: www}
`;
  it('synthesises replicas from --pod-cidr (.2, .3, .4) with the named target port', () => {
    const c = buildCluster(parseManifestText(text, 'w.yaml'), { podCIDR: '198.18.5.0/24' });
    expect(c.endpoints.get('default/web/TCP')!.map((e) => e.endpoint)).toEqual(['198.18.5.2:8080', '198.18.5.3:8080', '198.18.5.4:8080']);
  });
  it('--scale changes the replica count', () => {
    const c = buildCluster(parseManifestText(text, 'w.yaml'), { podCIDR: '198.18.5.0/24', scale: new Map([['web', 5]]) });
    expect(c.endpoints.get('default/web/TCP')!.length).toBe(5);
    expect(() => buildCluster(parseManifestText(text, 'w.yaml'), { podCIDR: '198.18.5.0/24', scale: new Map([['nope', 5]]) })).toThrow(/no Deployment/);
  });
  it('real Pods win over synthesised ones', () => {
    const pods = `${text}---\nkind: Pod\nmetadata: {name: web-1, labels: {app: web, tier: front}}\nspec:\n  nodeName: n1\n  containers: [{name: nginx, ports: [{name: www, containerPort: 9090}]}]\nstatus:\n  phase: Running\n  podIP: 198.18.9.9\n`;
    const c = buildCluster(parseManifestText(pods, 'p.yaml'), { podCIDR: '198.18.5.0/24' });
    expect(c.endpoints.get('default/web/TCP')!.map((e) => e.endpoint)).toEqual(['198.18.9.9:9090']);
  });
});

describe('kubectl get -o yaml output (managedFields, k:{...} keys, generateName)', () => {
  it('reads the system Services and gives the chain names real clusters show', async () => {
    const { readManifestFile } = await import('../../src/k8s/manifests.js');
    const c = buildCluster(readManifestFile(new URL('./fixtures/kubectl-system.yaml', import.meta.url).pathname));
    const text = generateRules(c, { clusterCIDR: '198.18.0.0/16', form: 'restore' }).text;
    // Hashes seen on real clusters (kube-proxy-rules.md §3.1): default/kubernetes:https tcp,
    // kube-system/kube-dns:dns udp and :dns-tcp tcp.
    expect(text).toContain(':KUBE-SVC-NPX46M4PTMTKRN6Y - [0:0]');
    expect(text).toContain(':KUBE-SVC-TCOU7JCQXEZGVUNU - [0:0]');
    expect(text).toContain(':KUBE-SVC-ERIFXISQEP7F7OF4 - [0:0]');
    expect(text).toContain('-A KUBE-SERVICES -m comment --comment "kube-system/kube-dns:dns cluster IP" -m udp -p udp -d 198.19.0.10 --dport 53 -j KUBE-SVC-TCOU7JCQXEZGVUNU');
    // Affinity on default/kubernetes: rcheck in the SVC chain, --set in the SEP's DNAT rule.
    expect(text).toMatch(/-A KUBE-SVC-NPX46M4PTMTKRN6Y -m comment --comment "default\/kubernetes:https -> 192\.0\.2\.20:6443" -m recent --name (KUBE-SEP-\w+) --rcheck --seconds 10800 --reap -j \1\n/);
    expect(text).toMatch(/-m recent --name KUBE-SEP-\w+ --set -m tcp -p tcp -j DNAT --to-destination 192\.0\.2\.20:6443\n/);
    expect(c.servicePorts.map((s) => s.svcPortName)).toEqual(['default/kubernetes:https', 'kube-system/kube-dns:dns', 'kube-system/kube-dns:dns-tcp', 'kube-system/kube-dns:metrics']);
  });
});

describe('mutated manifests never crash the reader', () => {
  it('two thousand random mutations give objects or a ManifestError, nothing else', async () => {
    const { readFileSync } = await import('node:fs');
    const seeds = ['features.yaml', 'kubectl-system.yaml', 'overall-multiple-services.yaml'].map((f) => readFileSync(new URL(`./fixtures/${f}`, import.meta.url), 'utf8'));
    seeds.push(jsonList, jsonArray);
    let s = 20261125;
    const rnd = (n: number): number => {
      s = (Math.imul(s, 1103515245) + 12345) >>> 0;
      return s % n;
    };
    const junk = [':', '- ', '"', "'", '{', '}', '[', ']', '#', '|', '>', '\t', '  ', '\n', '---\n', '&a', '*a', '!!str', '\\', ',', 'x: y'];
    let errors = 0;
    for (let k = 0; k < 2000; k++) {
      const seedText = seeds[k % seeds.length];
      const lines = seedText.split('\n');
      const op = rnd(4);
      const i = rnd(lines.length);
      if (op === 0) lines.splice(i, 1);
      else if (op === 1) lines.splice(i, 0, lines[rnd(lines.length)]);
      else if (op === 2) {
        const l = lines[i];
        const p = rnd(l.length + 1);
        lines[i] = l.slice(0, p) + junk[rnd(junk.length)] + l.slice(p);
      } else {
        const l = lines[i];
        const p = rnd(l.length + 1);
        lines[i] = l.slice(0, p) + l.slice(p + 1 + rnd(4));
      }
      const text = lines.join('\n');
      try {
        const objs = parseManifestText(text, `m${k}.yaml`);
        try {
          generateRules(buildCluster(objs, { podCIDR: '198.18.0.0/24', hostname: 'node-0' }), { clusterCIDR: '198.18.0.0/16' });
        } catch (e) {
          if (!(e instanceof ManifestError)) throw new Error(`mutation ${k} (seed text ${k % seeds.length}): ${(e as Error).stack}\n--- input ---\n${text}`);
          errors++;
        }
      } catch (e) {
        if (!(e instanceof ManifestError)) throw new Error(`mutation ${k}: ${(e as Error).stack}\n--- input ---\n${text}`);
        expect((e as Error).message).toMatch(/^m\d+\.(yaml):\d+:\d+: /);
        errors++;
      }
    }
    expect(errors).toBeGreaterThan(100);
  });
});

describe('fields of the wrong type', () => {
  const cases: [string, string][] = [
    ['kind: Service\nmetadata: {name: a}\nspec: {clusterIP: 198.19.0.1, externalIPs: 198.19.0.2, ports: [{port: 80}]}\n', 'x.yaml:1:1: Service default/a: spec.externalIPs must be a list, not a string'],
    ['kind: Service\nmetadata: {name: a}\nspec: {clusterIP: 198.19.0.1, ports: {port: 80}}\n', 'x.yaml:1:1: Service default/a: spec.ports must be a list, not a mapping'],
    ['kind: EndpointSlice\nmetadata: {name: a, labels: {kubernetes.io/service-name: a}}\nendpoints: [{addresses: [[1]]}]\n', 'x.yaml:1:1: EndpointSlice default/a: endpoints[0].addresses[0] must be a string, not a list'],
    ['kind: Pod\nmetadata: [a]\n', 'x.yaml:1:1: Pod default/?: metadata must be a mapping, not a list'],
    ['kind: Deployment\nmetadata: {name: d}\nspec: {template: {metadata: {labels: [a]}}}\n', 'x.yaml:1:1: Deployment default/d: spec.template.metadata.labels must be a mapping, not a list'],
  ];
  it.each(cases)('%#', (text, msg) => {
    expect(() => buildCluster(parseManifestText(text, 'x.yaml'))).toThrow(msg);
  });
});

describe('type-confused objects never crash the reader', () => {
  it('replacing values by other types gives rules or a ManifestError', async () => {
    const { readFileSync } = await import('node:fs');
    const base = ['features.yaml', 'kubectl-system.yaml', 'overall-multiple-services.yaml'].flatMap((f) => parseManifestText(readFileSync(new URL(`./fixtures/${f}`, import.meta.url), 'utf8'), f));
    base.push(...parseManifestText('kind: Deployment\nmetadata: {name: d}\nspec:\n  replicas: 2\n  template:\n    metadata: {labels: {app: d}}\n    spec: {containers: [{name: c, ports: [{name: www, containerPort: 80}]}]}\n---\nkind: Service\nmetadata: {name: d}\nspec: {clusterIP: 198.19.9.9, selector: {app: d}, ports: [{port: 80, targetPort: www}]}\n', 'd.yaml'));
    let s = 7;
    const rnd = (n: number): number => {
      s = (Math.imul(s, 1103515245) + 12345) >>> 0;
      return s % n;
    };
    const replacements: unknown[] = [null, 0, -1, 1.5, 70000, '', 'x', '80', true, [], [1], {}, { a: 1 }];
    const paths = (v: unknown, pre: (string | number)[] = [], out: (string | number)[][] = []): (string | number)[][] => {
      if (v && typeof v === 'object') for (const [k, x] of Object.entries(v)) {
        const p = [...pre, Array.isArray(v) ? Number(k) : k];
        out.push(p);
        paths(x, p, out);
      }
      return out;
    };
    let errors = 0;
    for (let k = 0; k < 1000; k++) {
      const objs = structuredClone(base);
      const o = objs[rnd(objs.length)].obj;
      const ps = paths(o).filter((p) => p[0] !== 'kind');
      const p = ps[rnd(ps.length)];
      let cur: any = o;
      for (const x of p.slice(0, -1)) cur = cur[x];
      cur[p[p.length - 1]] = structuredClone(replacements[rnd(replacements.length)]);
      try {
        const text = generateRules(buildCluster(objs, { podCIDR: '198.18.0.0/24', hostname: 'node-0' }), { clusterCIDR: '198.18.0.0/16' }).text;
        expect(text).not.toMatch(/NaN|undefined|\[object/);
      } catch (e) {
        if (!(e instanceof ManifestError)) throw new Error(`mutation ${k} at ${p.join('.')}: ${(e as Error).stack}`);
        errors++;
      }
    }
    expect(errors).toBeGreaterThan(50);
  });
});

describe('--scale on a dump with EndpointSlices (what-if on a real cluster)', () => {
  const coredns = `---\nkind: Deployment\napiVersion: apps/v1\nmetadata: {name: coredns, namespace: kube-system}\nspec:\n  replicas: 2\n  template:\n    metadata: {labels: {k8s-app: kube-dns}}\n    spec: {containers: [{name: coredns}]}\n`;
  const load = async (scale: number) => {
    const { readFileSync } = await import('node:fs');
    const text = readFileSync(new URL('./fixtures/kubectl-system.yaml', import.meta.url), 'utf8') + coredns;
    return buildCluster(parseManifestText(text, 'sys.yaml'), { hostname: 'node-0', podCIDR: '198.18.0.0/24', scale: new Map([['coredns', scale]]) });
  };
  it('scaling up adds pods (one new address per pod, shared by every port of the Service)', async () => {
    const c = await load(4);
    // The slice has coredns pods 198.18.0.2 and .3; --pod-cidr 198.18.0.0/24 hands out .2, .3, ...
    // skipping the addresses in use: the two new pods get .4 and .5.
    expect(c.endpoints.get('kube-system/kube-dns:dns/UDP')!.map((e) => e.endpoint)).toEqual(['198.18.0.2:53', '198.18.0.3:53', '198.18.0.4:53', '198.18.0.5:53']);
    expect(c.endpoints.get('kube-system/kube-dns:metrics/TCP')!.map((e) => e.endpoint)).toEqual(['198.18.0.2:9153', '198.18.0.3:9153', '198.18.0.4:9153', '198.18.0.5:9153']);
    // default/kubernetes is not selected by the Deployment: unchanged.
    expect(c.endpoints.get('default/kubernetes:https/TCP')!.map((e) => e.endpoint)).toEqual(['192.0.2.20:6443']);
  });
  it('scaling down keeps the first endpoints by "ip:port"', async () => {
    const c = await load(1);
    expect(c.endpoints.get('kube-system/kube-dns:dns-tcp/TCP')!.map((e) => e.endpoint)).toEqual(['198.18.0.2:53']);
  });
});

describe('error lines point at the List item', () => {
  it('names the line where the offending item starts', async () => {
    const { readFileSync } = await import('node:fs');
    const text = readFileSync(new URL('./fixtures/features.yaml', import.meta.url), 'utf8').replace('externalIPs: [203.0.113.50]', 'externalIPs: 203.0.113.50');
    const lines = text.split('\n');
    // The "lb" Service item starts at the "- " line above its metadata line.
    let i = lines.indexOf('  metadata: {name: lb, namespace: apps}');
    while (!lines[i].startsWith('- ')) i--;
    const itemLine = i + 1;
    expect(itemLine).toBeGreaterThan(1);
    expect(() => buildCluster(parseManifestText(text, 'f.yaml'))).toThrow(`f.yaml:${itemLine}:1: Service apps/lb: spec.externalIPs must be a list, not a string`);
  });
});
