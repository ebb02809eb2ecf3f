// Random rules from a small grammar of every module (valid most of the time), for the differential test
// against the real iptables-legacy-restore/-save. Deterministic for a seed.
export function ruleGenerator(seed: number): () => { table: string; line: string } {
  let a = seed >>> 0;
  const r = () => { a = (Math.imul(a, 1103515245) + 12345) >>> 0; return a / 4294967296; };
  const pick = <T>(x: T[]): T => x[Math.floor(r() * x.length)];
  const maybe = (p: number) => r() < p;
  const ADDR = ['192.0.2.1', '192.0.2.0/24', '198.51.100.7/255.255.255.0', '203.0.113.0/25', '0.0.0.0/0', '10', '192.0.2.77/28', '198.18.0.0/15'];
  const PORT = ['80', '1:1024', '53', '0', '65535', '8080:8090', 'http', '22:', ':1023'];
  const MODS: Record<string, () => (false | string[])[]> = {
    tcp: () => [maybe(.5) && ['--sport', pick(PORT)], maybe(.6) && ['--dport', pick(PORT)], maybe(.3) && pick<string[]>([['--syn'], ['--tcp-flags', pick(['SYN,ACK', 'ALL', 'FIN,RST', 'NONE']), pick(['SYN', 'NONE', 'ACK', 'ALL'])]]), maybe(.2) && ['--tcp-option', pick(['2', '8', '255'])]],
    udp: () => [maybe(.5) && ['--sport', pick(PORT)], maybe(.6) && ['--dport', pick(PORT)]],
    icmp: () => [['--icmp-type', pick(['echo-request', '3/4', 'any', 'time-exceeded', '0', 'redirect', 'host-unreachable', '11/1'])]],
    multiport: () => [[pick(['--dports', '--sports', '--ports']), pick(['80,443', '1:5,7', '22', '1,2,3,4,5,6,7,8,9,10,11,12,13,14,15'])]],
    conntrack: () => [maybe(.7) && ['--ctstate', pick(['NEW', 'ESTABLISHED,RELATED', 'INVALID', 'DNAT,SNAT', 'UNTRACKED'])], maybe(.3) && ['--ctproto', pick(['tcp', 'udp', '1', 'icmp'])],
      maybe(.2) && [pick(['--ctorigsrc', '--ctorigdst', '--ctreplsrc', '--ctrepldst']), pick(ADDR)], maybe(.2) && [pick(['--ctorigsrcport', '--ctorigdstport', '--ctreplsrcport', '--ctrepldstport']), pick(PORT)],
      maybe(.2) && ['--ctstatus', pick(['ASSURED', 'SEEN_REPLY,CONFIRMED', 'NONE', 'EXPECTED'])], maybe(.2) && ['--ctexpire', pick(['10', '5:100'])], maybe(.2) && ['--ctdir', pick(['ORIGINAL', 'REPLY'])]],
    state: () => [['--state', pick(['NEW', 'ESTABLISHED,RELATED', 'INVALID,UNTRACKED'])]],
    mark: () => [['--mark', pick(['0x1', '1/1', '0x4000/0x4000', '0xffffffff', '0/0xff'])]],
    connmark: () => [['--mark', pick(['0x1', '1/1', '0x4000/0x4000'])]],
    comment: () => [['--comment', pick(['a', 'x y', 'ns/svc:p', 'q"t', "it's", 'back\\slash', 'Z_9-'])]],
    addrtype: () => [maybe(.6) && ['--src-type', pick(['LOCAL', 'UNICAST,BROADCAST', 'MULTICAST'])], ['--dst-type', pick(['LOCAL', 'BLACKHOLE', 'UNREACHABLE,PROHIBIT'])]],
    statistic: () => pick<(false | string[])[]>([[['--mode', 'random'], ['--probability', pick(['0.5', '0.3333333333', '0.1', '0.00001', '0.99999', '1', '0'])]], [['--mode', 'nth'], ['--every', pick(['2', '5'])], ['--packet', pick(['0', '1'])]]]),
    recent: () => [[pick(['--set', '--rcheck', '--update', '--remove'])], maybe(.5) && ['--name', pick(['A', 'KUBE-SEP-X'])], maybe(.3) && [pick(['--rsource', '--rdest'])], maybe(.3) && ['--mask', pick(['255.255.255.0', '255.255.255.255'])]],
    iprange: () => [maybe(.6) && ['--src-range', pick(['192.0.2.1-192.0.2.9', '198.51.100.5'])], ['--dst-range', pick(['203.0.113.1-203.0.113.200'])]],
    length: () => [['--length', pick(['64', '0:1500', '1500:65535'])]],
    ttl: () => [[pick(['--ttl-eq', '--ttl-lt', '--ttl-gt']), pick(['1', '64', '255'])]],
    limit: () => [maybe(.8) && ['--limit', pick(['5/sec', '10/minute', '3/hour', '100/s', '2/day', '1/m', '7'])], maybe(.5) && ['--limit-burst', pick(['1', '5', '20', '10000'])]],
    pkttype: () => [['--pkt-type', pick(['unicast', 'broadcast', 'multicast', 'host', 'otherhost'])]],
    dscp: () => [[pick(['--dscp', '--dscp-class']), pick(['10', 'EF', 'AF21', 'CS1', '0x2e', '63'])]],
    tos: () => [['--tos', pick(['0x10', 'Minimize-Cost', '8/0x0f', 'Normal-Service'])]],
    physdev: () => [maybe(.5) && ['--physdev-in', pick(['eth0', 'veth+'])], maybe(.3) && ['--physdev-is-bridged'], maybe(.3) && ['--physdev-is-in']],
  };
  const INV = new Set(['--sport', '--dport', '--syn', '--tcp-flags', '--tcp-option', '--icmp-type', '--dports', '--sports', '--ports', '--ctstate', '--ctproto', '--ctorigsrc', '--ctorigdst', '--ctreplsrc', '--ctrepldst', '--ctstatus', '--ctexpire', '--state', '--mark', '--src-type', '--dst-type', '--probability', '--every', '--set', '--rcheck', '--update', '--remove', '--src-range', '--dst-range', '--length', '--ttl-eq', '--pkt-type', '--dscp', '--dscp-class', '--tos', '--physdev-in', '--physdev-is-bridged', '--physdev-is-in', '--ctorigsrcport', '--ctorigdstport', '--ctreplsrcport', '--ctrepldstport']);
  const TGT = (): Record<string, string[][]> => ({
    filter: [['ACCEPT'], ['DROP'], ['RETURN'], ['REJECT', pick(['', '--reject-with icmp-host-prohibited', '--reject-with tcp-reset', '--reject-with icmp-admin-prohibited'])], ['LOG', '--log-prefix "p x" --log-level 6 --log-uid'], ['NFLOG', '--nflog-group 3 --nflog-threshold 2'], ['MARK', pick(['--set-mark 5', '--or-mark 0x4000', '--and-mark 0xff', '--set-xmark 1/3'])], ['CONNMARK', pick(['--save-mark', '--restore-mark --mask 0xff', '--set-mark 2/3', '--or-mark 1'])]],
    nat: [['DNAT', pick(['--to-destination 192.0.2.1', '--to-destination 192.0.2.1:80', '--to-destination 192.0.2.1-192.0.2.3:1000-2000 --random', '--to-destination :8080 --persistent'])], ['SNAT', pick(['--to-source 198.51.100.1', '--to-source 198.51.100.1:1024-65535 --random-fully'])], ['MASQUERADE', pick(['', '--to-ports 1024-2048', '--random'])], ['REDIRECT', pick(['', '--to-ports 8080', '--to-ports 1-2 --random'])], ['RETURN'], ['ACCEPT']],
    raw: [['NOTRACK'], ['CT', '--notrack'], ['TRACE'], ['ACCEPT']],
  });
  const CHAINS: Record<string, string[]> = { filter: ['INPUT', 'FORWARD', 'OUTPUT'], nat: ['PREROUTING', 'OUTPUT', 'POSTROUTING', 'INPUT'], raw: ['PREROUTING', 'OUTPUT'] };
  const q = (s: string) => (s === '' || /[\s"'\\]/.test(s) ? `"${s.replace(/["\\]/g, '\\$&')}"` : s);
  return () => {
    const t = pick(['filter', 'filter', 'nat', 'raw']);
    const c = pick(CHAINS[t]);
    const w: string[] = [];
    if (maybe(.3)) w.push(...(maybe(.2) ? ['!'] : []), '-s', pick(ADDR));
    if (maybe(.3)) w.push(...(maybe(.2) ? ['!'] : []), '-d', pick(ADDR));
    if (maybe(.2) && !['OUTPUT', 'POSTROUTING'].includes(c)) w.push(...(maybe(.2) ? ['!'] : []), '-i', pick(['eth0', 'veth+', 'lo']));
    if (maybe(.2) && !['PREROUTING', 'INPUT'].includes(c)) w.push('-o', pick(['eth1', 'br-+']));
    const proto = pick(['tcp', 'udp', 'icmp', null, null, 'gre']);
    if (proto) w.push(...(maybe(.1) ? ['!'] : []), '-p', proto);
    if (maybe(.05)) w.push('-f');
    const nm = Math.floor(r() * 3);
    for (let k = 0; k < nm; k++) {
      const m = pick(Object.keys(MODS));
      const implicit = m === proto && maybe(.5);
      if (!implicit) w.push('-m', m);
      for (const opt of MODS[m]()) {
        if (!opt) continue;
        if (INV.has(opt[0]) && maybe(.15)) w.push('!');
        w.push(opt[0], ...opt.slice(1).map(q));
      }
    }
    if (maybe(.9)) { const tg = pick(TGT()[t]); w.push('-j', tg[0]); if (tg[1]) w.push(tg[1]); }
    return { table: t, line: `-A ${c} ${w.join(' ')}` };
  };
}
