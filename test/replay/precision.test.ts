// --out and --drops keep the input's timestamp precision and link type: a microsecond classic pcap
// gives microsecond files (magic a1b2c3d4), a nanosecond one nanosecond files (a1b23c4d), a pcapng
// its interfaces' if_tsresol; raw IPv4, SLL and SLL2 stay so. Checked on the file's magic/header and
// with tcpdump printing the same times for the output as for the input (every packet here is
// forwarded unchanged but for the TTL, or dropped, so --out + --drops hold them all).
import { describe, it, expect, afterAll } from 'vitest';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildFrame, LINKTYPE_OF, type LinkKind } from '../../src/pcap/craft.js';
import { PcapWriter, PcapngWriter } from '../../src/pcap/writer.js';
import { cleanup, cli, tmp, writeJson, ROUTER } from './helpers.js';
import { parsePcapng, tcpdumpLines, magicOf } from './drops-helpers.js';

afterAll(cleanup);

// UDP to port 53 is forwarded, to port 9 dropped by the FORWARD policy
const RULES = `*filter
:INPUT ACCEPT [0:0]
:FORWARD DROP [0:0]
:OUTPUT ACCEPT [0:0]
-A FORWARD -p udp -m udp --dport 53 -j ACCEPT
COMMIT
`;

/** 6 packets from the ingress (eth1) to a server behind eth0; odd ones to port 9 (dropped). The
 * times have digits down to the ns (shown only by a nanosecond file). */
function packets(link: LinkKind): { sec: number; ns: number; frame: Uint8Array; drop: boolean }[] {
  return Array.from({ length: 6 }, (_, i) => ({
    sec: 1700000000 + i * 3, ns: 123456789 - i * 1111111, drop: i % 2 === 1,
    frame: buildFrame({ link, src: '198.51.100.50', dst: '192.0.2.10', proto: 'udp', sport: 2000 + i, dport: i % 2 ? 9 : 53, payload: 10 }),
  }));
}

function replay(d: string, cap: string, workers: number, drops: string) {
  writeFileSync(join(d, 'rules'), RULES);
  writeJson(join(d, 'host.json'), ROUTER);
  const out = join(d, `out-${workers}.pcap`);
  const r = cli(['replay', '--rules', join(d, 'rules'), '--pcap', cap, '--host', join(d, 'host.json'), '--workers', String(workers), '--quiet', '--out', out, '--drops', join(d, drops)]);
  expect(r.status, r.stderr).toBe(0);
  return { out, drops: join(d, drops) };
}

/** tcpdump's time column of a file. */
const times = (f: string, nano: boolean) => tcpdumpLines(f, nano).map((l) => l.split(' ')[0]);

describe('output precision and link type follow the input', () => {
  for (const nano of [false, true]) {
    it(`classic pcap, ${nano ? 'nano' : 'micro'}seconds: --out and --drops F.pcap in the same precision, 1 and 2 workers`, () => {
      const d = tmp();
      const cap = join(d, 'in.pcap');
      const pk = packets('ether');
      const w = new PcapWriter(cap, { linktype: 1, nanosecond: nano });
      for (const p of pk) w.writePacket(p.sec, p.ns, p.frame);
      w.close();
      const inTimes = times(cap, nano);
      // the input's own times, as tcpdump prints them: 6 or 9 digits
      expect(inTimes[0]).toBe(nano ? '1700000000.123456789' : '1700000000.123456');
      const magic = nano ? '4d3cb2a1' : 'd4c3b2a1'; // a1b23c4d / a1b2c3d4, little-endian
      const files = [1, 2].map((workers) => {
        const o = replay(d, cap, workers, `drops-${workers}.pcap`);
        for (const f of [o.out, o.drops]) expect(magicOf(f), f).toBe(magic);
        expect(times(o.out, nano)).toEqual(inTimes.filter((_, i) => !pk[i].drop));
        expect(times(o.drops, nano)).toEqual(inTimes.filter((_, i) => pk[i].drop));
        // the side file's times are tcpdump's
        expect(readFileSync(`${o.drops}.jsonl`, 'utf8').trimEnd().split('\n').map((l) => JSON.parse(l).time)).toEqual(inTimes.filter((_, i) => pk[i].drop));
        return [readFileSync(o.out), readFileSync(o.drops)];
      });
      expect(Buffer.compare(files[0][0], files[1][0])).toBe(0);
      expect(Buffer.compare(files[0][1], files[1][1])).toBe(0);
    });
  }

  for (const nano of [false, true]) {
    it(`pcapng, if_tsresol ${nano ? 9 : 6}: --out in that precision, --drops F.pcapng with that if_tsresol`, () => {
      const d = tmp();
      const cap = join(d, 'in.pcapng');
      const pk = packets('ether');
      const w = new PcapngWriter(cap, { nanosecond: nano, interfaces: [{ linktype: 1, name: 'eth1' }] });
      for (const p of pk) w.writePacket(0, p.sec, p.ns, p.frame);
      w.close();
      const inTimes = times(cap, nano);
      for (const workers of [1, 2]) {
        const o = replay(d, cap, workers, `drops-${workers}.pcapng`);
        expect(magicOf(o.out)).toBe(nano ? '4d3cb2a1' : 'd4c3b2a1');
        expect(times(o.out, nano)).toEqual(inTimes.filter((_, i) => !pk[i].drop));
        expect(parsePcapng(o.drops).idbs).toEqual([{ linktype: 1, name: 'eth1', tsresol: nano ? 9 : 6 }]);
        expect(times(o.drops, nano)).toEqual(inTimes.filter((_, i) => pk[i].drop));
      }
    });
  }

  for (const link of ['raw', 'sll', 'sll2'] as const) {
    it(`link type ${link} (${LINKTYPE_OF[link]}) kept by --out and --drops`, () => {
      const d = tmp();
      const cap = join(d, 'in.pcap');
      const w = new PcapWriter(cap, { linktype: LINKTYPE_OF[link] });
      const pk = packets(link);
      for (const p of pk) w.writePacket(p.sec, p.ns, p.frame);
      w.close();
      const o = replay(d, cap, 1, 'drops.pcap');
      for (const f of [o.out, o.drops]) expect(readFileSync(f).readUInt32LE(20), f).toBe(LINKTYPE_OF[link]);
      // tcpdump decodes the same addresses from both
      expect(tcpdumpLines(o.out, false).length).toBe(3);
      expect(tcpdumpLines(o.drops, false).every((l) => l.includes('198.51.100.50.200') && l.includes('> 192.0.2.10.9:'))).toBe(true);
      const ng = replay(d, cap, 2, 'drops.pcapng');
      expect(parsePcapng(ng.drops).idbs.map((i) => i.linktype)).toEqual([LINKTYPE_OF[link]]);
    });
  }
});
